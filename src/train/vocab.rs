//! The student's vocabulary: WordPiece trained with the `tokenizers` trainer over Lindera words
//! of normalised training text, topped up so every character of the training data, the JIS
//! level 1 and 2 kanji, kana and common emoji exist both word-initially and as `##` pieces.

use std::collections::{BTreeSet, HashSet};

use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainerBuilder};
use tokenizers::{AddedToken, Model, Trainer};

use crate::error::{Error, Result};
use crate::text::{SegmentScratch, Segmenter, SPECIAL_TOKENS};

/// JIS X 0208 kanji, levels 1 and 2 (rows 16 to 84), decoded from EUC-JP.
fn jis_kanji() -> Vec<char> {
    let mut out = Vec::new();
    for row in 0xB0u8..=0xF4 {
        for cell in 0xA1u8..=0xFE {
            let bytes = [row, cell];
            let (s, _, bad) = encoding_rs::EUC_JP.decode(&bytes);
            if !bad {
                out.extend(s.chars().filter(|c| !c.is_ascii()));
            }
        }
    }
    out
}

/// Characters every vocabulary carries, beyond those seen in training.
pub fn base_alphabet() -> BTreeSet<char> {
    let ranges = [
        (0x21u32, 0x7E),    // ASCII
        (0x3041, 0x3096),   // hiragana
        (0x30A1, 0x30FA),   // katakana
        (0x30FC, 0x30FC),   // prolonged sound mark
        (0x3001, 0x3002),   // 、。
        (0x300C, 0x3011),   // brackets
        (0x25A0, 0x25EF),   // geometric shapes (◯ masks)
        (0x2600, 0x27BF),   // misc symbols and dingbats
        (0x1F300, 0x1F64F), // pictographs and emoticons
        (0x1F680, 0x1F6FF), // transport
        (0x1F900, 0x1F9FF), // supplemental symbols
    ];
    let mut set: BTreeSet<char> = ranges
        .iter()
        .flat_map(|&(a, b)| (a..=b).filter_map(char::from_u32))
        .collect();
    set.extend(jis_kanji());
    set
}

/// Trains a WordPiece vocabulary of about `size` entries on normalised `texts`; returns the
/// `vocab.txt` contents (one token per line, id = line number).
pub fn train_vocab(texts: &[String], size: usize, min_frequency: u64) -> Result<String> {
    let segmenter = Segmenter::ipadic()?;
    let mut alphabet = base_alphabet();
    for t in texts {
        alphabet.extend(t.chars().filter(|c| !c.is_whitespace()));
    }
    let mut trainer = WordPieceTrainerBuilder::new()
        .vocab_size(size)
        .min_frequency(min_frequency)
        .show_progress(false)
        .special_tokens(
            SPECIAL_TOKENS
                .iter()
                .map(|t| AddedToken::from(t.to_string(), true))
                .collect(),
        )
        .build();
    let tok_err = Error::Tokenizer;
    trainer
        .feed(texts.iter(), |text| {
            let mut spans = Vec::new();
            segmenter
                .words_into(text, &mut SegmentScratch::default(), &mut spans)
                .map_err(|e| -> tokenizers::Error { e.to_string().into() })?;
            Ok(spans.into_iter().map(|r| text[r].to_string()).collect())
        })
        .map_err(tok_err)?;
    let mut model = WordPiece::default();
    trainer.train(&mut model).map_err(tok_err)?;
    let mut vocab: Vec<(String, u32)> = model.get_vocab().into_iter().collect();
    vocab.sort_by_key(|(_, id)| *id);
    let mut tokens: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    let mut seen: HashSet<String> = tokens.iter().cloned().collect();
    for (tok, _) in vocab {
        if seen.insert(tok.clone()) {
            tokens.push(tok);
        }
    }
    for c in alphabet {
        for tok in [c.to_string(), format!("##{c}")] {
            if seen.insert(tok.clone()) {
                tokens.push(tok);
            }
        }
    }
    Ok(tokens.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jis_kanji_cover_both_levels() {
        let k = jis_kanji();
        assert!(k.len() > 6000, "{}", k.len());
        assert!(k.contains(&'闇') && k.contains(&'薬'));
    }
}
