//! Evaluation: multi-label metrics and threshold selection (shared with training), and the
//! keyword baseline the model is compared against.

mod baseline;
mod calibration;
mod jobad;
mod metrics;

pub use baseline::keyword_scores;
pub use calibration::{ece, fit_platt, fit_temperature, platt, scale, ECE_BINS};
pub use jobad::{
    evaluate_job_ads, item_keys, read_job_ad_examples, Counts, JobAdExample, JobAdReport,
};
pub use metrics::{
    choose_thresholds, evaluate, pr_auc, roc_auc, EvalReport, LabelMetrics, StyleMetrics,
};
