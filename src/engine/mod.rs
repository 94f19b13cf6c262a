//! The engine: the batching policy, the classifier that ties preparation and model together,
//! and word evidence.

mod ask;
mod batch;
mod classifier;
mod evidence;

pub use ask::Ask;
#[cfg(feature = "train")]
pub(crate) use batch::{score_all, BatchPolicy};
pub use classifier::{Classifier, ClassifierOptions, DeviceChoice, Prediction, Scores};
pub use evidence::{Evidence, EvidenceWord};
