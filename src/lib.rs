//! `patrol` scores Japanese social-media posts for criminal-perpetrator recruitment (闇バイト),
//! illicit-drug advertising and serious-crime content.
//!
//! A post travels one way: `io` reads it, `text` prepares it (normalise, segment with Lindera,
//! tokenize), the engine batches it and the `model` (BERT in Candle) scores it, and [`run`]
//! writes the result.
//!
//! ```
//! use patrol::{Classifier, ClassifierOptions};
//!
//! # fn main() -> patrol::Result<()> {
//! let classifier = Classifier::embedded(ClassifierOptions::default().with_threads(2))?;
//! let predictions = classifier.classify(&["簡単な荷物の受け取りで日給5万、詳細はDMで", "今日のアイスおいしい"])?;
//! assert_eq!(predictions.len(), 2);
//! for p in &predictions {
//!     assert_eq!(p.scores.len(), classifier.labels().len());
//!     println!("{:?} -> {:?}", p.scores, p.labels);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
// Some internals serve only training or the test tools; a library-only build leaves them unused.
#![cfg_attr(
    not(all(feature = "train", feature = "testing")),
    allow(dead_code, unused_imports)
)]

mod engine;
mod error;
mod lexicon;
mod model;
mod text;

#[cfg(feature = "consume")]
pub mod consume;

#[cfg(feature = "train")]
pub mod dataset;
pub mod eval;
pub mod io;
pub mod jobad;
pub mod report;
pub mod run;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
#[cfg(feature = "train")]
pub mod train;

pub use engine::{
    Ask, Classifier, ClassifierOptions, DeviceChoice, Evidence, EvidenceWord, Prediction, Scores,
};
pub use error::{Error, Result};
pub use model::{ModelSource, Precision, DEFAULT_LABELS};
