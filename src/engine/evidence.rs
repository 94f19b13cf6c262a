//! Word evidence by occlusion: for each flagged post, each Lindera word is removed in turn, all
//! variants are scored in one batched pass, and a word's weight is the score it takes away. The
//! words and the map back to the original bytes come from the post's [`Prepared`] form.

use std::ops::Range;

use rayon::prelude::*;
use serde::Serialize;

use super::classifier::{Classifier, Prediction};
use crate::error::Result;
use crate::text::Prepared;

/// Words tried per post at most.
const MAX_WORDS: usize = 96;

/// A word that drove a label's score, found by occlusion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceWord {
    /// The word as it appears in the original post.
    pub text: String,
    /// Score drop when the word is removed.
    pub weight: f32,
    /// Byte span of the word in the original post.
    pub span: (usize, usize),
}

/// The words that drove one label's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The label.
    pub label: String,
    /// Strongest words first.
    pub words: Vec<EvidenceWord>,
}

/// A post with one word removed.
struct Variant {
    /// The word's span in the normalised text.
    span: Range<usize>,
    ids: Vec<u32>,
}

/// The variants of one post: each word's tokens left out.
fn variants(post: &Prepared) -> Vec<Variant> {
    let tokens = &post.tokens;
    post.words
        .iter()
        .filter_map(|w| {
            let keep: Vec<u32> = tokens
                .ids
                .iter()
                .zip(&tokens.offsets)
                .filter(|(_, o)| {
                    o.is_empty() || (o.end as usize) <= w.start || (o.start as usize) >= w.end
                })
                .map(|(id, _)| *id)
                .collect();
            (keep.len() < tokens.ids.len()).then(|| Variant {
                span: w.clone(),
                ids: keep,
            })
        })
        .take(MAX_WORDS)
        .collect()
}

impl Classifier {
    /// Adds evidence to the predictions at `flagged`, for each label they carry; `prepared[i]`
    /// is `texts[i]` prepared with its words.
    pub(crate) fn add_evidence<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        prepared: &[Prepared],
        preds: &mut [Prediction],
        flagged: Vec<usize>,
    ) -> Result<()> {
        let per_post: Vec<Vec<Variant>> = flagged
            .par_iter()
            .map(|&i| variants(&prepared[i]))
            .collect();
        let seqs: Vec<&[u32]> = per_post
            .iter()
            .flatten()
            .map(|v| v.ids.as_slice())
            .collect();
        let scores = self.score_ids(&seqs)?;
        let mut rows = scores.as_slice();
        for (&post, variants) in flagged.iter().zip(&per_post) {
            let (mine, rest) = rows.split_at(variants.len());
            rows = rest;
            if variants.is_empty() {
                continue;
            }
            let pred = &mut preds[post];
            let text = texts[post].as_ref();
            let normalized = &prepared[post].normalized;
            for (li, label) in self.labels().iter().enumerate() {
                if !pred.labels.contains(label) {
                    continue;
                }
                let base = pred.scores[li].1;
                let mut words: Vec<EvidenceWord> = variants
                    .iter()
                    .zip(mine)
                    .filter_map(|(v, row)| {
                        let weight = base - row[li];
                        let span = normalized.original_span(v.span.clone())?;
                        (weight > 0.0).then(|| EvidenceWord {
                            text: text[span.clone()].to_string(),
                            weight,
                            span: (span.start, span.end),
                        })
                    })
                    .collect();
                words.sort_by(|a, b| b.weight.total_cmp(&a.weight));
                words.truncate(self.evidence_top_k());
                pred.evidence.push(Evidence {
                    label: label.clone(),
                    words,
                });
            }
        }
        Ok(())
    }
}
