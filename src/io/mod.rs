//! Stages 1 and 8: reading post dumps (JSONL, CSV, TSV, plain text; gzip and zstd) into records,
//! and writing predictions and error records as JSONL.

mod follow;
mod read;
mod write;

pub use follow::FollowReader;
pub use read::{open_input, Format, ReadOptions, Record, RecordError, RecordReader};
pub use write::{write_error, write_prediction};
