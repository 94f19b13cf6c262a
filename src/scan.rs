//! `patrol scan`: records in, one output or one error record per record out, in input order.
//! A reader thread parses chunks while the main thread scores the previous one.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::classifier::Classifier;
use crate::error::{Error, Result};
use crate::io::{
    open_input, write_error, write_prediction, ReadOptions, Record, RecordError, RecordReader,
};

/// Options for a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// How records are read.
    pub read: ReadOptions,
    /// Write only posts with at least one label.
    pub only_flagged: bool,
    /// Records scored together (bounded memory).
    pub chunk_size: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            read: ReadOptions::default(),
            only_flagged: false,
            chunk_size: 1024,
        }
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
    /// The output consumer went away (a broken pipe is not an error).
    pub broken_pipe: bool,
}

type Item = std::result::Result<Record, RecordError>;

/// Opens every input up front so a missing file fails before any output is written.
pub fn open_all(inputs: &[String], read: &ReadOptions) -> Result<Vec<RecordReader>> {
    inputs
        .iter()
        .map(|path| RecordReader::new(path, open_input(path)?, read.clone(), 1, 0))
        .collect()
}

fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Scores every record of `readers`, writing predictions to `out` and error records to `errors`.
/// `on_progress` is called with the number of records finished after each chunk.
pub fn scan(
    classifier: &Classifier,
    readers: Vec<RecordReader>,
    options: &ScanOptions,
    out: &mut dyn Write,
    errors: &mut dyn Write,
    on_progress: &mut dyn FnMut(u64),
) -> Result<ScanSummary> {
    let start = Instant::now();
    let mut summary = ScanSummary {
        flagged: classifier.labels().iter().map(|l| (l.clone(), 0)).collect(),
        ..Default::default()
    };
    let chunk_size = options.chunk_size.max(1);
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Item>>(2);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            let mut chunk = Vec::with_capacity(chunk_size);
            for item in readers.into_iter().flatten() {
                chunk.push(item);
                if chunk.len() == chunk_size
                    && tx
                        .send(std::mem::replace(
                            &mut chunk,
                            Vec::with_capacity(chunk_size),
                        ))
                        .is_err()
                {
                    return;
                }
            }
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
        });
        for chunk in rx.iter() {
            let done = chunk.len() as u64;
            match write_chunk(classifier, chunk, options, out, errors, &mut summary) {
                Ok(()) => {}
                Err(Error::Io { source, .. }) if is_broken_pipe(&source) => {
                    summary.broken_pipe = true;
                    break;
                }
                Err(e) => return Err(e),
            }
            on_progress(done);
        }
        drop(rx);
        Ok(())
    })?;
    if !summary.broken_pipe {
        if let Err(e) = out.flush() {
            if !is_broken_pipe(&e) {
                return Err(Error::io("<output>", e));
            }
            summary.broken_pipe = true;
        }
    }
    summary.elapsed = start.elapsed();
    Ok(summary)
}

/// Scores one chunk and writes it in input order.
pub fn write_chunk(
    classifier: &Classifier,
    chunk: Vec<Item>,
    options: &ScanOptions,
    out: &mut dyn Write,
    errors: &mut dyn Write,
    summary: &mut ScanSummary,
) -> Result<()> {
    let texts: Vec<&str> = chunk
        .iter()
        .filter_map(|item| item.as_ref().ok().map(|r| r.text.as_str()))
        .collect();
    let mut preds = classifier.classify(&texts)?.into_iter();
    let io_err = |e| Error::io("<output>", e);
    for item in &chunk {
        summary.read += 1;
        match item {
            Ok(record) => {
                let pred = preds.next().expect("one prediction per record");
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
                write_error(errors, err).map_err(|e| Error::io("<errors>", e))?;
            }
        }
    }
    Ok(())
}
