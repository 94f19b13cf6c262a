//! Token ids, from a Hugging Face `tokenizer.json` or from WordPiece over Lindera words.

use std::ops::Range;

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::{Model, Tokenizer as HfTokenizer, TruncationParams};

use crate::error::{Error, Result};

/// Special tokens at the head of every WordPiece vocabulary `patrol` writes.
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Which tokenizer a model uses.
pub enum TokenizerSource {
    /// A Hugging Face `tokenizer.json`.
    Json(Vec<u8>),
    /// A WordPiece `vocab.txt` over Lindera words (tohoku-style `mecab` + `wordpiece`).
    LinderaWordPiece(Vec<u8>),
}

/// Token ids of one post, with each token's byte span in the normalised text (empty for special
/// and prefix tokens).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub offsets: Vec<Range<u32>>,
}

enum Kind {
    Json(Box<HfTokenizer>),
    WordPiece {
        model: Box<WordPiece>,
        cls: u32,
        sep: u32,
        prefix_ids: Vec<u32>,
    },
}

/// Turns normalised text (and, for WordPiece, its Lindera words) into token ids.
pub struct Tokenizer {
    kind: Kind,
    max_length: usize,
    prefix: String,
    pad_id: u32,
    unk_id: Option<u32>,
}

fn vocab_id(model: &WordPiece, token: &str) -> Result<u32> {
    model
        .token_to_id(token)
        .ok_or_else(|| Error::tokenizer(format!("vocab.txt has no {token} token")))
}

fn tok_err(e: tokenizers::Error) -> Error {
    Error::Tokenizer(e)
}

impl Tokenizer {
    /// Builds the tokenizer for `source`; `prefix` is prepended to every post, and
    /// `prefix_words` are its Lindera words (WordPiece only).
    pub fn new(
        source: &TokenizerSource,
        max_length: usize,
        prefix: &str,
        prefix_words: &[Range<usize>],
    ) -> Result<Self> {
        let max_length = max_length.max(4);
        let (kind, pad_id, unk_id) = match source {
            TokenizerSource::Json(bytes) => {
                let mut tokenizer = HfTokenizer::from_bytes(bytes).map_err(tok_err)?;
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
                let prefix_ids = wordpiece(&model, prefix, prefix_words)?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                let kind = Kind::WordPiece {
                    model: Box::new(model),
                    cls,
                    sep,
                    prefix_ids,
                };
                (kind, pad_id, Some(unk_id))
            }
        };
        Ok(Self {
            kind,
            max_length,
            prefix: prefix.to_string(),
            pad_id,
            unk_id,
        })
    }

    /// The most tokens one post becomes, special tokens included.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// True when token ids come from Lindera words (so every post is segmented anyway).
    pub fn needs_words(&self) -> bool {
        matches!(self.kind, Kind::WordPiece { .. })
    }

    /// The id used for padding.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// The id of the unknown token, if the vocabulary has one.
    pub fn unk_id(&self) -> Option<u32> {
        self.unk_id
    }

    /// Tokenizes one normalised post (with its words, for WordPiece), truncated to the maximum
    /// length.
    pub fn tokenize(&self, text: &str, words: &[Range<usize>]) -> Result<Tokens> {
        match &self.kind {
            Kind::Json(tokenizer) => {
                let input = format!("{}{}", self.prefix, text);
                let enc = tokenizer.encode(input.as_str(), true).map_err(tok_err)?;
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
                Ok(Tokens {
                    ids: enc.get_ids().to_vec(),
                    offsets,
                })
            }
            Kind::WordPiece {
                model,
                cls,
                sep,
                prefix_ids,
            } => {
                let body = wordpiece(model, text, words)?;
                // The prefix is truncated too: the whole sequence never exceeds max_length
                // (a long prefix would overflow the position embeddings).
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
                Ok(Tokens { ids, offsets })
            }
        }
    }
}

/// WordPiece ids of each word of `text`, each with its word's span.
fn wordpiece(
    model: &WordPiece,
    text: &str,
    words: &[Range<usize>],
) -> Result<Vec<(u32, Range<u32>)>> {
    let mut out = Vec::with_capacity(words.len() * 2);
    for word in words {
        let pieces = model.tokenize(&text[word.clone()]).map_err(tok_err)?;
        let span = word.start as u32..word.end as u32;
        out.extend(pieces.into_iter().map(|t| (t.id, span.clone())));
    }
    Ok(out)
}
