//! Where a model comes from: a local directory, the Hugging Face Hub, or the default model
//! compiled into the binary (cargo feature `embedded-model`, on by default), so a copied binary
//! works on an air-gapped workstation.

use std::path::{Path, PathBuf};

use super::files::ModelFiles;
use crate::error::{Error, Result};

/// Name shown for the embedded model.
pub const EMBEDDED_NAME: &str = "embedded:patrol-ja-small";

/// A model to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The default model compiled into the binary.
    Embedded,
    /// A directory in the Hugging Face layout, used as is.
    Dir(PathBuf),
    /// `org/name[@revision]` on the Hugging Face Hub, through its standard cache.
    Hub(String),
}

impl ModelSource {
    /// Reads a user's `--model` value: none is the embedded model; `hub:org/name[@revision]` is
    /// a Hub repository; anything else is a local directory, which must exist. Only the explicit
    /// prefix ever reaches the network, so a mistyped path is reported as missing.
    pub fn parse(spec: Option<&str>) -> Result<Self> {
        let Some(spec) = spec else {
            return Ok(Self::Embedded);
        };
        if let Some(repo) = spec.strip_prefix("hub:") {
            super::hub::parse_repo(repo)?;
            return Ok(Self::Hub(repo.to_string()));
        }
        if Path::new(spec).is_dir() {
            return Ok(Self::Dir(spec.into()));
        }
        let reason = if Path::new(spec).exists() {
            "not a directory"
        } else {
            "no such model directory (a Hugging Face model is written hub:org/name[@revision])"
        };
        Err(Error::model(spec, reason))
    }

    /// Reads the model's files (fetching them first for a Hub model).
    pub fn files(&self) -> Result<ModelFiles> {
        match self {
            Self::Embedded => embedded(),
            Self::Dir(dir) => ModelFiles::from_dir(dir),
            Self::Hub(spec) => ModelFiles::from_dir(&super::hub::fetch(spec)?),
        }
    }
}

#[cfg(feature = "embedded-model")]
macro_rules! model_file {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/models/patrol-ja-small/",
                $name
            )) as &'static [u8],
        )
    };
}

#[cfg(feature = "embedded-model")]
fn embedded() -> Result<ModelFiles> {
    ModelFiles::from_static(
        EMBEDDED_NAME,
        &[
            model_file!("config.json"),
            model_file!("patrol.json"),
            model_file!("model.safetensors"),
            model_file!("vocab.txt"),
        ],
    )
}

#[cfg(not(feature = "embedded-model"))]
fn embedded() -> Result<ModelFiles> {
    Err(Error::model(
        EMBEDDED_NAME,
        "this build has no embedded model (cargo feature `embedded-model` is off); pass --model",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_spec_is_a_directory_a_hub_id_or_an_error() {
        assert_eq!(ModelSource::parse(None).unwrap(), ModelSource::Embedded);
        assert_eq!(
            ModelSource::parse(Some("src")).unwrap(),
            ModelSource::Dir("src".into())
        );
        assert_eq!(
            ModelSource::parse(Some("hub:org/name@v1")).unwrap(),
            ModelSource::Hub("org/name@v1".into())
        );
        // A mistyped local path is missing, never a Hub id.
        let err = ModelSource::parse(Some("models/patrol-ja-smal")).unwrap_err();
        assert!(err.to_string().contains("no such model directory"), "{err}");
        assert!(ModelSource::parse(Some("org/name")).is_err());
        assert!(ModelSource::parse(Some("./missing/dir")).is_err());
        assert!(ModelSource::parse(Some("hub:not a repo")).is_err());
        assert!(ModelSource::parse(Some("Cargo.toml")).is_err());
    }
}
