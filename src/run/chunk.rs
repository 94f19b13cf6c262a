//! Scoring a chunk of mixed good and bad records: the good ones are classified together, the
//! bad ones keep their place, and every record comes back once, in order. Scan and stream both
//! use it.

use crate::engine::{Classifier, Prediction};
use crate::error::Result;

/// Scores the `Ok` items of `items` in one call of `classify` (which must return one prediction
/// per good item, in order) and returns every item in order, each good one with its prediction.
pub fn score_chunk<R, E>(
    items: Vec<std::result::Result<R, E>>,
    classify: impl FnOnce(&[&R]) -> Result<Vec<Prediction>>,
) -> Result<Vec<std::result::Result<(R, Prediction), E>>> {
    let good: Vec<&R> = items.iter().filter_map(|item| item.as_ref().ok()).collect();
    let preds = classify(&good)?;
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

/// Scores a chunk of records by their text with the classifier's defaults.
pub fn score_texts<R, E>(
    classifier: &Classifier,
    items: Vec<std::result::Result<R, E>>,
    text: impl Fn(&R) -> &str,
) -> Result<Vec<std::result::Result<(R, Prediction), E>>> {
    score_chunk(items, |good| {
        let texts: Vec<&str> = good.iter().map(|r| text(r)).collect();
        classifier.classify(&texts)
    })
}
