//! Word segmentation with Lindera and the embedded IPADIC dictionary.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use lindera::dictionary::{load_embedded_dictionary, DictionaryKind};
use lindera::mode::Mode;
use lindera_dictionary::dictionary::Dictionary;
use lindera_dictionary::viterbi::Lattice;

use crate::error::{Error, Result};

/// Per-worker scratch space for segmentation, reused across posts.
#[derive(Default)]
pub struct SegmentScratch {
    lattice: Lattice,
}

/// A Lindera segmenter over IPADIC. Cloning is cheap: the dictionary is shared.
#[derive(Clone)]
pub struct Segmenter {
    inner: lindera::segmenter::Segmenter,
}

fn ipadic() -> Result<Dictionary> {
    static DICT: OnceLock<std::result::Result<Dictionary, String>> = OnceLock::new();
    DICT.get_or_init(|| load_embedded_dictionary(DictionaryKind::IPADIC).map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::Segmenter)
}

impl Segmenter {
    /// A segmenter over the IPADIC dictionary compiled into the binary.
    pub fn ipadic() -> Result<Self> {
        let inner = lindera::segmenter::Segmenter::new(Mode::Normal, ipadic()?, None);
        Ok(Self { inner })
    }

    /// Appends the byte spans of the words of `text` to `out`; white space is skipped.
    pub fn words_into(
        &self,
        text: &str,
        scratch: &mut SegmentScratch,
        out: &mut Vec<Range<usize>>,
    ) -> Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        let tokens = self
            .inner
            .segment_with_lattice(Cow::Borrowed(text), &mut scratch.lattice)
            .map_err(|e| Error::Segmenter(e.to_string()))?;
        out.extend(
            tokens
                .iter()
                .filter(|t| !text[t.byte_start..t.byte_end].trim().is_empty())
                .map(|t| t.byte_start..t.byte_end),
        );
        Ok(())
    }

    /// The words of `text` as string slices.
    #[cfg(test)]
    pub fn words<'t>(&self, text: &'t str) -> Result<Vec<&'t str>> {
        let mut spans = Vec::new();
        self.words_into(text, &mut SegmentScratch::default(), &mut spans)?;
        Ok(spans.into_iter().map(|r| &text[r]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_japanese_into_words() {
        let seg = Segmenter::ipadic().unwrap();
        let words = seg.words("東京で荷物を運ぶ仕事").unwrap();
        assert_eq!(words, vec!["東京", "で", "荷物", "を", "運ぶ", "仕事"]);
    }

    #[test]
    fn skips_whitespace_and_handles_empty() {
        let seg = Segmenter::ipadic().unwrap();
        assert!(seg.words("").unwrap().is_empty());
        let words = seg.words("今日 は").unwrap();
        assert_eq!(words, vec!["今日", "は"]);
    }
}
