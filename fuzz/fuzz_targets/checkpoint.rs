#![no_main]
//! Checkpoint files with arbitrary content: parsed or refused, never a panic.
libfuzzer_sys::fuzz_target!(|data: &[u8]| patrol::testing::fuzzing::checkpoint(data));
