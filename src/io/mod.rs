//! Reading post dumps (JSONL, CSV, TSV, plain text; gzip and zstd) into records, following a
//! growing file, and writing error records.

mod follow;
mod read;
mod write;

pub use follow::FollowReader;
pub use read::{open_input, Format, ReadOptions, Record, RecordError, RecordReader};
pub use write::write_error;
