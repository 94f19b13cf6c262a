//! Outputs that can be made durable: a checkpoint counts only bytes that are on disk.

use std::io::Write;

/// A writer whose written bytes can be flushed to stable storage.
pub trait Sink: Write {
    /// Flushes, then syncs the bytes to disk where the sink is a file (a no-op otherwise).
    fn sync(&mut self) -> std::io::Result<()>;
}

impl Sink for std::io::BufWriter<std::fs::File> {
    fn sync(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.get_ref().sync_data()
    }
}

impl Sink for std::fs::File {
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
}

impl Sink for std::io::BufWriter<std::io::StdoutLock<'_>> {
    fn sync(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

impl Sink for std::io::Stderr {
    fn sync(&mut self) -> std::io::Result<()> {
        self.flush()
    }
}

impl Sink for Vec<u8> {
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn sync(&mut self) -> std::io::Result<()> {
        (**self).sync()
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn sync(&mut self) -> std::io::Result<()> {
        (**self).sync()
    }
}
