#![no_main]
//! The JSONL, CSV, TSV and text record readers with arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| patrol::testing::fuzzing::readers(data));
