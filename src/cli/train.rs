//! `patrol train`.

use std::path::PathBuf;

use patrol::train::{train, TrainConfig};

use super::EXIT_OK;

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The training configuration (TOML).
    #[arg(long)]
    pub config: PathBuf,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> anyhow::Result<i32> {
    let (config, text) = TrainConfig::load(&args.config)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.train.threads)
        .build()?;
    let summary = pool.install(|| train(&config, &text, !args.quiet))?;
    let best = summary.epochs.iter().rfind(|e| e.best);
    eprintln!(
        "trained {} epochs in {:.0}s; best valid macro-F1 {:.4}; model in {}",
        summary.epochs.len(),
        summary.seconds,
        best.map_or(0.0, |e| e.valid_macro_f1),
        config.output.display()
    );
    Ok(EXIT_OK)
}
