//! One epoch's data: posts prepared with on-the-fly obfuscation, and batches of indices that
//! keep padding small, both reproducible from the run's seed.

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::dataset::Transform;
use crate::error::Result;
use crate::text::{Prepared, Preparer, SegmentScratch};

/// A per-example generator so augmentation does not depend on thread scheduling.
fn example_rng(seed: u64, epoch: usize, index: usize) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(
        seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// Prepares `texts` for `epoch`, obfuscating each with probability `rate`.
pub fn prepare(
    prep: &Preparer,
    texts: &[String],
    rate: f64,
    seed: u64,
    epoch: usize,
) -> Result<Vec<Prepared>> {
    texts
        .par_iter()
        .enumerate()
        .map_init(SegmentScratch::default, |scratch, (i, text)| {
            let mut rng = example_rng(seed, epoch, i);
            let text = if rate > 0.0 && rng.random_bool(rate) {
                Transform::ALL
                    .choose(&mut rng)
                    .expect("non-empty")
                    .apply(text, &mut rng)
            } else {
                text.clone()
            };
            prep.prepare(&text, false, scratch)
        })
        .collect()
}

/// Batches of indices: shuffled, then sorted by length within blocks so padding stays small.
pub fn batches(posts: &[Prepared], batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..posts.len()).collect();
    order.shuffle(rng);
    let mut batches = Vec::new();
    for block in order.chunks(batch_size * 32) {
        let mut block = block.to_vec();
        block.sort_by_key(|&i| posts[i].ids().len());
        batches.extend(block.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

/// The learning rate at `step`: linear warm-up over `warmup` steps, then linear decay to 0 at
/// `total` steps.
pub fn learning_rate(base: f64, step: usize, warmup: usize, total: usize) -> f64 {
    let lr = if step < warmup {
        base * (step + 1) as f64 / warmup as f64
    } else {
        base * (total.saturating_sub(step)) as f64 / (total - warmup).max(1) as f64
    };
    lr.max(0.0)
}
