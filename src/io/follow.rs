use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Reads a file that keeps growing (`tail -f`): at end of file it waits for more data, until
/// `stop` is set.
pub struct FollowReader<R> {
    inner: R,
    stop: Arc<AtomicBool>,
    poll: Duration,
}

impl<R: Read> FollowReader<R> {
    /// Follows `inner`, polling every `poll` at end of file.
    pub fn new(inner: R, stop: Arc<AtomicBool>, poll: Duration) -> Self {
        Self { inner, stop, poll }
    }
}

impl<R: Read> Read for FollowReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n > 0 || buf.is_empty() || self.stop.load(Ordering::SeqCst) {
                return Ok(n);
            }
            std::thread::sleep(self.poll);
        }
    }
}
