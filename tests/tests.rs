//! One integration test binary (links once): engine, CLI, dataset, training and evaluation.

mod common;

mod cli;
mod dataset;
mod engine;
mod stream;
mod train;
