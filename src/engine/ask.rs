//! What one caller asks of one post: whether to explain it, and the thresholds that turn its
//! scores into labels. A service that takes requests from many users merges their posts into
//! shared batches, each post keeping its own ask.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::classifier::Classifier;
use crate::error::{Error, Result};

/// Evidence on or off and one threshold per label, in the model's label order. Cheap to clone.
/// Build one with [`Classifier::ask`], or start from [`Classifier::default_ask`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub(crate) evidence: bool,
    thresholds: Arc<[f32]>,
}

impl Ask {
    pub(crate) fn new(evidence: bool, thresholds: Arc<[f32]>) -> Self {
        Self {
            evidence,
            thresholds,
        }
    }

    /// Whether word evidence is computed for the labels this post gets.
    pub fn evidence(&self) -> bool {
        self.evidence
    }

    /// The thresholds, in the model's label order.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }
}

impl Classifier {
    /// An ask that differs from the defaults: evidence on or off (`None`: the options' setting),
    /// and thresholds for some labels (the rest keep theirs). An unknown label, or a threshold
    /// outside 0..=1 or not a number, is an [`Error::Invalid`] that names it.
    pub fn ask(&self, evidence: Option<bool>, thresholds: &BTreeMap<String, f32>) -> Result<Ask> {
        let defaults = self.default_ask();
        let mut values = defaults.thresholds().to_vec();
        for (label, &value) in thresholds {
            let index = self
                .labels()
                .iter()
                .position(|l| l == label)
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "threshold for unknown label {label:?}; the model's labels are {:?}",
                        self.labels()
                    ))
                })?;
            if !(0.0..=1.0).contains(&value) {
                return Err(Error::Invalid(format!(
                    "threshold {value} for {label:?} is outside 0..1"
                )));
            }
            values[index] = value;
        }
        Ok(Ask::new(
            evidence.unwrap_or(defaults.evidence),
            values.into(),
        ))
    }
}
