//! Running the engine over many records: `scan` (files and dumps, resumable) and `stream`
//! (records as they arrive, micro-batched, in order). Both score chunks of mixed good and bad
//! records with one helper and write the same output record.

pub mod checkpoint;
mod chunk;
pub mod guard;
mod post;
mod record;
pub mod scan;
mod sink;
pub mod stream;

pub use record::{prediction_fields, write_prediction};
pub use sink::Sink;
