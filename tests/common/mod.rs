//! Fixtures shared by the integration tests: tiny random-weight models of both tokenizer kinds.

use std::path::{Path, PathBuf};

use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::Tokenizer;

/// A placeholder model with the Lindera + WordPiece tokenizer (`vocab.txt`).
pub fn wordpiece_model(dir: &Path) -> PathBuf {
    let out = dir.join("wordpiece-model");
    patrol::testing::write_placeholder(&out, 7).expect("placeholder");
    out
}

/// The same weights with a Hugging Face `tokenizer.json` (a small SentencePiece Unigram, as
/// XLM-R uses) in place of `vocab.txt`.
pub fn json_tokenizer_model(dir: &Path) -> PathBuf {
    let out = dir.join("json-model");
    patrol::testing::write_placeholder(&out, 7).expect("placeholder");
    std::fs::remove_file(out.join("vocab.txt")).unwrap();
    std::fs::remove_file(out.join("tokenizer_config.json")).unwrap();
    let mut vocab: Vec<(String, f64)> = ["<s>", "<pad>", "</s>", "<unk>"]
        .iter()
        .map(|t| (t.to_string(), 0.0))
        .collect();
    vocab.push(("▁".into(), -2.0));
    for c in (0x3041u32..=0x30FA)
        .chain(0x21..0x7F)
        .filter_map(char::from_u32)
    {
        vocab.push((c.to_string(), -5.0));
    }
    for w in ["募集", "仕事", "荷物", "▁日給"] {
        vocab.push((w.to_string(), -3.0));
    }
    let model = Unigram::from(vocab, Some(3), false).unwrap();
    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    tokenizer.with_post_processor(Some(
        TemplateProcessing::builder()
            .try_single("<s> $A </s>")
            .unwrap()
            .special_tokens(vec![("<s>", 0), ("</s>", 2)])
            .build()
            .unwrap(),
    ));
    tokenizer.save(out.join("tokenizer.json"), false).unwrap();
    out
}

/// Varied posts, short and long, for engine tests.
pub fn posts() -> Vec<String> {
    let mut v: Vec<String> = [
        "簡単な荷物の受け取りで日給5万、詳細はDMで",
        "今日のアイスおいしい🍨",
        "ﾎﾜｲﾄ案件 即日即金 運びの仕事 詳細はテレグラムで",
        "畑の野菜、手渡しで売ってます",
        "a",
        "課題が殺しに来てる",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("長い投稿です。".repeat(40));
    for i in 0..40 {
        v.push(format!("投稿{i} {}", "テスト".repeat(i % 9 + 1)));
    }
    v
}
