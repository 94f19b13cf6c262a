use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// What a followed file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowEvent {
    /// It shrank below what was read: it was truncated, and is read again from its start.
    Truncated,
    /// Its path now names another file (rotation): the new one is read from its start.
    Replaced,
}

/// Reads a file that keeps growing (`tail -F`): at end of file it waits for more data, until
/// `stop` is set. When the file is truncated or replaced, it reads the new content from its
/// start and reports the event.
pub struct FollowReader {
    path: PathBuf,
    file: File,
    inode: (u64, u64),
    position: u64,
    stop: Arc<AtomicBool>,
    poll: Duration,
    on_event: Box<dyn FnMut(FollowEvent) + Send>,
}

fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl FollowReader {
    /// Follows `path`, polling every `poll` at end of file; `on_event` hears of truncation and
    /// replacement.
    pub fn open(
        path: &Path,
        stop: Arc<AtomicBool>,
        poll: Duration,
        on_event: Box<dyn FnMut(FollowEvent) + Send>,
    ) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let inode = identity(&file.metadata().map_err(|e| Error::io(path, e))?);
        Ok(Self {
            path: path.to_path_buf(),
            file,
            inode,
            position: 0,
            stop,
            poll,
            on_event,
        })
    }

    /// At end of file: starts over on a truncated or replaced file.
    fn check_rotation(&mut self) -> std::io::Result<()> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            return Ok(()); // gone for now (mid-rotation); keep the open file
        };
        if identity(&meta) != self.inode {
            self.file = File::open(&self.path)?;
            self.inode = identity(&self.file.metadata()?);
            self.position = 0;
            (self.on_event)(FollowEvent::Replaced);
        } else if meta.len() < self.position {
            std::io::Seek::seek(&mut self.file, std::io::SeekFrom::Start(0))?;
            self.position = 0;
            (self.on_event)(FollowEvent::Truncated);
        }
        Ok(())
    }
}

impl Read for FollowReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.file.read(buf)?;
            self.position += n as u64;
            if n > 0 || buf.is_empty() || self.stop.load(Ordering::SeqCst) {
                return Ok(n);
            }
            std::thread::sleep(self.poll);
            self.check_rotation()?;
        }
    }
}
