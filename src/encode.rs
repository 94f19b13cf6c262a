//! Stage 4: token ids, from a Hugging Face `tokenizer.json` or from WordPiece over Lindera words.

use std::ops::Range;

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::{Model, Tokenizer, TruncationParams};

use crate::config::TokenizerSource;
use crate::error::{Error, Result};
use crate::segment::{SegmentScratch, Segmenter};

/// A post as token ids, with each token's byte span in the normalised text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    /// Token ids, special tokens included.
    pub ids: Vec<u32>,
    /// Byte span of each token in the normalised text; empty for special and prefix tokens.
    pub offsets: Vec<Range<u32>>,
}

impl AsRef<[u32]> for Encoded {
    fn as_ref(&self) -> &[u32] {
        &self.ids
    }
}

/// Per-worker scratch space for encoding.
#[derive(Default)]
pub struct EncodeScratch {
    /// Lindera's scratch space.
    pub segment: SegmentScratch,
    words: Vec<Range<usize>>,
}

enum Kind {
    Json(Box<Tokenizer>),
    WordPiece {
        model: Box<WordPiece>,
        cls: u32,
        sep: u32,
        prefix_ids: Vec<u32>,
    },
}

/// Turns normalised text into token ids. Shared by all workers (`&self`).
pub struct TextEncoder {
    kind: Kind,
    segmenter: Segmenter,
    max_length: usize,
    prefix: String,
    pad_id: u32,
    unk_id: Option<u32>,
}

fn vocab_id(model: &WordPiece, token: &str) -> Result<u32> {
    model
        .token_to_id(token)
        .ok_or_else(|| Error::Tokenizer(format!("vocab.txt has no {token} token")))
}

impl TextEncoder {
    /// Builds the encoder for `source`; `prefix` is prepended to every post.
    pub fn new(source: &TokenizerSource, max_length: usize, prefix: &str) -> Result<Self> {
        let max_length = max_length.max(4);
        let segmenter = Segmenter::ipadic()?;
        let tok_err = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
        let (kind, pad_id, unk_id) = match source {
            TokenizerSource::Json(bytes) => {
                let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(tok_err)?;
                tokenizer
                    .with_truncation(Some(TruncationParams {
                        max_length,
                        ..Default::default()
                    }))
                    .map_err(tok_err)?;
                tokenizer.with_padding(None);
                let pad_id = ["<pad>", "[PAD]"]
                    .iter()
                    .find_map(|t| tokenizer.token_to_id(t))
                    .unwrap_or(0);
                let unk_id = ["<unk>", "[UNK]"]
                    .iter()
                    .find_map(|t| tokenizer.token_to_id(t));
                (Kind::Json(Box::new(tokenizer)), pad_id, unk_id)
            }
            TokenizerSource::LinderaWordPiece(vocab) => {
                let vocab = WordPiece::read_bytes(vocab).map_err(tok_err)?;
                let model = WordPiece::builder()
                    .vocab(vocab)
                    .unk_token("[UNK]".into())
                    .build()
                    .map_err(tok_err)?;
                let cls = vocab_id(&model, "[CLS]")?;
                let sep = vocab_id(&model, "[SEP]")?;
                let pad_id = vocab_id(&model, "[PAD]")?;
                let unk_id = vocab_id(&model, "[UNK]")?;
                let mut kind = Kind::WordPiece {
                    model: Box::new(model),
                    cls,
                    sep,
                    prefix_ids: Vec::new(),
                };
                if !prefix.is_empty() {
                    let mut scratch = EncodeScratch::default();
                    let ids = Self::wordpiece_ids(&kind, &segmenter, prefix, &mut scratch)?;
                    if let Kind::WordPiece { prefix_ids, .. } = &mut kind {
                        *prefix_ids = ids.into_iter().map(|(id, _)| id).collect();
                    }
                }
                (kind, pad_id, Some(unk_id))
            }
        };
        Ok(Self {
            kind,
            segmenter,
            max_length,
            prefix: prefix.to_string(),
            pad_id,
            unk_id,
        })
    }

    /// The id used for padding.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The id of the unknown token, if the vocabulary has one.
    pub fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }

    /// The maximum tokens per post, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The segmenter, shared with evidence computation.
    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    fn wordpiece_ids(
        kind: &Kind,
        segmenter: &Segmenter,
        text: &str,
        scratch: &mut EncodeScratch,
    ) -> Result<Vec<(u32, Range<u32>)>> {
        let Kind::WordPiece { model, .. } = kind else {
            unreachable!("wordpiece_ids is only called for WordPiece encoders")
        };
        scratch.words.clear();
        segmenter.words_into(text, &mut scratch.segment, &mut scratch.words)?;
        let mut out = Vec::with_capacity(scratch.words.len() * 2);
        for word in &scratch.words {
            let pieces = model
                .tokenize(&text[word.clone()])
                .map_err(|e| Error::Tokenizer(e.to_string()))?;
            let span = word.start as u32..word.end as u32;
            out.extend(pieces.into_iter().map(|t| (t.id, span.clone())));
        }
        Ok(out)
    }

    /// Encodes one normalised post, truncated to the maximum length.
    pub fn encode(&self, text: &str, scratch: &mut EncodeScratch) -> Result<Encoded> {
        match &self.kind {
            Kind::Json(tokenizer) => {
                let input = format!("{}{}", self.prefix, text);
                let enc = tokenizer
                    .encode(input.as_str(), true)
                    .map_err(|e| Error::Tokenizer(e.to_string()))?;
                let shift = self.prefix.len();
                let offsets = enc
                    .get_offsets()
                    .iter()
                    .zip(enc.get_special_tokens_mask())
                    .map(|(&(s, e), &special)| {
                        if special == 1 || e <= shift {
                            0..0
                        } else {
                            (s.max(shift) - shift) as u32..(e - shift) as u32
                        }
                    })
                    .collect();
                Ok(Encoded {
                    ids: enc.get_ids().to_vec(),
                    offsets,
                })
            }
            Kind::WordPiece {
                cls,
                sep,
                prefix_ids,
                ..
            } => {
                let body = Self::wordpiece_ids(&self.kind, &self.segmenter, text, scratch)?;
                // The prefix is truncated too: the whole sequence never exceeds max_length
                // (found by fuzzing: a long prefix overflowed the position embeddings).
                let prefix = &prefix_ids[..prefix_ids.len().min(self.max_length - 2)];
                let room = self.max_length - 2 - prefix.len();
                let mut ids = Vec::with_capacity(room.min(body.len()) + 2 + prefix.len());
                let mut offsets = Vec::with_capacity(ids.capacity());
                ids.push(*cls);
                offsets.push(0..0);
                ids.extend_from_slice(prefix);
                offsets.extend(prefix.iter().map(|_| 0..0));
                for (id, span) in body.into_iter().take(room) {
                    ids.push(id);
                    offsets.push(span);
                }
                ids.push(*sep);
                offsets.push(0..0);
                Ok(Encoded { ids, offsets })
            }
        }
    }
}

/// Normaliser plus encoder: everything before the model, shared by inference and training.
pub struct Preprocessor {
    /// The normaliser from `patrol.json`.
    pub normalizer: crate::normalize::Normalizer,
    /// The tokenizer.
    pub encoder: TextEncoder,
}

impl Preprocessor {
    /// Normalises and encodes posts in parallel, one scratch space per rayon worker.
    pub fn encode_all<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Encoded>> {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map_init(EncodeScratch::default, |scratch, text| {
                let normalized = self.normalizer.normalize_str(text.as_ref());
                self.encoder.encode(&normalized, scratch)
            })
            .collect()
    }
}

/// `[UNK]` tokens and all tokens (without `[CLS]`/`[SEP]`) over encoded posts.
pub fn unk_counts(encoded: &[Encoded], unk: u32) -> (usize, usize) {
    encoded.iter().fold((0, 0), |(u, n), e| {
        (
            u + e.ids.iter().filter(|&&id| id == unk).count(),
            n + e.ids.len().saturating_sub(2),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_prefix_never_exceeds_max_length() {
        let vocab = crate::placeholder::char_vocab("queryこんにちは:".chars()).into_bytes();
        let source = TokenizerSource::LinderaWordPiece(vocab);
        for max_length in [4, 5, 8, 12] {
            let enc = TextEncoder::new(&source, max_length, "query: query: ").unwrap();
            let e = enc
                .encode("こんにちは", &mut EncodeScratch::default())
                .unwrap();
            assert!(e.ids.len() <= max_length, "{max_length}: {}", e.ids.len());
            assert_eq!(e.ids.len(), e.offsets.len());
        }
    }
}
