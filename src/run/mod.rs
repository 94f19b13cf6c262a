//! Running the engine over many records: `scan` (files and dumps, resumable) and `stream`
//! (records as they arrive, micro-batched, in order). Both score chunks of mixed good and bad
//! records with one helper and write the same output record.

mod chunk;
mod record;
pub mod scan;
pub mod stream;

pub use record::write_prediction;
