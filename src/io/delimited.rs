//! CSV and TSV with a header row, read one physical line at a time so that memory stays bounded
//! by `--max-line-bytes`: a quoted field may span lines, but not past that limit nor past the
//! end of the input. Such a field becomes one error record naming the line where it started,
//! and reading goes on at the next physical line. TSV treats `"` as an ordinary character unless
//! quoting is asked for.

use std::collections::VecDeque;
use std::io::BufRead;

use serde_json::Value;

use super::encoding::invalid_utf8;
use super::read::{read_capped_line, Item, Position};
use super::{Format, ReadOptions, Record};
use crate::error::{Error, Result};

/// Bytes of a bad value quoted in a message at most.
const QUOTED: usize = 200;

/// One physical line: its bytes (at most the cap plus one), bytes consumed, and whether it was
/// longer than the cap.
struct Physical {
    bytes: Vec<u8>,
    consumed: usize,
    over: bool,
}

pub(super) struct Delimited {
    reader: Box<dyn BufRead + Send>,
    delimiter: u8,
    quoting: bool,
    text_col: usize,
    id_col: Option<usize>,
    headers: Vec<String>,
    /// Lines read ahead while looking for a closing quote, to read again after a failure.
    pending: VecDeque<Physical>,
    /// Bytes of the header row.
    pub(super) header_bytes: u64,
}

/// A shortened, printable form of a value for messages.
fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(QUOTED)]);
    if bytes.len() > QUOTED {
        format!("{s}…")
    } else {
        s.into_owned()
    }
}

/// True when `line` leaves a quoted field open, starting from `open`.
fn ends_open(line: &[u8], mut open: bool) -> bool {
    for &b in line {
        if b == b'"' {
            open = !open;
        }
    }
    open
}

impl Delimited {
    /// Reads the header row (capped like any record) and finds the text and id columns.
    pub(super) fn new(
        file: &str,
        mut reader: Box<dyn BufRead + Send>,
        format: Format,
        options: &ReadOptions,
    ) -> Result<Self> {
        let cap = options.max_line_bytes;
        let mut buf = Vec::new();
        let read =
            read_capped_line(reader.as_mut(), &mut buf, cap).map_err(|e| Error::io(file, e))?;
        let Some((header_bytes, over)) = read else {
            return Err(Error::parse(file, "no header row"));
        };
        if over {
            return Err(Error::parse(
                file,
                format!("header row longer than --max-line-bytes ({cap} bytes)"),
            ));
        }
        let delimiter = if format == Format::Csv { b',' } else { b'\t' };
        let quoting = format == Format::Csv || options.quote;
        let headers: Vec<String> = parse_fields(&buf, delimiter, quoting)
            .map_err(|e| Error::parse(file, format!("header row: {e}")))?
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .to_string()
            })
            .collect();
        let text_col = headers
            .iter()
            .position(|h| *h == options.text_field)
            .ok_or_else(|| {
                let names: Vec<String> = headers
                    .iter()
                    .take(20)
                    .map(|h| shown(h.as_bytes()))
                    .collect();
                Error::parse(
                    file,
                    format!(
                        "no column {:?} in the header (columns: {names:?})",
                        options.text_field
                    ),
                )
            })?;
        let id_col = headers.iter().position(|h| *h == options.id_field);
        Ok(Self {
            reader,
            delimiter,
            quoting,
            text_col,
            id_col,
            headers,
            pending: VecDeque::new(),
            header_bytes: header_bytes as u64,
        })
    }

    fn physical(&mut self, cap: usize) -> std::io::Result<Option<Physical>> {
        if let Some(p) = self.pending.pop_front() {
            return Ok(Some(p));
        }
        let mut bytes = Vec::new();
        Ok(
            read_capped_line(self.reader.as_mut(), &mut bytes, cap)?.map(|(consumed, over)| {
                Physical {
                    bytes,
                    consumed,
                    over,
                }
            }),
        )
    }

    pub(super) fn next(&mut self, at: &mut Position) -> Option<Item> {
        let cap = at.options.max_line_bytes;
        let first = match self.physical(cap) {
            Ok(Some(p)) => p,
            Ok(None) => return None,
            Err(e) => {
                at.line += 1;
                self.reader = Box::new(std::io::empty());
                self.pending.clear();
                return Some(Err(at.error(at.line, format!("read error: {e}"))));
            }
        };
        at.line += 1;
        let start = at.line;
        if first.over {
            at.offset += first.consumed as u64;
            return Some(Err(at.error(
                start,
                format!("record longer than --max-line-bytes ({cap} bytes)"),
            )));
        }
        // The physical lines of this record, kept whole until it is complete, so that a failure
        // can read them again; `len` is the record's length once joined.
        let mut len = first.bytes.len();
        let mut open = self.quoting && ends_open(&first.bytes, false);
        let mut taken = vec![first];
        while open {
            // End of input (or a read error, reported by the next call) closes nothing.
            let next = match self.physical(cap) {
                Ok(Some(p)) => p,
                Ok(None) | Err(_) => Physical {
                    bytes: Vec::new(),
                    consumed: 0,
                    over: false,
                },
            };
            let ended = next.consumed == 0;
            if ended || next.over || len + 1 + next.bytes.len() > cap {
                // The quote runs past the limit or the input: one error for the start line,
                // then the lines after it are read again as records of their own.
                let first = taken.remove(0);
                at.offset += first.consumed as u64;
                if !ended {
                    taken.push(next);
                }
                for p in taken.into_iter().rev() {
                    self.pending.push_front(p);
                }
                let why = if ended {
                    "the end of the input"
                } else {
                    "--max-line-bytes"
                };
                return Some(Err(at.error(
                    start,
                    format!("a quoted field opened on this line runs past {why}"),
                )));
            }
            open = ends_open(&next.bytes, true);
            len += 1 + next.bytes.len();
            taken.push(next);
        }
        at.line += taken.len() as u64 - 1;
        at.offset += taken.iter().map(|p| p.consumed as u64).sum::<u64>();
        let lines: Vec<Vec<u8>> = taken.into_iter().map(|p| p.bytes).collect();
        let mut record = lines.join(&b'\n');
        if record.ends_with(b"\r") {
            record.pop();
        }
        Some(self.record(at, start, &record))
    }

    fn record(&self, at: &Position, line: u64, bytes: &[u8]) -> Item {
        let fields = parse_fields(bytes, self.delimiter, self.quoting)
            .map_err(|e| at.error(line, format!("bad record: {e}")))?;
        let field = |i: usize| -> std::result::Result<Option<&str>, _> {
            fields
                .get(i)
                .map(|b| std::str::from_utf8(b).map_err(|e| at.error(line, invalid_utf8(b, e))))
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
            end_hash: at.hash,
            id,
            text,
            fields,
        })
    }
}

/// The fields of one record (the bytes of whole physical lines), with the csv crate.
fn parse_fields(
    bytes: &[u8],
    delimiter: u8,
    quoting: bool,
) -> std::result::Result<Vec<Vec<u8>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => Ok(record.iter().map(<[u8]>::to_vec).collect()),
        Ok(false) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}
