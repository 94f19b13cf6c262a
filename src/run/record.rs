//! The output record of a scored post.

use std::io::Write;

use serde_json::Value;

use crate::engine::Prediction;

/// Writes one output record: `{"id", "scores", "labels", "evidence", ...kept fields}`, scores
/// rounded to six decimals.
pub fn write_prediction(
    out: &mut dyn Write,
    id: &Value,
    pred: &Prediction,
    fields: Option<&serde_json::Map<String, Value>>,
) -> std::io::Result<()> {
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), id.clone());
    obj.append(&mut prediction_fields(pred));
    if let Some(fields) = fields {
        for (k, v) in fields {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    serde_json::to_writer(&mut *out, &Value::Object(obj))?;
    out.write_all(b"\n")
}

/// A prediction as JSON fields: `scores` (rounded to six decimals), `labels`, `evidence`, and
/// `job_ad` when the job-ad check ran and the post reads as a job ad.
pub fn prediction_fields(pred: &Prediction) -> serde_json::Map<String, Value> {
    let mut obj = serde_json::Map::new();
    let scores: serde_json::Map<String, Value> = pred
        .scores
        .iter()
        .map(|(l, s)| (l.clone(), Value::from((*s as f64 * 1e6).round() / 1e6)))
        .collect();
    obj.insert("scores".into(), Value::Object(scores));
    obj.insert("labels".into(), Value::from(pred.labels.clone()));
    obj.insert(
        "evidence".into(),
        serde_json::to_value(&pred.evidence).unwrap_or_default(),
    );
    if let Some(ad) = &pred.job_ad {
        obj.insert("job_ad".into(), ad.to_json());
    }
    obj
}
