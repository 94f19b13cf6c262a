//! One integration test binary (links once): engine, CLI, dataset, training and evaluation.

mod common;

mod cli;
mod consume;
mod dataset;
mod e5_import;
mod engine;
mod fuzz_corpus;
mod hostile;
mod report;
mod serve;
mod stream;
mod train;
