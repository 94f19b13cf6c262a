#![no_main]
//! normalise → segment → tokenize with arbitrary bytes and options.
libfuzzer_sys::fuzz_target!(|data: &[u8]| patrol::testing::fuzzing::pipeline(data));
