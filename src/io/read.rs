use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use super::delimited::Delimited;
use super::encoding::{decode, invalid_utf8, TextEncoding};
use crate::error::{Error, Result};

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One post per line.
    Text,
}

impl Format {
    /// The format implied by a file name (`.jsonl`, `.csv.gz`, `.txt.zst`, ...).
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let name = name
            .strip_suffix(".gz")
            .or_else(|| name.strip_suffix(".zst"))
            .unwrap_or(&name);
        let ext = name.rsplit_once('.')?.1;
        match ext {
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "txt" | "text" => Some(Format::Text),
            _ => None,
        }
    }
}

/// How records are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Format; `None` guesses from the file name and falls back to JSONL.
    pub format: Option<Format>,
    /// Dotted path to the text field (JSONL) or the column name (CSV/TSV).
    pub text_field: String,
    /// Dotted path or column of the id; the line number when absent.
    pub id_field: String,
    /// Lines longer than this are error records.
    pub max_line_bytes: usize,
    /// Keep the original fields for pass-through.
    pub keep_fields: bool,
    /// TSV only: treat `"` as a quote (CSV always does).
    pub quote: bool,
    /// The input's text encoding.
    pub encoding: TextEncoding,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            text_field: "text".into(),
            id_field: "id".into(),
            max_line_bytes: 1 << 20,
            keep_fields: false,
            quote: false,
            encoding: TextEncoding::Utf8,
        }
    }
}

/// One post read from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line number where the record starts.
    pub line: u64,
    /// Byte offset just past the record in the (decompressed) input.
    pub end_offset: u64,
    /// FNV-1a hash of the input's bytes up to `end_offset` (JSONL and text).
    pub end_hash: u64,
    /// The id: from the id field, else the line number.
    pub id: Value,
    /// The post's text.
    pub text: String,
    /// The original fields, when asked for.
    pub fields: Option<serde_json::Map<String, Value>>,
}

/// A record that could not be read; it is reported, counted, and never silently dropped.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordError {
    /// The input file (`-` for stdin).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
    /// Byte offset just past the bad record.
    #[serde(skip)]
    pub end_offset: u64,
    /// FNV-1a hash of the input's bytes up to `end_offset` (JSONL and text).
    #[serde(skip)]
    pub end_hash: u64,
}

/// Opens a file (or stdin for `-`), decompressing gzip or zstd by magic bytes, then decoding
/// `encoding` to UTF-8.
pub fn open_input(path: &str, encoding: TextEncoding) -> Result<Box<dyn BufRead + Send>> {
    decode(open_raw(path)?, encoding).map_err(|e| Error::io(path, e))
}

fn open_raw(path: &str) -> Result<Box<dyn BufRead + Send>> {
    let raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).map_err(|e| Error::io(path, e))?)
    };
    let mut buffered = BufReader::with_capacity(1 << 16, raw);
    let magic = buffered.fill_buf().map_err(|e| Error::io(path, e))?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(buffered)))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = zstd::Decoder::with_buffer(buffered).map_err(|e| Error::io(path, e))?;
        Box::new(BufReader::new(decoder))
    } else {
        Box::new(buffered)
    })
}

/// Reads one line (without its `\n`) into `buf`, keeping at most `cap + 1` bytes; returns
/// `(bytes consumed, had more than cap)`, or `None` at end of input.
pub(super) fn read_capped_line(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<(usize, bool)>> {
    buf.clear();
    let mut consumed = 0;
    let mut over = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((consumed > 0).then_some((consumed, over)));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let content = &chunk[..if done { take - 1 } else { take }];
        let room = (cap + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&content[..content.len().min(room)]);
        over |= buf.len() > cap;
        reader.consume(take);
        consumed += take;
        if done {
            return Ok(Some((consumed, over)));
        }
    }
}

/// Follows a dotted path (`user.post.text`) into a JSON value.
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Reads one JSON record from `bytes` (a message body, say) with the checks a JSONL line gets:
/// UTF-8, an object, a string text field that is not empty, a string or number id (absent:
/// `default_id`). Errors name `source` and `line`.
pub fn parse_json_record(
    source: &str,
    line: u64,
    bytes: &[u8],
    options: &ReadOptions,
    default_id: Value,
) -> Item {
    let position = Position {
        file: source.to_string(),
        format: Format::Jsonl,
        options: options.clone(),
        line,
        offset: 0,
        hash: FNV_BASIS,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| position.error(line, super::encoding::invalid_utf8(bytes, e)))?;
    position.parse_json_with(line, text, default_id)
}

/// Where a reader stands, and what it needs to make records and errors.
pub(super) struct Position {
    pub(super) file: String,
    pub(super) format: Format,
    pub(super) options: ReadOptions,
    pub(super) line: u64,
    pub(super) offset: u64,
    pub(super) hash: u64,
}

impl Position {
    pub(super) fn error(&self, line: u64, reason: impl Into<String>) -> RecordError {
        RecordError {
            file: self.file.clone(),
            line,
            reason: reason.into(),
            end_offset: self.offset,
            end_hash: self.hash,
        }
    }

    pub(super) fn check_text(&self, line: u64, text: &str) -> Result<(), RecordError> {
        if text.contains('\0') {
            return Err(self.error(line, "NUL byte in text"));
        }
        if text.trim().is_empty() {
            return Err(self.error(line, "empty text"));
        }
        Ok(())
    }

    fn parse_json(&self, line: u64, text: &str) -> Item {
        self.parse_json_with(line, text, Value::from(line))
    }

    fn parse_json_with(&self, line: u64, text: &str, default_id: Value) -> Item {
        if text.trim().is_empty() {
            return Err(self.error(line, "empty line"));
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| self.error(line, format!("bad JSON: {e}")))?;
        if !value.is_object() {
            return Err(self.error(line, "not a JSON object"));
        }
        let field = &self.options.text_field;
        let body = match lookup(&value, field) {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(self.error(line, format!("field {field:?} is not a string"))),
            None => return Err(self.error(line, format!("missing text field {field:?}"))),
        };
        self.check_text(line, &body)?;
        let id_field = &self.options.id_field;
        let id = match lookup(&value, id_field) {
            Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
            None => default_id,
            Some(other) => {
                let kind = match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Array(_) => "an array",
                    _ => "an object",
                };
                return Err(self.error(
                    line,
                    format!("id field {id_field:?} is {kind}: expected a string or a number"),
                ));
            }
        };
        let fields = match value {
            Value::Object(map) if self.options.keep_fields => Some(map),
            _ => None,
        };
        Ok(Record {
            line,
            end_offset: self.offset,
            end_hash: self.hash,
            id,
            text: body,
            fields,
        })
    }
}

pub(super) type Item = std::result::Result<Record, RecordError>;

/// FNV-1a offset basis: the hash of no bytes.
pub const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// Folds `bytes` into an FNV-1a hash.
pub fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(hash, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// A reader that hashes every byte consumed from it.
struct Hashed {
    inner: Box<dyn BufRead + Send>,
    hash: u64,
}

impl std::io::Read for Hashed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash = fnv(self.hash, &buf[..n]);
        Ok(n)
    }
}

impl BufRead for Hashed {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        // The bytes consumed are the head of the buffer `fill_buf` just returned.
        if let Ok(buf) = self.inner.fill_buf() {
            self.hash = fnv(self.hash, &buf[..amt.min(buf.len())]);
        }
        self.inner.consume(amt);
    }
}

/// Reads and discards `n` bytes of `reader`; returns the bytes skipped and their FNV-1a hash.
pub fn skip_hashed(reader: &mut dyn BufRead, n: u64) -> std::io::Result<(u64, u64)> {
    let (mut skipped, mut hash) = (0u64, FNV_BASIS);
    while skipped < n {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min((n - skipped) as usize);
        hash = fnv(hash, &buf[..take]);
        reader.consume(take);
        skipped += take as u64;
    }
    Ok((skipped, hash))
}

/// JSONL and text: one record per line.
struct Lines {
    reader: Hashed,
    buf: Vec<u8>,
}

impl Lines {
    fn next(&mut self, at: &mut Position) -> Option<Item> {
        let cap = at.options.max_line_bytes;
        let read = read_capped_line(&mut self.reader, &mut self.buf, cap);
        at.hash = self.reader.hash;
        at.line += 1;
        let line = at.line;
        let (consumed, over) = match read {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                // An unreadable stream (e.g. corrupt gzip) ends this input with one error. When
                // nothing of a new line was read (a bad checksum or trailing garbage after the
                // last line), it is attributed to the last line read.
                self.reader.inner = Box::new(std::io::empty());
                if self.buf.is_empty() && line > 1 {
                    at.line -= 1;
                    let last = at.line;
                    return Some(Err(
                        at.error(last, format!("read error after this line: {e}"))
                    ));
                }
                return Some(Err(at.error(line, format!("read error: {e}"))));
            }
        };
        at.offset += consumed as u64;
        if over {
            return Some(Err(at.error(
                line,
                format!("line longer than --max-line-bytes ({cap} bytes)"),
            )));
        }
        let mut bytes = self.buf.as_slice();
        if bytes.last() == Some(&b'\r') {
            bytes = &bytes[..bytes.len() - 1];
        }
        let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => return Some(Err(at.error(line, invalid_utf8(bytes, e)))),
        };
        if text.contains('\0') {
            return Some(Err(at.error(line, "NUL byte in line")));
        }
        Some(match at.format {
            Format::Text => at.check_text(line, text).map(|_| Record {
                line,
                end_offset: at.offset,
                end_hash: at.hash,
                id: Value::from(line),
                text: text.to_string(),
                fields: None,
            }),
            _ => at.parse_json(line, text),
        })
    }
}

enum Inner {
    Lines(Lines),
    Delimited(Delimited),
}

/// An iterator of records and record errors over one input.
pub struct RecordReader {
    at: Position,
    inner: Inner,
}

impl RecordReader {
    /// Reads `reader`, named `file` in messages, starting at line `first_line` and byte `offset`.
    pub fn new(
        file: &str,
        reader: Box<dyn BufRead + Send>,
        options: ReadOptions,
        first_line: u64,
        offset: u64,
    ) -> Result<Self> {
        Self::continuing(file, reader, options, first_line, offset, FNV_BASIS)
    }

    /// Like [`RecordReader::new`], for an input whose first `offset` bytes were already read and
    /// hashed to `hash` (a resumed scan).
    pub fn continuing(
        file: &str,
        reader: Box<dyn BufRead + Send>,
        options: ReadOptions,
        first_line: u64,
        offset: u64,
        hash: u64,
    ) -> Result<Self> {
        let format = options
            .format
            .or_else(|| Format::from_path(Path::new(file)))
            .unwrap_or(Format::Jsonl);
        let inner = match format {
            Format::Jsonl | Format::Text => Inner::Lines(Lines {
                reader: Hashed {
                    inner: reader,
                    hash,
                },
                buf: Vec::new(),
            }),
            Format::Csv | Format::Tsv => {
                Inner::Delimited(Delimited::new(file, reader, format, &options)?)
            }
        };
        // A header row is the first line of the input.
        let (header_lines, header_bytes) = match &inner {
            Inner::Delimited(d) => (1, d.header_bytes),
            Inner::Lines(_) => (0, 0),
        };
        Ok(Self {
            at: Position {
                file: file.to_string(),
                format,
                options,
                line: first_line.saturating_sub(1) + header_lines,
                offset: offset + header_bytes,
                hash,
            },
            inner,
        })
    }
}

impl Iterator for RecordReader {
    type Item = Item;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Lines(lines) => lines.next(&mut self.at),
            Inner::Delimited(delimited) => delimited.next(&mut self.at),
        }
    }
}
