//! Resumable scans: where a scan stands, what its inputs were, and the lock that keeps two scans
//! off one checkpoint.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::{fnv, open_input, skip_hashed, Format, ReadOptions, RecordReader, FNV_BASIS};

/// Where a scan stands: everything before this input position has been fully written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The scan's inputs, to refuse resuming a different scan.
    pub inputs: Vec<String>,
    /// Index of the input being read.
    pub file_index: usize,
    /// Byte offset (decompressed) in that input just past the last finished record.
    pub offset: u64,
    /// Line number of the last finished record in that input.
    pub line: u64,
    /// Records finished so far, over all inputs.
    pub records: u64,
    /// Bytes of output written for those records.
    pub output_bytes: u64,
    /// Bytes of error records written for those records (when they go to a file).
    pub errors_bytes: u64,
    /// Each input's fingerprint when the scan started (`None` for stdin).
    #[serde(default)]
    pub fingerprints: Vec<Option<Fingerprint>>,
    /// FNV-1a hash of the current input's first `offset` bytes, as read.
    #[serde(default)]
    pub prefix_hash: Option<u64>,
}

/// What identifies an input file's content: its size and a hash of its first MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes on disk.
    pub size: u64,
    /// FNV-1a hash of the first [`FINGERPRINT_BYTES`] bytes on disk.
    pub head_hash: u64,
}

/// Bytes hashed for a fingerprint.
pub const FINGERPRINT_BYTES: u64 = 1 << 20;

impl Fingerprint {
    /// The fingerprint of `path`, or `None` for stdin and other inputs that are not regular
    /// files.
    pub fn of(path: &str) -> Result<Option<Self>> {
        if path == "-" {
            return Ok(None);
        }
        // Only a regular file can be read twice: a FIFO or a device would lose what a
        // fingerprint read.
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_file() {
            return Ok(None);
        }
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut head = Vec::new();
        file.take(FINGERPRINT_BYTES)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path, e))?;
        let head_hash = fnv(FNV_BASIS, &head);
        Ok(Some(Self { size, head_hash }))
    }
}

impl Checkpoint {
    /// The position at the start of a scan of `inputs`; with `fingerprint` (a scan that writes
    /// checkpoints), each input's fingerprint, read once here.
    pub fn start(inputs: &[String], fingerprint: bool) -> Result<Self> {
        let fingerprints = if fingerprint {
            inputs
                .iter()
                .map(|p| Fingerprint::of(p))
                .collect::<Result<_>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            inputs: inputs.to_vec(),
            file_index: 0,
            offset: 0,
            line: 0,
            records: 0,
            output_bytes: 0,
            errors_bytes: 0,
            fingerprints,
            prefix_hash: None,
        })
    }

    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
    }

    /// Refuses a resume of a different scan or of inputs that changed since the checkpoint.
    pub fn check_inputs(&self, inputs: &[String]) -> Result<()> {
        if self.inputs != inputs {
            return Err(Error::Resume(format!(
                "the checkpoint belongs to a scan of {:?}, not {:?}",
                self.inputs, inputs
            )));
        }
        if self.file_index >= inputs.len() {
            return Err(Error::Resume(format!(
                "the checkpoint's input index {} is past the {} inputs",
                self.file_index,
                inputs.len()
            )));
        }
        if self.fingerprints.len() != inputs.len() {
            return Err(Error::Resume(
                "the checkpoint has no fingerprint of its inputs".into(),
            ));
        }
        // An input that was not a regular file (a pipe) has no fingerprint; the prefix hash
        // still checks what was read of it.
        for (path, before) in inputs.iter().zip(&self.fingerprints) {
            let Some(before) = before else { continue };
            let now = Fingerprint::of(path)?;
            if now.as_ref() != Some(before) {
                return Err(Error::Resume(format!(
                    "{path} changed since the checkpoint (size or first MiB differ)"
                )));
            }
        }
        Ok(())
    }

    /// Writes atomically: to a temporary file beside `path`, synced, then renamed over it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        serde_json::to_writer(&mut f, self).map_err(|e| Error::json(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }
}

/// Opens the inputs at a checkpoint's position: earlier inputs are skipped, the current one is
/// read past `offset` bytes (decompressed data is read and discarded up to there).
pub fn open_from(
    inputs: &[String],
    read: &ReadOptions,
    at: &Checkpoint,
) -> Result<Vec<RecordReader>> {
    at.check_inputs(inputs)?;
    let mut readers = Vec::new();
    for (i, path) in inputs.iter().enumerate().skip(at.file_index) {
        if path == "-" {
            return Err(Error::Resume(
                "--resume needs files: stdin cannot be re-read".into(),
            ));
        }
        let format = read.format.or_else(|| Format::from_path(Path::new(path)));
        if matches!(format, Some(Format::Csv | Format::Tsv)) {
            return Err(Error::Resume(format!(
                "{path}: --resume supports JSONL and text inputs; CSV/TSV cannot restart mid-file"
            )));
        }
        let mut reader = open_input(path, read.encoding)?;
        let (line, offset) = if i == at.file_index {
            (at.line + 1, at.offset)
        } else {
            (1, 0)
        };
        let (skipped, hash) =
            skip_hashed(reader.as_mut(), offset).map_err(|e| Error::io(path, e))?;
        if skipped != offset {
            return Err(Error::Resume(format!(
                "{path} is shorter than the checkpoint's offset {offset}"
            )));
        }
        if i == at.file_index && at.prefix_hash.is_some_and(|h| h != hash) {
            return Err(Error::Resume(format!(
                "{path} changed since the checkpoint: its first {offset} bytes differ"
            )));
        }
        readers.push(RecordReader::continuing(
            path,
            reader,
            read.clone(),
            line,
            offset,
            hash,
        )?);
    }
    Ok(readers)
}

/// An advisory lock that keeps two scans off one checkpoint: `<checkpoint>.lock`, held while the
/// scan runs.
pub struct CheckpointLock {
    _file: std::fs::File,
}

impl CheckpointLock {
    /// Takes the lock, or fails at once when another scan holds it.
    pub fn acquire(checkpoint: &Path) -> Result<Self> {
        let mut name = checkpoint.as_os_str().to_owned();
        name.push(".lock");
        let path = std::path::PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Invalid(format!(
                "another scan is using the checkpoint {} (locked through {})",
                checkpoint.display(),
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_past_the_first_mib_but_before_the_offset_is_refused() {
        let dir = std::env::temp_dir().join(format!("patrol-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("in.jsonl");
        let line = "{\"id\":\"x\",\"text\":\"投稿\"}\n";
        let body = line.repeat((3 << 20) / line.len());
        std::fs::write(&path, &body).unwrap();
        let inputs = vec![path.display().to_string()];
        let mut at = Checkpoint::start(&inputs, true).unwrap();
        let offset = (body.len() / 2 / line.len() * line.len()) as u64;
        let mut reader = open_input(&inputs[0], Default::default()).unwrap();
        at.offset = offset;
        at.prefix_hash = Some(skip_hashed(reader.as_mut(), offset).unwrap().1);
        assert!(open_from(&inputs, &ReadOptions::default(), &at).is_ok());
        // Same size, same first MiB, one byte changed before the offset.
        let mut changed = body.into_bytes();
        let at_byte = (offset as usize) - line.len() + 8;
        changed[at_byte] = b'y';
        std::fs::write(&path, &changed).unwrap();
        let err = open_from(&inputs, &ReadOptions::default(), &at)
            .err()
            .unwrap();
        assert!(err.to_string().contains("differ"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
