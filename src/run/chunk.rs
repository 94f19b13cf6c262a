//! Scoring a chunk of mixed good and bad records: the good ones are classified together, the
//! bad ones keep their place, and every record comes back once, in order. Scan and stream both
//! use it.

use crate::engine::{Classifier, Prediction};
use crate::error::Result;

/// Scores the `Ok` items of `items` in one call (their text given by `text`) and returns every
/// item in order, each good one with its prediction.
pub fn score_chunk<R, E>(
    classifier: &Classifier,
    items: Vec<std::result::Result<R, E>>,
    text: impl Fn(&R) -> &str,
) -> Result<Vec<std::result::Result<(R, Prediction), E>>> {
    let texts: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok().map(&text))
        .collect();
    let preds = classifier.classify(&texts)?;
    let mut preds = preds.into_iter();
    Ok(items
        .into_iter()
        .map(|item| {
            item.map(|r| {
                let pred = preds
                    .next()
                    .expect("classify returns one prediction per text");
                (r, pred)
            })
        })
        .collect())
}
