//! Harnesses shared by the `cargo fuzz` targets (`fuzz/`) and the corpus replay test, so the
//! code that was fuzzed is the code CI replays. Each panics only on a broken invariant.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex, OnceLock};

use crate::io::{Format, ReadOptions, RecordReader};
use crate::text::{Normalizer, NormalizerConfig, Preparer, SegmentScratch, TokenizerSource};

/// Encoders by (max length, prefix).
type EncoderCache = HashMap<(usize, &'static str), Arc<Preparer>>;

/// One encoder per (max length, prefix), built once: rebuilding it on every execution made the
/// fuzzer spend most of its time parsing the vocabulary.
fn encoder(max_length: usize, prefix: &'static str) -> Arc<Preparer> {
    static CACHE: OnceLock<Mutex<EncoderCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().expect("encoder cache lock");
    cache
        .entry((max_length, prefix))
        .or_insert_with(|| Arc::new(build_encoder(max_length, prefix)))
        .clone()
}

fn build_encoder(max_length: usize, prefix: &str) -> Preparer {
    static VOCAB: OnceLock<Vec<u8>> = OnceLock::new();
    let vocab = VOCAB.get_or_init(|| {
        let chars = (0x3041u32..=0x30FA)
            .chain(0x20..0x7F)
            .chain(0x4E00..0x4F00)
            .filter_map(char::from_u32);
        super::char_vocab(chars).into_bytes()
    });
    Preparer::new(
        NormalizerConfig::default(),
        &TokenizerSource::LinderaWordPiece(vocab.clone()),
        max_length,
        prefix,
    )
    .expect("the fuzz vocabulary is valid")
}

/// normalise → segment → encode, with options taken from the first bytes.
pub fn pipeline(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((&len, rest)) = rest.split_first() else {
        return;
    };
    let config = NormalizerConfig {
        nfkc: flags & 1 != 0,
        strip_invisible: flags & 2 != 0,
        fold_separators: flags & 4 != 0,
        collapse_punctuation: flags & 8 != 0,
        lowercase: flags & 16 != 0,
        ..Default::default()
    };
    let prefix = if flags & 32 != 0 { "query: " } else { "" };
    let text = String::from_utf8_lossy(rest);
    let normalized = Normalizer::new(config).normalize(&text);
    let n = normalized.text.clone();
    // Every output byte range maps back inside the input, on character boundaries.
    for (i, c) in n.char_indices() {
        if let Some(span) = normalized.original_span(i..i + c.len_utf8()) {
            assert!(
                span.end <= text.len()
                    && text.is_char_boundary(span.start)
                    && text.is_char_boundary(span.end)
            );
        }
    }
    let max_length = 4 + len as usize;
    let enc = encoder(max_length, prefix);
    let prepared = enc
        .prepare_normalized(normalized, true, &mut SegmentScratch::default())
        .expect("preparation never fails on text");
    let tokens = &prepared.tokens;
    assert!(tokens.ids.len() <= max_length.max(4) && tokens.ids.len() >= 2);
    assert_eq!(tokens.ids.len(), tokens.offsets.len());
    for w in &prepared.words {
        assert!(w.start < w.end && w.end <= n.len());
    }
    for o in &tokens.offsets {
        assert!(o.start <= o.end && (o.end as usize) <= n.len());
    }
}

/// The record readers over arbitrary bytes, with format and limits from the first bytes.
pub fn readers(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let format = [Format::Jsonl, Format::Csv, Format::Tsv, Format::Text][(flags & 3) as usize];
    let options = ReadOptions {
        format: Some(format),
        text_field: if flags & 4 != 0 {
            "a.b".into()
        } else {
            "text".into()
        },
        id_field: "id".into(),
        max_line_bytes: if flags & 8 != 0 { 16 } else { 1 << 20 },
        keep_fields: flags & 16 != 0,
        quote: flags & 32 != 0,
        encoding: Default::default(),
    };
    let Ok(reader) = RecordReader::new("fuzz", Box::new(Cursor::new(rest.to_vec())), options, 1, 0)
    else {
        return; // e.g. a CSV without the text column: a clear error, not a crash
    };
    let mut last_offset = 0;
    for item in reader.take(100_000) {
        let offset = match &item {
            Ok(r) => {
                assert!(!r.text.trim().is_empty() && !r.text.contains('\0'));
                r.end_offset
            }
            Err(e) => {
                assert!(!e.reason.is_empty());
                e.end_offset
            }
        };
        assert!(offset >= last_offset && offset as usize <= rest.len());
        last_offset = offset;
    }
}

/// The CSV and TSV readers over arbitrary bytes, with quoting and tight line limits, so that
/// quoted fields spanning lines, running past the limit and running to the end are all
/// exercised: every record or error comes once, offsets only grow, and nothing panics.
pub fn delimited(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let options = ReadOptions {
        format: Some(if flags & 1 == 0 {
            Format::Csv
        } else {
            Format::Tsv
        }),
        text_field: "text".into(),
        id_field: "id".into(),
        max_line_bytes: [8, 32, 256, 1 << 20][((flags >> 1) & 3) as usize],
        keep_fields: flags & 8 != 0,
        quote: flags & 16 != 0,
        encoding: Default::default(),
    };
    // A header the readers accept, then the fuzzed body.
    let header: &[u8] = if flags & 1 == 0 {
        b"id,text\n"
    } else {
        b"id\ttext\n"
    };
    let input = [header, rest].concat();
    let Ok(reader) = RecordReader::new("fuzz", Box::new(Cursor::new(input.clone())), options, 1, 0)
    else {
        return;
    };
    let mut last_offset = 0;
    for item in reader.take(100_000) {
        let (offset, line) = match &item {
            Ok(r) => (r.end_offset, r.line),
            Err(e) => (e.end_offset, e.line),
        };
        assert!(offset >= last_offset && offset as usize <= input.len());
        assert!(line >= 2, "records start after the header");
        last_offset = offset;
    }
}

/// A checkpoint file with arbitrary content: it parses or is refused, and a parsed one is
/// checked against inputs without a panic.
pub fn checkpoint(data: &[u8]) {
    let Ok(c) = serde_json::from_slice::<crate::run::checkpoint::Checkpoint>(data) else {
        return;
    };
    // Fixed inputs only: a fuzzed path could name a device or a FIFO and block.
    let inputs = ["-".to_string(), "/nonexistent/patrol-fuzz".to_string()];
    let _ = c.check_inputs(&inputs);
    let _ = crate::run::checkpoint::open_from(&inputs, &ReadOptions::default(), &c);
}
