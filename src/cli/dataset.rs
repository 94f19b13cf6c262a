//! `patrol dataset build|stats`.

use std::path::PathBuf;

use anyhow::Context;
use patrol::dataset::{self, BuildOptions};

use super::{EXIT_OK, EXIT_SOME_FAILED};

#[derive(clap::Subcommand, Debug)]
pub enum DatasetCommand {
    /// Build train/valid/test (and sample.jsonl) from the written posts.
    Build {
        /// Folder of written posts.
        #[arg(long, default_value = "datasets/raw/written")]
        raw: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "datasets")]
        out: PathBuf,
        /// Seed for augmentation and splits.
        #[arg(long, default_value_t = 20261129)]
        seed: u64,
    },
    /// Print the counts tables and check every dataset rule (exit 1 when one breaks).
    Stats {
        /// Folder holding train/valid/test.jsonl.
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
    },
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<i32> {
    match cmd {
        DatasetCommand::Build { raw, out, seed } => {
            let opts = BuildOptions {
                raw_dir: raw,
                out_dir: out.clone(),
                seed,
                ..Default::default()
            };
            let (train, valid, test) = dataset::build(&opts).context("building the dataset")?;
            dataset::write_sample(&out.join("sample.jsonl"), &test, 200, seed)?;
            eprintln!(
                "wrote {} train, {} valid, {} test examples and sample.jsonl to {}",
                train.len(),
                valid.len(),
                test.len(),
                out.display()
            );
            Ok(EXIT_OK)
        }
        DatasetCommand::Stats { dir } => {
            let splits = dataset::read_splits(&dir)?;
            print!("{}", dataset::counts_table(&splits));
            let report = dataset::check(&splits);
            Ok(if report.violations.is_empty() {
                EXIT_OK
            } else {
                EXIT_SOME_FAILED
            })
        }
    }
}
