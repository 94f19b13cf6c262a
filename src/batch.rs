//! Stage 5: length-sorted batches filled up to a token budget, so short posts are not padded to a
//! long one's length. The caller restores input order with the indices each batch carries.

/// One padded batch: `size` rows of `len` token ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Indices of the rows' posts in the caller's input.
    pub indices: Vec<usize>,
    /// Row-major token ids, `size * len`, padded with the pad id.
    pub ids: Vec<u32>,
    /// Row-major attention mask, 1 for real tokens.
    pub mask: Vec<u32>,
    /// Rows.
    pub size: usize,
    /// Columns (the longest row).
    pub len: usize,
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

/// Pads the sequences named by `indices` into one batch.
pub fn build<S: AsRef<[u32]>>(seqs: &[S], indices: Vec<usize>, pad_id: u32) -> Batch {
    let len = indices
        .iter()
        .map(|&i| seqs[i].as_ref().len())
        .max()
        .unwrap_or(0)
        .max(1);
    let size = indices.len();
    let mut ids = vec![pad_id; size * len];
    let mut mask = vec![0u32; size * len];
    for (row, &i) in indices.iter().enumerate() {
        let seq = seqs[i].as_ref();
        ids[row * len..row * len + seq.len()].copy_from_slice(seq);
        mask[row * len..row * len + seq.len()].fill(1);
    }
    Batch {
        indices,
        ids,
        mask,
        size,
        len,
    }
}

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

    #[test]
    fn build_pads_and_masks() {
        let seqs = vec![vec![5, 6, 7], vec![8]];
        let b = build(&seqs, vec![1, 0], 0);
        assert_eq!((b.size, b.len), (2, 3));
        assert_eq!(b.ids, vec![8, 0, 0, 5, 6, 7]);
        assert_eq!(b.mask, vec![1, 0, 0, 1, 1, 1]);
    }
}
