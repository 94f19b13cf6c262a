//! Text preparation, identical in training and inference: normalise (NFKC and folds against
//! obfuscation), segment into Lindera words, tokenize into ids. [`Prepared`] keeps what each
//! step made, so evidence reuses it instead of preparing the post again.

mod normalize;
mod segment;
mod tokenize;

use std::ops::Range;

pub use normalize::{default_normalizer, Normalized, Normalizer, NormalizerConfig};
pub use segment::{SegmentScratch, Segmenter};
#[cfg(any(feature = "train", feature = "testing"))]
pub use tokenize::SPECIAL_TOKENS;
pub use tokenize::{Tokenizer, TokenizerSource, Tokens};

use crate::error::Result;

/// One post after preparation.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The normalised text, with its map back to the original bytes.
    pub normalized: Normalized,
    /// Byte spans of the Lindera words in the normalised text (empty when the tokenizer needs no
    /// words and none were asked for).
    pub words: Vec<Range<usize>>,
    /// Token ids and their spans in the normalised text.
    pub tokens: Tokens,
}

impl Prepared {
    /// The token ids.
    pub fn ids(&self) -> &[u32] {
        &self.tokens.ids
    }
}

impl AsRef<[u32]> for Prepared {
    fn as_ref(&self) -> &[u32] {
        &self.tokens.ids
    }
}

/// Normaliser, segmenter and tokenizer of one model. Shared by all workers (`&self`).
pub struct Preparer {
    normalizer: Normalizer,
    segmenter: Segmenter,
    tokenizer: Tokenizer,
}

impl Preparer {
    /// The preparation a model was trained with.
    pub fn new(
        normalizer: NormalizerConfig,
        tokenizer: &TokenizerSource,
        max_length: usize,
        prefix: &str,
    ) -> Result<Self> {
        let segmenter = Segmenter::ipadic()?;
        let mut prefix_words = Vec::new();
        if matches!(tokenizer, TokenizerSource::LinderaWordPiece(_)) {
            segmenter.words_into(prefix, &mut SegmentScratch::default(), &mut prefix_words)?;
        }
        Ok(Self {
            normalizer: Normalizer::new(normalizer),
            tokenizer: Tokenizer::new(tokenizer, max_length, prefix, &prefix_words)?,
            segmenter,
        })
    }

    /// The normaliser.
    pub fn normalizer(&self) -> &Normalizer {
        &self.normalizer
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Prepares one post; `words` asks for the Lindera words even when the tokenizer does not
    /// need them.
    pub fn prepare(
        &self,
        text: &str,
        words: bool,
        scratch: &mut SegmentScratch,
    ) -> Result<Prepared> {
        self.prepare_normalized(self.normalizer.normalize(text), words, scratch)
    }

    /// Segments and tokenizes text already normalised.
    pub fn prepare_normalized(
        &self,
        normalized: Normalized,
        words: bool,
        scratch: &mut SegmentScratch,
    ) -> Result<Prepared> {
        let mut spans = Vec::new();
        if words || self.tokenizer.needs_words() {
            self.segmenter
                .words_into(&normalized.text, scratch, &mut spans)?;
        }
        let tokens = self.tokenizer.tokenize(&normalized.text, &spans)?;
        Ok(Prepared {
            normalized,
            words: spans,
            tokens,
        })
    }

    /// Prepares posts in parallel, one scratch space per rayon worker, in input order.
    pub fn prepare_all<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        words: bool,
    ) -> Result<Vec<Prepared>> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map_init(SegmentScratch::default, |scratch, text| {
                self.prepare(text.as_ref(), words, scratch)
            })
            .collect()
    }
}

/// Unknown tokens and all tokens (without the two special tokens) over prepared posts.
pub fn unk_counts<'a>(posts: impl IntoIterator<Item = &'a [u32]>, unk: u32) -> (usize, usize) {
    posts.into_iter().fold((0, 0), |(u, n), ids| {
        (
            u + ids.iter().filter(|&&id| id == unk).count(),
            n + ids.len().saturating_sub(2),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "testing")]
    #[test]
    fn a_long_prefix_never_exceeds_max_length() {
        let vocab = crate::testing::char_vocab("queryこんにちは:".chars()).into_bytes();
        let source = TokenizerSource::LinderaWordPiece(vocab);
        for max_length in [4, 5, 8, 12] {
            let prep = Preparer::new(
                NormalizerConfig::default(),
                &source,
                max_length,
                "query: query: ",
            )
            .unwrap();
            let p = prep
                .prepare("こんにちは", false, &mut SegmentScratch::default())
                .unwrap();
            assert!(
                p.ids().len() <= max_length,
                "{max_length}: {}",
                p.ids().len()
            );
            assert_eq!(p.tokens.ids.len(), p.tokens.offsets.len());
        }
    }

    #[cfg(feature = "testing")]
    #[test]
    fn prepared_keeps_words_and_the_map_to_the_original() {
        let vocab = crate::testing::char_vocab("荷物受け取り".chars()).into_bytes();
        let source = TokenizerSource::LinderaWordPiece(vocab);
        let prep = Preparer::new(NormalizerConfig::default(), &source, 64, "").unwrap();
        let original = "荷物 の 受け取り";
        let p = prep
            .prepare(original, false, &mut SegmentScratch::default())
            .unwrap();
        assert!(!p.words.is_empty());
        let first = p.words[0].clone();
        let span = p.normalized.original_span(first.clone()).unwrap();
        assert_eq!(&original[span], &p.normalized.text[first]);
    }
}
