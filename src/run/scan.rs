//! `patrol scan`: records in, one output or one error record per record out, in input order.
//! A reader thread parses chunks while the main thread scores the previous one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::checkpoint::Checkpoint;
use super::chunk::score_texts;
use super::record::write_prediction;
use super::sink::Sink;
use crate::engine::Classifier;
use crate::error::{Error, Result};
use crate::io::{open_input, write_error, ReadOptions, Record, RecordError, RecordReader};

/// Options for a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Write only posts with at least one label.
    pub only_flagged: bool,
    /// Records scored together (bounded memory).
    pub chunk_size: usize,
    /// Write a resume checkpoint here every `checkpoint_every` records.
    pub checkpoint: Option<PathBuf>,
    /// Records between checkpoints.
    pub checkpoint_every: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            only_flagged: false,
            chunk_size: 1024,
            checkpoint: None,
            checkpoint_every: 10_000,
        }
    }
}

/// A writer that counts the bytes passed through it.
struct Counting<W> {
    inner: W,
    /// Bytes written so far (starting from the count given at creation).
    count: u64,
}

impl<W: Write> Counting<W> {
    /// Wraps `inner`, starting the count at `start`.
    fn new(inner: W, start: u64) -> Self {
        Self {
            inner,
            count: start,
        }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What a scan did.
#[derive(Debug, Clone, Default)]
pub struct ScanSummary {
    /// Records read (scored plus errors).
    pub read: u64,
    /// Records scored.
    pub scored: u64,
    /// Records that failed.
    pub errors: u64,
    /// Flagged count per label, in the model's label order.
    pub flagged: Vec<(String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

type Item = std::result::Result<Record, RecordError>;

/// Opens every input up front so a missing file fails before any output is written.
pub fn open_all(inputs: &[String], read: &ReadOptions) -> Result<Vec<RecordReader>> {
    inputs
        .iter()
        .map(|path| RecordReader::new(path, open_input(path, read.encoding)?, read.clone(), 1, 0))
        .collect()
}

/// Scores every record of `readers`, writing predictions to `out` and error records to `errors`.
/// `on_progress` is called with the number of records finished after each chunk. `from` is
/// [`Checkpoint::start`] for a new scan, or the checkpoint a resumed scan starts at (with readers
/// from [`super::checkpoint::open_from`]); byte counts go on from it. Before each checkpoint both
/// outputs are synced to disk.
pub fn scan(
    classifier: &Classifier,
    readers: Vec<RecordReader>,
    options: &ScanOptions,
    out: &mut dyn Sink,
    errors: &mut dyn Sink,
    from: Checkpoint,
    on_progress: &mut dyn FnMut(u64),
) -> Result<ScanSummary> {
    let start = Instant::now();
    let mut summary = ScanSummary {
        flagged: classifier.labels().iter().map(|l| (l.clone(), 0)).collect(),
        ..Default::default()
    };
    let mut out = Counting::new(out, from.output_bytes);
    let mut errors = Counting::new(errors, from.errors_bytes);
    let mut position = from;
    let first_file = position.file_index;
    let mut since_checkpoint = 0u64;
    let chunk_size = options.chunk_size.max(1);
    let (tx, rx) = crossbeam_channel::bounded::<Vec<(usize, Item)>>(2);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(chunk_size);
            for (i, reader) in readers.into_iter().enumerate() {
                for item in reader {
                    chunk.push((first_file + i, item));
                    if chunk.len() == chunk_size {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                        if tx.send(full).is_err() {
                            return;
                        }
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
        });
        for chunk in rx.iter() {
            let done = chunk.len() as u64;
            if let Some((file, last)) = chunk.last() {
                position.file_index = *file;
                let hash;
                (position.offset, position.line, hash) = match last {
                    Ok(r) => (r.end_offset, r.line, r.end_hash),
                    Err(e) => (e.end_offset, e.line, e.end_hash),
                };
                position.prefix_hash = Some(hash);
            }
            let items = chunk.into_iter().map(|(_, item)| item).collect();
            // An error (a closed pipe included) ends the scan here; dropping `rx` stops the
            // reader.
            write_chunk(
                classifier,
                items,
                options,
                &mut out,
                &mut errors,
                &mut summary,
            )?;
            since_checkpoint += done;
            if let Some(path) = &options.checkpoint {
                if since_checkpoint >= options.checkpoint_every {
                    since_checkpoint = 0;
                    checkpoint(path, &mut position, &mut out, &mut errors, done)?;
                } else {
                    position.records += done;
                }
            }
            on_progress(done);
        }
        drop(rx);
        Ok(())
    })?;
    out.flush().map_err(|e| Error::io("<output>", e))?;
    if let Some(path) = &options.checkpoint {
        checkpoint(path, &mut position, &mut out, &mut errors, 0)?;
    }
    summary.elapsed = start.elapsed();
    Ok(summary)
}

/// Syncs both outputs to disk, then records the position they cover.
fn checkpoint(
    path: &Path,
    position: &mut Checkpoint,
    out: &mut Counting<&mut dyn Sink>,
    errors: &mut Counting<&mut dyn Sink>,
    done: u64,
) -> Result<()> {
    out.inner.sync().map_err(|e| Error::io("<output>", e))?;
    errors.inner.sync().map_err(|e| Error::io("<errors>", e))?;
    position.records += done;
    position.output_bytes = out.count;
    position.errors_bytes = errors.count;
    position.save(path)
}

/// Scores one chunk and writes it in input order.
fn write_chunk(
    classifier: &Classifier,
    chunk: Vec<Item>,
    options: &ScanOptions,
    out: &mut dyn Write,
    errors: &mut dyn Write,
    summary: &mut ScanSummary,
) -> Result<()> {
    let io_err = |e| Error::io("<output>", e);
    for item in score_texts(classifier, chunk, |r: &Record| r.text.as_str())? {
        summary.read += 1;
        match item {
            Ok((record, pred)) => {
                summary.scored += 1;
                for (slot, (label, _)) in summary.flagged.iter_mut().zip(&pred.scores) {
                    if pred.labels.contains(label) {
                        slot.1 += 1;
                    }
                }
                if !options.only_flagged || !pred.labels.is_empty() {
                    write_prediction(out, &record.id, &pred, record.fields.as_ref())
                        .map_err(io_err)?;
                }
            }
            Err(err) => {
                summary.errors += 1;
                write_error(errors, &err).map_err(|e| Error::io("<errors>", e))?;
            }
        }
    }
    Ok(())
}
