//! The model: its files, where they come from, the BERT encoder, the fused CPU kernels and the
//! classification head. It scores one flat [`Batch`]; how posts are grouped into batches is the
//! engine's business.

pub mod bert;
mod files;
mod head;
mod hub;
#[cfg(any(feature = "train", feature = "testing"))]
mod init;
mod kernels;
mod source;

pub use bert::Precision;
#[cfg(any(feature = "train", feature = "testing"))]
pub use files::save_model_dir;
#[cfg(any(feature = "train", feature = "testing"))]
pub use files::PatrolConfig;
pub use files::{ModelFiles, DEFAULT_LABELS};
pub use head::BertClassifier;
#[cfg(feature = "testing")]
pub use hub::fetch_from;
#[cfg(any(feature = "train", feature = "testing"))]
pub use init::{init_weights, tensors_of};
pub use source::ModelSource;

/// Posts as one flat sequence of token ids: post `i` is `ids[cu_lengths[i]..cu_lengths[i + 1]]`.
/// Padding is the model's business.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Every post's ids, one after the other.
    pub ids: Vec<u32>,
    /// Cumulative lengths, starting at 0: one more entry than there are posts.
    pub cu_lengths: Vec<usize>,
    /// The longest post.
    pub max_length: usize,
}

impl Batch {
    /// A batch of `seqs`, in order.
    pub fn new<S: AsRef<[u32]>>(seqs: impl IntoIterator<Item = S>) -> Self {
        let mut batch = Batch {
            cu_lengths: vec![0],
            ..Default::default()
        };
        for seq in seqs {
            let seq = seq.as_ref();
            batch.ids.extend_from_slice(seq);
            batch.cu_lengths.push(batch.ids.len());
            batch.max_length = batch.max_length.max(seq.len());
        }
        batch
    }

    /// Posts in the batch.
    pub fn len(&self) -> usize {
        self.cu_lengths.len().saturating_sub(1)
    }

    /// True when the batch holds no post.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row-major ids padded with `pad_id` and the attention mask, each `len() * width`, where
    /// `width` is the longest post (at least 1).
    pub fn padded(&self, pad_id: u32) -> (Vec<u32>, Vec<u32>, usize) {
        let width = self.max_length.max(1);
        let rows = self.len();
        let mut ids = vec![pad_id; rows * width];
        let mut mask = vec![0u32; rows * width];
        for row in 0..rows {
            let seq = &self.ids[self.cu_lengths[row]..self.cu_lengths[row + 1]];
            ids[row * width..row * width + seq.len()].copy_from_slice(seq);
            mask[row * width..row * width + seq.len()].fill(1);
        }
        (ids, mask, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_pads_and_masks_its_posts() {
        let b = Batch::new([vec![8u32], vec![5, 6, 7]]);
        assert_eq!((b.len(), b.max_length), (2, 3));
        let (ids, mask, width) = b.padded(0);
        assert_eq!(width, 3);
        assert_eq!(ids, vec![8, 0, 0, 5, 6, 7]);
        assert_eq!(mask, vec![1, 0, 0, 1, 1, 1]);
    }
}
