//! The operator's side of a scan: flagged posts read back from scan output (JSONL written with
//! `--keep-fields`, so the text and the post's own fields are there), grouped by near-duplicate
//! text, and written as an IHC-ready CSV ([`ihc`]) or one self-contained HTML review page
//! ([`html`]).

mod group;
pub mod html;
pub mod ihc;

use std::io::BufRead;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};
pub use group::group_near_duplicates;

/// IHC's category for each label.
pub fn category(label: &str) -> &str {
    match label {
        "recruitment" => "犯罪実行者募集情報",
        "drugs" => "違法情報（薬物）",
        "serious_crime" => "重要犯罪密接関連情報",
        other => other,
    }
}

/// Which fields of a scan record hold what.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The post's text (kept with `--keep-fields`).
    pub text: String,
    /// The post's address, if the input had one.
    pub url: String,
    /// The post's time, if the input had one.
    pub time: String,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            text: "text".into(),
            url: "url".into(),
            time: "created_at".into(),
        }
    }
}

/// An evidence word and its byte span in the post.
pub type Word = (String, (usize, usize));

/// One flagged post.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The post's id as written.
    pub id: String,
    /// Its address, or empty.
    pub url: String,
    /// Its time, or empty.
    pub time: String,
    /// Its text.
    pub text: String,
    /// The labels it got, highest score first.
    pub labels: Vec<String>,
    /// Every label's score, in the model's order.
    pub scores: Vec<(String, f64)>,
    /// Evidence per flagged label: the words and their byte spans in `text`.
    pub evidence: Vec<(String, Vec<Word>)>,
    /// Job-ad items missing (keys such as `address`), when the check ran.
    pub missing: Vec<String>,
}

impl Hit {
    /// The highest score among its labels.
    pub fn top_score(&self) -> f64 {
        self.labels
            .first()
            .and_then(|l| self.scores.iter().find(|(s, _)| s == l))
            .map_or(0.0, |(_, v)| *v)
    }
}

/// What was read: the hits, and how many records there were.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Flagged posts, highest score first.
    pub hits: Vec<Hit>,
    /// Records scored (flagged or not).
    pub scored: u64,
    /// Error records (from the scan's error output, when given).
    pub errors: u64,
    /// Posts flagged per label, in first-seen label order.
    pub flagged: Vec<(String, u64)>,
}

fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The strings of a JSON array (nothing when it is not one).
fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect()
}

/// Reads one scan output record into a hit when it has a label. A record without `scores`
/// is an error naming the line.
fn read_hit(value: &Value, fields: &Fields, line: usize, source: &str) -> Result<Option<Hit>> {
    let bad = |reason: &str| Error::Parse {
        path: source.into(),
        reason: format!("line {line}: {reason}"),
    };
    let scores: Vec<(String, f64)> = value
        .get("scores")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no \"scores\": not a scan output record"))?
        .iter()
        .map(|(l, s)| (l.clone(), s.as_f64().unwrap_or(0.0)))
        .collect();
    let mut labels = strings(value.get("labels"));
    if labels.is_empty() {
        return Ok(None);
    }
    let score = |l: &String| scores.iter().find(|(s, _)| s == l).map_or(0.0, |(_, v)| *v);
    labels.sort_by(|a, b| score(b).total_cmp(&score(a)));
    let text = text_of(lookup(value, &fields.text));
    if text.is_empty() {
        return Err(bad(&format!(
            "no text in field {:?}: scan with --keep-fields",
            fields.text
        )));
    }
    let evidence = value
        .get("evidence")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            let label = text_of(e.get("label"));
            let words = e
                .get("words")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|w| {
                    let span = w.get("span")?.as_array()?;
                    let (s, e) = (
                        span.first()?.as_u64()? as usize,
                        span.get(1)?.as_u64()? as usize,
                    );
                    // A span must fall on the text's character boundaries.
                    text.get(s..e)?;
                    Some((text_of(w.get("text")), (s, e)))
                })
                .collect();
            (label, words)
        })
        .collect();
    let missing = strings(value.pointer("/job_ad/missing"));
    Ok(Some(Hit {
        id: text_of(value.get("id")),
        url: text_of(lookup(value, &fields.url)),
        time: text_of(lookup(value, &fields.time)),
        text,
        labels,
        scores,
        evidence,
        missing,
    }))
}

/// Reads scan output (and, when given, the scan's error records, which are counted).
pub fn load(scan: &Path, errors: Option<&Path>, fields: &Fields) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let source = scan.display().to_string();
    let reader = crate::io::open_input(&source, crate::io::TextEncoding::Utf8)?;
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(scan, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| Error::Parse {
            path: scan.into(),
            reason: format!("line {}: {e}", i + 1),
        })?;
        loaded.scored += 1;
        if let Some(hit) = read_hit(&value, fields, i + 1, &source)? {
            for label in &hit.labels {
                match loaded.flagged.iter_mut().find(|(l, _)| l == label) {
                    Some((_, n)) => *n += 1,
                    None => loaded.flagged.push((label.clone(), 1)),
                }
            }
            loaded.hits.push(hit);
        }
    }
    if let Some(path) = errors {
        let reader =
            crate::io::open_input(&path.display().to_string(), crate::io::TextEncoding::Utf8)?;
        loaded.errors = reader
            .lines()
            .map_while(|l| l.ok())
            .filter(|l| !l.trim().is_empty())
            .count() as u64;
    }
    loaded
        .hits
        .sort_by(|a, b| b.top_score().total_cmp(&a.top_score()));
    Ok(loaded)
}
