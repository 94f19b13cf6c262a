//! Reading post dumps (JSONL, CSV, TSV, plain text; gzip and zstd) into records, following a
//! growing file, and writing error records.

mod delimited;
mod encoding;
mod follow;
mod read;
mod write;

pub use encoding::{decode, TextEncoding};
pub use follow::{FollowEvent, FollowReader};
pub use read::{
    fnv, open_input, parse_json_record, skip_hashed, Format, ReadOptions, Record, RecordError,
    RecordReader, FNV_BASIS,
};
pub use write::write_error;
