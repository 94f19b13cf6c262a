#![no_main]
//! normalise → segment → encode with arbitrary bytes and options.
libfuzzer_sys::fuzz_target!(|data: &[u8]| patrol::fuzzing::pipeline(data));
