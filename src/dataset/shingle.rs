use std::collections::HashSet;

/// Character n-gram hashes of `text` (the whole text when shorter than `n`).
pub fn shingles(text: &str, n: usize) -> HashSet<u64> {
    use std::hash::{Hash, Hasher};
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let hash = |s: &[char]| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        h.finish()
    };
    if chars.len() < n {
        return std::iter::once(hash(&chars)).collect();
    }
    chars.windows(n).map(hash).collect()
}

/// Jaccard similarity of two shingle sets.
pub fn jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// For each item of `queries`, the best Jaccard similarity with any item of `corpus`, found
/// through an inverted index (shingles shared by more than `max_df` corpus items are skipped
/// as candidates, not in the similarity itself).
pub fn best_matches(
    queries: &[HashSet<u64>],
    corpus: &[HashSet<u64>],
    max_df: usize,
) -> Vec<(f64, Option<usize>)> {
    let mut index: std::collections::HashMap<u64, Vec<u32>> = std::collections::HashMap::new();
    for (i, s) in corpus.iter().enumerate() {
        for h in s {
            index.entry(*h).or_default().push(i as u32);
        }
    }
    use rayon::prelude::*;
    queries
        .par_iter()
        .map(|q| {
            let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
            for h in q {
                if let Some(list) = index.get(h) {
                    if list.len() <= max_df {
                        for &i in list {
                            *counts.entry(i).or_default() += 1;
                        }
                    }
                }
            }
            counts
                .into_keys()
                .map(|i| (jaccard(q, &corpus[i as usize]), Some(i as usize)))
                .fold(
                    (0.0, None),
                    |best, cur| if cur.0 > best.0 { cur } else { best },
                )
        })
        .collect()
}
