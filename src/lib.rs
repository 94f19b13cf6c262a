//! `patrol` scores Japanese social-media posts for criminal-perpetrator recruitment (闇バイト),
//! illicit-drug advertising and serious-crime content.
//!
//! A post travels one straight line, one module per stage:
//! [`io`] → [`normalize`] → [`segment`] (Lindera) → [`encode`] → [`batch`] → [`model`] (Candle)
//! → scores and labels → [`io`].
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

pub mod augment;
pub mod baseline;
pub mod batch;
pub mod bert;
pub mod classifier;
pub mod config;
pub mod dataset;
pub mod e5;
pub mod embedded;
pub mod encode;
pub mod error;
pub mod eval;
pub mod fuzzing;
pub mod gen;
pub mod hub;
pub mod io;
pub mod kernels;
pub mod model;
pub mod normalize;
pub mod placeholder;
pub mod scan;
pub mod segment;
pub mod stream;
pub mod train;

pub use classifier::{
    Classifier, ClassifierOptions, DeviceChoice, Evidence, EvidenceWord, Precision, Prediction,
};
pub use error::{Error, Result};
