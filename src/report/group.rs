//! Near-duplicate groups: the same campaign reposted from many accounts, with a changed number,
//! handle or emoji. Texts are reduced to their letters (normalised, digits and symbols dropped),
//! cut into 3-character shingles, and compared by MinHash with banding; candidates that share a
//! band join a group when their shingle sets overlap by at least [`MIN_JACCARD`].

use std::collections::{HashMap, HashSet};

use crate::text::default_normalizer;

/// Jaccard similarity of shingle sets at which two posts are the same campaign.
pub const MIN_JACCARD: f64 = 0.6;
const HASHES: usize = 24;
const BAND: usize = 3;

fn shingles(text: &str) -> HashSet<u64> {
    let norm = default_normalizer().normalize_str(text);
    let letters: Vec<char> = norm.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 3 {
        return std::iter::once(crate::io::fnv(
            crate::io::FNV_BASIS,
            letters.iter().collect::<String>().as_bytes(),
        ))
        .collect();
    }
    letters
        .windows(3)
        .map(|w| {
            let s: String = w.iter().collect();
            crate::io::fnv(crate::io::FNV_BASIS, s.as_bytes())
        })
        .collect()
}

fn mix(x: u64, seed: u64) -> u64 {
    // splitmix64 over the shingle hash and a per-function seed.
    let mut z = x ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// A group number for each text: texts with the same number are near-duplicates. Numbers are
/// the index of the group's first text.
pub fn group_near_duplicates<S: AsRef<str>>(texts: &[S]) -> Vec<usize> {
    let sets: Vec<HashSet<u64>> = texts.iter().map(|t| shingles(t.as_ref())).collect();
    let mut parent: Vec<usize> = (0..texts.len()).collect();
    let mut buckets: HashMap<(usize, Vec<u64>), usize> = HashMap::new();
    for (i, set) in sets.iter().enumerate() {
        let signature: Vec<u64> = (0..HASHES)
            .map(|h| set.iter().map(|&x| mix(x, h as u64 + 1)).min().unwrap_or(0))
            .collect();
        for (band, chunk) in signature.chunks(BAND).enumerate() {
            match buckets.entry((band, chunk.to_vec())) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let j = *e.get();
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        let inter = sets[i].intersection(&sets[j]).count() as f64;
                        let union = (sets[i].len() + sets[j].len()) as f64 - inter;
                        if union > 0.0 && inter / union >= MIN_JACCARD {
                            parent[a.max(b)] = a.min(b);
                        }
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
    }
    (0..texts.len()).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reposts_with_other_numbers_group_and_other_posts_do_not() {
        let texts = [
            "【急募】荷物を受け取るだけの簡単なお仕事、日給5万円！詳細はテレグラムで @abc123",
            "【急募】荷物を受け取るだけの簡単なお仕事、日給8万円！！詳細はテレグラムで @xyz999 🔥",
            "今日のランチは駅前のカレー屋さん、辛さ5倍にしたら汗だく",
            "【急募】荷物を受け取るだけの簡単なお仕事、日給5万円！詳細はテレグラムで @q",
        ];
        let g = group_near_duplicates(&texts);
        assert_eq!(g[0], g[1]);
        assert_eq!(g[0], g[3]);
        assert_ne!(g[0], g[2]);
    }
}
