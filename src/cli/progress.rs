//! Training progress: a bar on a terminal, plain lines otherwise (so a `nohup` log shows where a
//! run is), nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use patrol::train::Progress;

/// Seconds between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(30);

/// Draws [`Progress`] reports.
pub enum TrainProgress {
    Quiet,
    Bar(Option<ProgressBar>),
    Lines { last: Instant, epoch_start: Instant },
}

impl TrainProgress {
    /// A bar when stderr is a terminal, plain lines when it is not, nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() {
            Self::Bar(None)
        } else {
            Self::Lines {
                last: Instant::now(),
                epoch_start: Instant::now(),
            }
        }
    }

    /// Shows one report.
    pub fn show(&mut self, p: Progress) {
        match (self, p) {
            (Self::Quiet, _) => {}
            (Self::Bar(bar), Progress::EpochStart { epoch, batches }) => {
                let b = ProgressBar::new(batches as u64);
                b.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix} {bar:30} {pos}/{len} batches  loss {msg}  {elapsed}/{eta}",
                    )
                    .expect("valid template"),
                );
                b.set_prefix(epoch.to_string());
                *bar = Some(b);
            }
            (
                Self::Bar(Some(bar)),
                Progress::Step {
                    loss,
                    examples_per_sec,
                    ..
                },
            ) => {
                bar.set_message(format!("{loss:.4}  {examples_per_sec:.0} ex/s"));
                bar.inc(1);
            }
            (Self::Lines { epoch_start, .. }, Progress::EpochStart { .. }) => {
                *epoch_start = Instant::now();
            }
            (
                Self::Lines { last, epoch_start },
                Progress::Step {
                    epoch,
                    done,
                    batches,
                    loss,
                    examples_per_sec,
                },
            ) if last.elapsed() >= LINE_EVERY || done == batches => {
                *last = Instant::now();
                let per_batch = epoch_start.elapsed().as_secs_f64() / done.max(1) as f64;
                let left = per_batch * (batches - done) as f64;
                note!(
                    "epoch {epoch} step {done}/{batches} loss {loss:.4} {examples_per_sec:.0} ex/s eta {}",
                    clock(left)
                );
            }
            (this, Progress::EpochEnd(e)) => {
                if let Self::Bar(bar) = this {
                    if let Some(b) = bar.take() {
                        b.finish_and_clear();
                    }
                }
                note!(
                    "epoch {}: loss {:.4}, {:.0} ex/s, valid macro-F1 {:.4}, benign FPR {:.4}{}",
                    e.epoch,
                    e.train_loss,
                    e.examples_per_sec,
                    e.valid_macro_f1,
                    e.valid_benign_fpr,
                    if e.best { " (best)" } else { "" }
                );
            }
            _ => {}
        }
    }
}

/// `h:mm:ss`.
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
