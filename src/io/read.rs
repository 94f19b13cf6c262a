use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

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
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            text_field: "text".into(),
            id_field: "id".into(),
            max_line_bytes: 1 << 20,
            keep_fields: false,
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
}

/// Opens a file (or stdin for `-`), decompressing gzip or zstd by magic bytes.
pub fn open_input(path: &str) -> Result<Box<dyn BufRead + Send>> {
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
fn read_capped_line(
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

/// Where a reader stands, and what it needs to make records and errors.
struct Position {
    file: String,
    format: Format,
    options: ReadOptions,
    line: u64,
    offset: u64,
}

impl Position {
    fn error(&self, line: u64, reason: impl Into<String>) -> RecordError {
        RecordError {
            file: self.file.clone(),
            line,
            reason: reason.into(),
            end_offset: self.offset,
        }
    }

    fn check_text(&self, line: u64, text: &str) -> Result<(), RecordError> {
        if text.contains('\0') {
            return Err(self.error(line, "NUL byte in text"));
        }
        if text.trim().is_empty() {
            return Err(self.error(line, "empty text"));
        }
        Ok(())
    }

    fn parse_json(&self, line: u64, text: &str) -> Item {
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
        let id = match lookup(&value, &self.options.id_field) {
            Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
            _ => Value::from(line),
        };
        let fields = match value {
            Value::Object(map) if self.options.keep_fields => Some(map),
            _ => None,
        };
        Ok(Record {
            line,
            end_offset: self.offset,
            id,
            text: body,
            fields,
        })
    }
}

type Item = std::result::Result<Record, RecordError>;

/// JSONL and text: one record per line.
struct Lines {
    reader: Box<dyn BufRead + Send>,
    buf: Vec<u8>,
}

impl Lines {
    fn next(&mut self, at: &mut Position) -> Option<Item> {
        let cap = at.options.max_line_bytes;
        let read = read_capped_line(self.reader.as_mut(), &mut self.buf, cap);
        at.line += 1;
        let line = at.line;
        let (consumed, over) = match read {
            Ok(Some(r)) => r,
            Ok(None) => return None,
            Err(e) => {
                // An unreadable stream (e.g. corrupt gzip) ends this input with one error.
                self.reader = Box::new(std::io::empty());
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
            Err(e) => {
                return Some(Err(
                    at.error(line, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
                ))
            }
        };
        if text.contains('\0') {
            return Some(Err(at.error(line, "NUL byte in line")));
        }
        Some(match at.format {
            Format::Text => at.check_text(line, text).map(|_| Record {
                line,
                end_offset: at.offset,
                id: Value::from(line),
                text: text.to_string(),
                fields: None,
            }),
            _ => at.parse_json(line, text),
        })
    }
}

/// CSV and TSV with a header row.
struct Delimited {
    reader: csv::Reader<Box<dyn BufRead + Send>>,
    text_col: usize,
    id_col: Option<usize>,
    headers: Vec<String>,
}

impl Delimited {
    fn next(&mut self, at: &mut Position) -> Option<Item> {
        let mut record = csv::ByteRecord::new();
        let result = self.reader.read_byte_record(&mut record);
        let pos_line = record.position().map(|p| p.line()).unwrap_or(at.line + 1);
        at.offset = self.reader.position().byte();
        at.line = pos_line;
        match result {
            Ok(false) => None,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(pos_line);
                Some(Err(at.error(line, format!("bad record: {e}"))))
            }
            Ok(true) => Some(self.record(at, pos_line, &record)),
        }
    }

    fn record(&self, at: &Position, line: u64, record: &csv::ByteRecord) -> Item {
        if record.as_slice().len() > at.options.max_line_bytes {
            return Err(at.error(line, "record longer than --max-line-bytes"));
        }
        let field = |i: usize| -> std::result::Result<Option<&str>, RecordError> {
            record
                .get(i)
                .map(|b| {
                    std::str::from_utf8(b).map_err(|e| {
                        at.error(line, format!("invalid UTF-8 at byte {}", e.valid_up_to()))
                    })
                })
                .transpose()
        };
        let text = field(self.text_col)?
            .ok_or_else(|| at.error(line, format!("missing column {:?}", at.options.text_field)))?
            .to_string();
        at.check_text(line, &text)?;
        let id = match self.id_col.map(field).transpose()?.flatten() {
            Some(s) if !s.is_empty() => Value::from(s),
            _ => Value::from(line),
        };
        let fields = if at.options.keep_fields {
            let mut map = serde_json::Map::new();
            for (i, h) in self.headers.iter().enumerate() {
                if let Some(v) = field(i)? {
                    map.insert(h.clone(), Value::from(v));
                }
            }
            Some(map)
        } else {
            None
        };
        Ok(Record {
            line,
            end_offset: at.offset,
            id,
            text,
            fields,
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
        let format = options
            .format
            .or_else(|| Format::from_path(Path::new(file)))
            .unwrap_or(Format::Jsonl);
        let inner = match format {
            Format::Jsonl | Format::Text => Inner::Lines(Lines {
                reader,
                buf: Vec::new(),
            }),
            Format::Csv | Format::Tsv => {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(if format == Format::Csv { b',' } else { b'\t' })
                    .flexible(true)
                    .from_reader(reader);
                let headers: Vec<String> = reader
                    .headers()
                    .map_err(|e| Error::parse(file, format!("header row: {e}")))?
                    .iter()
                    .map(|h| h.trim_start_matches('\u{feff}').to_string())
                    .collect();
                let text_col = headers
                    .iter()
                    .position(|h| *h == options.text_field)
                    .ok_or_else(|| {
                        Error::parse(
                            file,
                            format!("no column {:?} in header {headers:?}", options.text_field),
                        )
                    })?;
                let id_col = headers.iter().position(|h| *h == options.id_field);
                Inner::Delimited(Delimited {
                    reader,
                    text_col,
                    id_col,
                    headers,
                })
            }
        };
        Ok(Self {
            at: Position {
                file: file.to_string(),
                format,
                options,
                line: first_line.saturating_sub(1),
                offset,
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
