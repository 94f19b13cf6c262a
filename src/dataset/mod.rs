//! The labelled dataset: its schema, the builder that turns written posts into leak-free splits,
//! and the checks and counts that `DATA_CARD.md` reports.

pub mod augment;
mod build;
mod check;
pub mod provenance;
mod shingle;

pub use augment::Transform;
pub use build::{build, build_heldout, check_exclusions, BuildOptions};
pub use check::{check, counts_table, Report};
pub use shingle::{best_matches, jaccard, shingles};

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Styles of positive examples.
pub const POSITIVE_STYLES: [&str; 9] = [
    "plain",
    "obfuscated",
    "emoji",
    "hashtag",
    "job-ad-disguise",
    "board",
    "dm",
    "overseas",
    "account-trade",
];

/// Styles of negative examples.
pub const NEGATIVE_STYLES: [&str; 7] = [
    "legit-job",
    "warning-news",
    "slang-innocent",
    "fiction",
    "side-job",
    "everyday",
    "drug-talk-benign",
];

/// One labelled example: `{"id", "text", "labels", "style", "source"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Unique id.
    pub id: String,
    /// The post.
    pub text: String,
    /// Gold labels; empty for benign.
    pub labels: Vec<String>,
    /// Style tag.
    #[serde(default)]
    pub style: String,
    /// How it was made: `written`, `template:<name>`, `augment:<transform>:<base id>`.
    #[serde(default)]
    pub source: String,
    /// The kind of real-post error it covers (`threat-email`, `neg-headline`, ...), when its
    /// writer tagged one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

impl Example {
    /// True when the example has no label.
    pub fn is_benign(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Reads a JSONL file of examples; a bad line is an error naming the line.
pub fn read_examples(path: &Path) -> Result<Vec<Example>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let ex: Example = serde_json::from_str(&line)
            .map_err(|e| Error::parse(path, format!("line {}: {e}", i + 1)))?;
        out.push(ex);
    }
    Ok(out)
}

/// Writes examples as JSONL.
pub fn write_examples(path: &Path, examples: &[Example]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    for ex in examples {
        serde_json::to_writer(&mut w, ex).map_err(|e| Error::json(path, e))?;
        w.write_all(b"\n").map_err(|e| Error::io(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

/// True when a benign example is a hard negative: every negative style except `everyday` is
/// hard by construction (it shares the topic or the words); an `everyday` post is hard when it
/// contains a signal word.
pub fn is_hard_negative(ex: &Example) -> bool {
    ex.is_benign() && (ex.style != "everyday" || crate::lexicon::has_signal_word(&ex.text))
}

pub use build::read_splits;

/// Writes `n` examples drawn from `from` as an unlabelled sample (`id`, `text` only).
pub fn write_sample(path: &Path, from: &[Example], n: usize, seed: u64) -> Result<()> {
    use rand::seq::IndexedRandom;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let picked: Vec<&Example> = from.choose_multiple(&mut rng, n).collect();
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::new(file);
    for (i, ex) in picked.iter().enumerate() {
        let line = serde_json::json!({"id": format!("sample-{:03}", i + 1), "text": ex.text});
        writeln!(w, "{line}").map_err(|e| Error::io(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}
