//! The library's error type: one enum, each variant naming what failed, with the underlying
//! error kept as its source. A variant's own message does not repeat its source's, so a
//! report that prints the chain prints each cause once.

use std::path::PathBuf;

/// A boxed underlying error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors returned by the `patrol` library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file or record could not be parsed or written.
    #[error("{}", path.display())]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A TOML configuration could not be parsed.
    #[cfg(feature = "train")]
    #[error("{}", path.display())]
    Toml {
        /// The file involved.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A zip archive (a wheel) could not be read.
    #[cfg(feature = "train")]
    #[error("{}", path.display())]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// A file is well-formed but its content is wrong (a missing column, a bad field).
    #[error("{}: {reason}", path.display())]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model directory is incomplete or inconsistent.
    #[error("model {}: {reason}", path.display())]
    Model {
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An E5S1 model image is corrupt.
    #[error("not a valid E5S1 model: {0}")]
    E5(String),
    /// The tokenizer failed.
    #[error("tokenizer")]
    Tokenizer(#[source] BoxError),
    /// Lindera failed to load or segment.
    #[error("segmenter: {0}")]
    Segmenter(String),
    /// A tensor operation failed.
    #[error("candle")]
    Candle(#[from] candle_core::Error),
    /// The worker thread pool could not be built.
    #[error("thread pool")]
    ThreadPool(#[from] rayon::ThreadPoolBuildError),
    /// Fetching a model from the Hugging Face Hub failed.
    #[error("hub {repo}: {reason}")]
    Hub {
        /// The repository id.
        repo: String,
        /// What went wrong.
        reason: String,
    },
    /// A scan cannot resume from its checkpoint.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// An option or argument is invalid.
    #[error("invalid option: {0}")]
    Invalid(String),
    /// A NATS server or JetStream call failed.
    #[error("NATS: {context}")]
    Nats {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: BoxError,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A JSON error on `path`.
    pub fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        Error::Json {
            path: path.into(),
            source,
        }
    }

    /// A TOML error on `path`.
    #[cfg(feature = "train")]
    pub fn toml(path: impl Into<PathBuf>, source: toml::de::Error) -> Self {
        Error::Toml {
            path: path.into(),
            source,
        }
    }

    /// A zip error on `path`.
    #[cfg(feature = "train")]
    pub fn zip(path: impl Into<PathBuf>, source: zip::result::ZipError) -> Self {
        Error::Zip {
            path: path.into(),
            source,
        }
    }

    /// A NATS error while doing `context`.
    pub fn nats(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Nats {
            context: context.into(),
            source: source.into(),
        }
    }

    /// A tokenizer error.
    pub fn tokenizer(source: impl Into<BoxError>) -> Self {
        Error::Tokenizer(source.into())
    }

    /// A model error on `path`.
    pub fn model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A content error on `path`.
    pub fn parse(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::Parse {
            path: path.into(),
            reason: reason.to_string(),
        }
    }

    /// True when the error is a closed output pipe, which is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
