//! The library's error type: one enum, each variant naming the stage that failed.

use std::path::PathBuf;

/// Errors returned by the `patrol` library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model directory is incomplete or inconsistent.
    #[error("model {path}: {reason}")]
    Model {
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON or TOML file could not be parsed.
    #[error("{path}: {reason}")]
    Parse {
        /// The file involved.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// Lindera failed to load or segment.
    #[error("segmenter: {0}")]
    Segmenter(String),
    /// A tensor operation failed.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// Fetching a model from the Hugging Face Hub failed.
    #[error("hub {repo}: {reason}")]
    Hub {
        /// The repository id.
        repo: String,
        /// What went wrong.
        reason: String,
    },
    /// An option or argument is invalid.
    #[error("invalid option: {0}")]
    Invalid(String),
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

    /// A model error on `path`.
    pub fn model(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Model {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A parse error on `path`.
    pub fn parse(path: impl Into<PathBuf>, reason: impl ToString) -> Self {
        Error::Parse {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
