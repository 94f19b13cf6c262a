//! `patrol train`.

use std::path::PathBuf;

use patrol::train::{train, TrainConfig};

use super::progress::TrainProgress;
use super::Exit;

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The training configuration (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// Write the model here instead of the config's `output`.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Stop after N epochs, keeping the full run's learning-rate schedule (to compare the first
    /// epochs of a second run with a logged run's `train_log.jsonl`).
    #[arg(long)]
    pub stop_after_epochs: Option<usize>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> anyhow::Result<Exit> {
    let (mut config, text) = TrainConfig::load(&args.config)?;
    if let Some(out) = args.output {
        config.output = out;
    }
    if let Some(n) = args.stop_after_epochs {
        config.train.stop_after_epochs = n;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.train.threads)
        .build()?;
    let mut progress = TrainProgress::new(args.quiet);
    let summary = pool.install(|| train(&config, &text, &mut |p| progress.show(p)))?;
    let best = summary.epochs.iter().rfind(|e| e.best);
    note!(
        "trained {} epochs in {:.0}s; best valid macro-F1 {:.4}; model in {}",
        summary.epochs.len(),
        summary.seconds,
        best.map_or(0.0, |e| e.valid_macro_f1),
        config.output.display()
    );
    Ok(Exit::Ok)
}
