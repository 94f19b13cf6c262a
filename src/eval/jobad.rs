//! Measuring the job-ad check against annotated posts (`datasets/raw/jobads/`): whether a post
//! reads as a job ad, each item's precision and recall (a found item counts only where its span
//! overlaps the annotated one), the anonymous-contact flag, and how often "an item missing and
//! an anonymous contact" goes with the `recruitment` label.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::jobad::{check, Item, ITEMS};

/// One annotated post.
#[derive(Debug, Clone, Deserialize)]
pub struct JobAdExample {
    /// The post.
    pub text: String,
    /// Its labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Whether it is a job ad.
    pub job_ad: bool,
    /// The text of each item it states, keyed by `name`, `address`, ...
    pub items: BTreeMap<String, Option<String>>,
    /// Whether its only contact is anonymous.
    pub anonymous_contact: bool,
}

/// Reads annotated posts, one JSON object a line.
pub fn read_job_ad_examples(path: &Path) -> Result<Vec<JobAdExample>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                reason: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

/// Precision, recall and their counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Found and right.
    pub tp: usize,
    /// Found and wrong.
    pub fp: usize,
    /// Missed.
    pub fn_: usize,
}

impl Counts {
    /// tp / (tp + fp); 0 when nothing was found.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    /// tp / (tp + fn); 0 when there was nothing to find.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The check measured on annotated posts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobAdReport {
    /// Posts read.
    pub n: usize,
    /// "Reads as a job ad" against the annotation.
    pub job_ad: Counts,
    /// Per item, over the annotated job ads.
    pub items: BTreeMap<String, Counts>,
    /// The anonymous-contact flag, over the annotated job ads.
    pub anonymous_contact: Counts,
    /// Posts the check flags (a job ad, an item missing, an anonymous contact).
    pub flagged: usize,
    /// Of those, posts labelled `recruitment`.
    pub flagged_recruitment: usize,
    /// Posts labelled `recruitment` that the check reads as job ads.
    pub recruitment_job_ads: usize,
}

fn tally(c: &mut Counts, found: bool, truth: bool, agree: bool) {
    match (found, truth) {
        (true, true) if agree => c.tp += 1,
        (true, true) => {
            c.fp += 1;
            c.fn_ += 1;
        }
        (true, false) => c.fp += 1,
        (false, true) => c.fn_ += 1,
        (false, false) => {}
    }
}

/// Runs the check on every example and compares.
pub fn evaluate_job_ads(examples: &[JobAdExample]) -> JobAdReport {
    let mut report = JobAdReport {
        n: examples.len(),
        items: ITEMS
            .iter()
            .map(|i| (i.key().to_string(), Counts::default()))
            .collect(),
        ..Default::default()
    };
    for ex in examples {
        let found = check(&ex.text);
        tally(&mut report.job_ad, found.is_some(), ex.job_ad, true);
        let recruitment = ex.labels.iter().any(|l| l == "recruitment");
        if let Some(ad) = &found {
            if recruitment {
                report.recruitment_job_ads += 1;
            }
            if ad.anonymous_contact && !ad.missing.is_empty() {
                report.flagged += 1;
                report.flagged_recruitment += usize::from(recruitment);
            }
        }
        if !ex.job_ad {
            continue;
        }
        for item in ITEMS {
            let truth = ex
                .items
                .get(item.key())
                .and_then(|v| v.as_deref())
                .and_then(|s| ex.text.find(s).map(|start| (start, start + s.len())));
            let got = found.as_ref().and_then(|ad| ad.span(item));
            let agree = matches!((got, truth), (Some(g), Some(t)) if g.0 < t.1 && t.0 < g.1);
            tally(
                report.items.get_mut(item.key()).expect("every item"),
                got.is_some(),
                truth.is_some(),
                agree,
            );
        }
        let anonymous = found.as_ref().is_some_and(|ad| ad.anonymous_contact);
        tally(
            &mut report.anonymous_contact,
            anonymous,
            ex.anonymous_contact,
            true,
        );
    }
    report
}

/// The item names in the guideline's order, for tables.
pub fn item_keys() -> impl Iterator<Item = &'static str> {
    ITEMS.iter().map(|i: &Item| i.key())
}
