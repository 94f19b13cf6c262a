#![no_main]
//! The CSV and TSV readers, with quotes and tight line limits, over arbitrary bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| patrol::testing::fuzzing::delimited(data));
