//! The default model, compiled into the binary (cargo feature `embedded-model`, on by default),
//! so a copied binary works on an air-gapped workstation.

use crate::config::ModelFiles;
use crate::error::Result;

/// Name shown for the embedded model.
pub const EMBEDDED_NAME: &str = "embedded:patrol-ja-small";

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

/// The embedded model's files.
#[cfg(feature = "embedded-model")]
pub fn files() -> Result<ModelFiles> {
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

/// Without the `embedded-model` feature there is no default model.
#[cfg(not(feature = "embedded-model"))]
pub fn files() -> Result<ModelFiles> {
    Err(crate::error::Error::model(
        EMBEDDED_NAME,
        "this build has no embedded model (cargo feature `embedded-model` is off); pass --model",
    ))
}
