use std::io::Write;

use crate::io::RecordError;

/// Writes one error record as JSONL.
pub fn write_error(out: &mut dyn Write, err: &RecordError) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, err)?;
    out.write_all(b"\n")
}
