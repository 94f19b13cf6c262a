//! Batching policy: posts sorted by length and grouped under a token budget, so short posts are
//! not padded to a long one's length; groups scored in parallel across rayon workers (or one at
//! a time), and scores put back in input order.

use rayon::prelude::*;

use crate::error::Result;
use crate::model::{Batch, BertClassifier};

/// How posts are grouped and run.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Padded size (`rows * longest row`) of one batch.
    pub max_tokens: usize,
    /// Posts in one batch.
    pub max_rows: usize,
    /// Batches in parallel across rayon workers, instead of one at a time.
    pub parallel: bool,
}

/// Sigmoid scores of many sequences, one row per sequence, in input order.
pub fn score_all<S: AsRef<[u32]> + Sync>(
    model: &BertClassifier,
    seqs: &[S],
    policy: BatchPolicy,
) -> Result<Vec<Vec<f32>>> {
    let lengths: Vec<usize> = seqs.iter().map(|s| s.as_ref().len()).collect();
    let groups = plan(&lengths, policy.max_tokens, policy.max_rows);
    let run = |group: Vec<usize>| -> Result<(Vec<usize>, Vec<Vec<f32>>)> {
        let rows = model.scores(&Batch::new(group.iter().map(|&i| seqs[i].as_ref())))?;
        Ok((group, rows))
    };
    let results: Vec<_> = if policy.parallel {
        groups.into_par_iter().map(run).collect::<Result<_>>()?
    } else {
        groups.into_iter().map(run).collect::<Result<_>>()?
    };
    let mut out = vec![Vec::new(); seqs.len()];
    for (indices, rows) in results {
        for (i, row) in indices.into_iter().zip(rows) {
            out[i] = row;
        }
    }
    Ok(out)
}

/// Groups post indices into batches: sorted by length (longest first), each batch's padded size
/// (`rows * longest row`) at most `max_tokens`, at most `max_rows` rows, and no row mostly
/// padding (see [`PADDING_SLACK`]).
pub fn plan(lengths: &[usize], max_tokens: usize, max_rows: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    // Stable sort keeps equal-length posts in input order, so plans are deterministic.
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let mut groups = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].max(1);
        let new_longest = longest.max(len);
        if !current.is_empty()
            && ((current.len() + 1) * new_longest > max_tokens
                || current.len() >= max_rows
                || wastes_padding(longest, len))
        {
            groups.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// A post much shorter than its batch's longest (under three quarters, and more than
/// [`PADDING_SLACK`] tokens shorter) starts a new batch instead: over a quarter of its row would be padding.
/// This matters for small sets such as a stream's micro-batch, which would otherwise be padded to
/// its one long post.
fn wastes_padding(longest: usize, len: usize) -> bool {
    len * 4 < longest * 3 && longest - len > PADDING_SLACK
}

/// Tokens of padding per row always tolerated, so very short posts still share batches.
pub const PADDING_SLACK: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_respects_token_budget_and_covers_every_index() {
        let lengths = [3, 10, 4, 9, 2, 10, 1];
        let groups = plan(&lengths, 20, 100);
        let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
        for g in &groups {
            let longest = g.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(g.len() * longest <= 20 || g.len() == 1, "{g:?}");
        }
        // Longest first: the two 10-token posts share the first batch.
        assert_eq!(groups[0], vec![1, 5]);
    }

    #[test]
    fn plan_caps_rows_and_handles_oversized_posts() {
        let groups = plan(&[50, 1, 1, 1], 10, 2);
        assert_eq!(groups, vec![vec![0], vec![1, 2], vec![3]]);
        assert!(plan(&[], 10, 2).is_empty());
    }

    #[test]
    fn plan_splits_rows_that_would_be_mostly_padding() {
        // 100 and 80 share a batch (80 ≥ 75); 40 would be 60 % padding; 4 and 2 share one
        // (within the slack).
        let groups = plan(&[40, 100, 2, 80, 4], 10_000, 100);
        assert_eq!(groups, vec![vec![1, 3], vec![0], vec![4, 2]]);
    }
}
