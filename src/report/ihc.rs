//! The IHC-ready export: one CSV row per flagged post, sorted by score within each category, in
//! UTF-8 with a BOM (Excel on a Japanese desk opens it as UTF-8) or in CP932.
//!
//! | column | content |
//! | --- | --- |
//! | 分類 | IHC category of the post's highest-scoring label: 犯罪実行者募集情報 (`recruitment`), 違法情報（薬物） (`drugs`), 重要犯罪密接関連情報 (`serious_crime`) |
//! | 他の分類 | the categories of its other labels, `／`-separated |
//! | 投稿ID | the post's id |
//! | URL | the post's address (the `--url-field`), or empty |
//! | 投稿日時 | the post's time (the `--time-field`), or empty |
//! | スコア | the score of the category's label, three decimals |
//! | 根拠語 | evidence words for that label (scan with `--explain`), `／`-separated |
//! | 欠落項目 | job-ad items missing (scan with `--job-ad`): 氏名・名称, 住所, 連絡先, 業務内容, 就業場所, 賃金, `／`-separated |
//! | 本文 | the text, cut to `--truncate` characters with `…` |

use std::io::Write;

use super::{category, Hit};
use crate::error::{Error, Result};
use crate::jobad::ITEMS;

/// The CSV header.
pub const HEADER: [&str; 9] = [
    "分類",
    "他の分類",
    "投稿ID",
    "URL",
    "投稿日時",
    "スコア",
    "根拠語",
    "欠落項目",
    "本文",
];

/// The file's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark.
    #[default]
    Utf8Bom,
    /// Shift_JIS as Windows writes it; characters it lacks (emoji) become `?`.
    Cp932,
}

fn truncate(text: &str, chars: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(chars) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

/// The row of one hit, as fields.
pub fn row(hit: &Hit, truncate_to: usize) -> Vec<String> {
    let label = hit.labels.first().map_or("", String::as_str);
    let score = hit
        .scores
        .iter()
        .find(|(l, _)| l == label)
        .map_or(0.0, |(_, s)| *s);
    let others: Vec<&str> = hit.labels.iter().skip(1).map(|l| category(l)).collect();
    let words: Vec<&str> = hit
        .evidence
        .iter()
        .filter(|(l, _)| l == label)
        .flat_map(|(_, ws)| ws.iter().map(|(w, _)| w.as_str()))
        .collect();
    let missing: Vec<&str> = ITEMS
        .iter()
        .filter(|i| hit.missing.iter().any(|m| m == i.key()))
        .map(|i| i.japanese())
        .collect();
    vec![
        category(label).to_string(),
        others.join("／"),
        hit.id.clone(),
        hit.url.clone(),
        hit.time.clone(),
        format!("{score:.3}"),
        words.join("／"),
        missing.join("／"),
        truncate(&hit.text, truncate_to),
    ]
}

/// One CSV record as a line (no line end), as the page copies it.
pub fn csv_line(fields: &[String]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(fields);
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

/// The hits in report order: by category in label order, then by score, highest first.
pub fn ordered<'h>(hits: &'h [Hit], labels: &[String]) -> Vec<&'h Hit> {
    let rank = |h: &Hit| {
        h.labels
            .first()
            .and_then(|l| labels.iter().position(|x| x == l))
            .unwrap_or(usize::MAX)
    };
    let mut out: Vec<&Hit> = hits.iter().collect();
    out.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then(b.top_score().total_cmp(&a.top_score()))
    });
    out
}

fn encode(text: &str, encoding: CsvEncoding) -> Vec<u8> {
    match encoding {
        CsvEncoding::Utf8Bom => {
            let mut out = vec![0xEF, 0xBB, 0xBF];
            out.extend_from_slice(text.as_bytes());
            out
        }
        CsvEncoding::Cp932 => {
            let mut out = Vec::with_capacity(text.len());
            let mut buf = [0u8; 4];
            for c in text.chars() {
                let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
                if unmappable {
                    out.push(b'?');
                } else {
                    out.extend_from_slice(&bytes);
                }
            }
            out
        }
    }
}

/// Writes the CSV: the header, then one row per hit in report order, with CRLF line ends.
pub fn write(
    out: &mut dyn Write,
    hits: &[Hit],
    labels: &[String],
    truncate_to: usize,
    encoding: CsvEncoding,
) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let io = |e: csv::Error| Error::io("<csv>", std::io::Error::other(e));
    w.write_record(HEADER).map_err(io)?;
    for hit in ordered(hits, labels) {
        w.write_record(row(hit, truncate_to)).map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::io("<csv>", std::io::Error::other(e.to_string())))?;
    let text = String::from_utf8_lossy(&bytes);
    out.write_all(&encode(&text, encoding))
        .map_err(|e| Error::io("<report>", e))
}
