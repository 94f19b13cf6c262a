//! A tiny random-weight model in the engine's layout: the stand-in default model before training,
//! and the fixture the tests build. It is marked `untrained` wherever it shows.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

use crate::error::Result;
use crate::model::bert::Config;
use crate::model::{
    init_weights, save_model_dir, tensors_of, BertClassifier, PatrolConfig, DEFAULT_LABELS,
};
use crate::text::{TokenizerSource, SPECIAL_TOKENS};

/// A small BERT configuration for a vocabulary of `vocab_size`.
pub fn tiny_config(vocab_size: usize, hidden: usize, layers: usize) -> Config {
    crate::model::bert::config(vocab_size, hidden, layers, 2, hidden * 2, 128)
}

/// A WordPiece vocabulary: special tokens, then each of `chars` as a word and as a `##` piece.
pub fn char_vocab(chars: impl IntoIterator<Item = char>) -> String {
    let mut seen = std::collections::BTreeSet::new();
    let mut out: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    for c in chars {
        if seen.insert(c) {
            out.push(c.to_string());
            out.push(format!("##{c}"));
        }
    }
    out.join("\n") + "\n"
}

/// Writes an untrained model with random weights (seeded by `seed`) to `dir`.
pub fn write_placeholder(dir: &Path, seed: u64) -> Result<()> {
    let chars = (0x3041u32..=0x30FA)
        .chain(0x20..0x7F)
        .chain(
            "募集高収入即日仕事荷物受取運送金円万野菜氷薬殺爆弾銃報酬連絡詳細今日明日東京大阪"
                .chars()
                .map(u32::from),
        )
        .filter_map(char::from_u32)
        .filter(|c| !c.is_whitespace());
    let vocab = char_vocab(chars);
    let vocab_size = vocab.lines().count();
    let config = tiny_config(vocab_size, 32, 1);
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    BertClassifier::load(vb, &config, DEFAULT_LABELS.len(), 0)?;
    init_weights(&varmap, seed, 0.5)?;
    let labels: Vec<String> = DEFAULT_LABELS.iter().map(|s| s.to_string()).collect();
    let patrol = PatrolConfig {
        name: "patrol-placeholder (UNTRAINED, random weights)".into(),
        untrained: true,
        ..Default::default()
    };
    let tensors = tensors_of(&varmap);
    save_model_dir(
        dir,
        &config,
        &labels,
        &patrol,
        &tensors,
        false,
        &TokenizerSource::LinderaWordPiece(vocab.into_bytes()),
    )
}
