//! `patrol scan`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use patrol::io::Format;
use patrol::run::checkpoint::{open_from, Checkpoint, CheckpointLock};
use patrol::run::guard::check_paths;
use patrol::run::scan::{open_all, scan, ScanOptions, ScanSummary};
use patrol::run::Sink;

use super::{Exit, ModelArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Input files; stdin when none or `-`.
    pub files: Vec<String>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Input format (default: from the extension, else JSONL).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write output here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Write error records (JSONL) here instead of stderr.
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Write only posts with at least one label.
    #[arg(long)]
    pub only_flagged: bool,
    /// Add word evidence for flagged posts.
    #[arg(long)]
    pub explain: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Write a resume checkpoint (atomically) to this file.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Records between checkpoints.
    #[arg(long, default_value_t = 10_000)]
    pub checkpoint_every: u64,
    /// Continue from --checkpoint, appending to --output (and --errors).
    #[arg(long, requires = "checkpoint", requires = "output")]
    pub resume: bool,
}

/// Opens an output file: new, or (resuming) cut back to what the checkpoint covers and appended.
/// A resume refuses an output shorter than the checkpoint says: it was cut after the checkpoint,
/// and appending would leave a gap.
fn open_output(path: &PathBuf, resume_at: Option<u64>) -> anyhow::Result<Box<dyn Sink>> {
    let file = match resume_at {
        None => File::create(path).with_context(|| format!("creating {}", path.display()))?,
        Some(len) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            let have = f.metadata()?.len();
            if have < len {
                anyhow::bail!(
                    "cannot resume: {} is {have} bytes, shorter than the {len} the checkpoint \
                     counts; it was cut after the checkpoint",
                    path.display()
                );
            }
            f.set_len(len)?;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0))?;
            f
        }
    };
    Ok(Box::new(BufWriter::new(file)))
}

fn summary_line(name: &str, untrained: bool, s: &ScanSummary) -> String {
    let flagged: Vec<String> = s.flagged.iter().map(|(l, n)| format!("{l} {n}")).collect();
    let rate = s.read as f64 / s.elapsed.as_secs_f64().max(1e-9);
    let warning = if untrained {
        " [UNTRAINED placeholder model: scores are meaningless]"
    } else {
        ""
    };
    format!(
        "patrol: model {name}{warning}\npatrol: read {} posts, scored {}, errors {}; flagged: {}; {:.2}s ({rate:.0} posts/s)",
        s.read,
        s.scored,
        s.errors,
        flagged.join(", "),
        s.elapsed.as_secs_f64(),
    )
}

pub fn run(args: ScanArgs) -> anyhow::Result<Exit> {
    let options = args.model.options().with_evidence(args.explain);
    let classifier = args.model.load(options).context("loading the model")?;
    let files = if args.files.is_empty() {
        vec!["-".to_string()]
    } else {
        args.files.clone()
    };
    let read = args.read.options(args.format);
    let mut outputs: Vec<(&str, &std::path::Path)> = Vec::new();
    if let Some(p) = &args.output {
        outputs.push(("--output", p));
    }
    if let Some(p) = &args.errors {
        outputs.push(("--errors", p));
    }
    if let Some(p) = &args.checkpoint {
        outputs.push(("--checkpoint", p));
    }
    check_paths(&files, &outputs)?;
    let _lock = args
        .checkpoint
        .as_deref()
        .map(CheckpointLock::acquire)
        .transpose()?;
    let from = match (&args.checkpoint, args.resume) {
        (Some(path), true) => Checkpoint::load(path)?,
        _ => Checkpoint::start(&files, args.checkpoint.is_some())?,
    };
    let readers = if args.resume {
        open_from(&files, &read, &from)?
    } else {
        open_all(&files, &read)?
    };
    let resume_at = |bytes: u64| args.resume.then_some(bytes);
    let mut out: Box<dyn Sink> = match &args.output {
        Some(p) => open_output(p, resume_at(from.output_bytes))?,
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut errors: Box<dyn Sink> = match &args.errors {
        Some(p) => open_output(p, resume_at(from.errors_bytes))?,
        None => Box::new(std::io::stderr()),
    };
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
    } else {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} posts  {per_sec}  {elapsed}")
                .expect("valid template"),
        );
        bar
    };
    if classifier.is_untrained() {
        bar.suspend(|| note!("patrol: warning: the model is an UNTRAINED placeholder"));
    }
    let opts = ScanOptions {
        only_flagged: args.only_flagged,
        checkpoint: args.checkpoint.clone(),
        checkpoint_every: args.checkpoint_every.max(1),
        ..Default::default()
    };
    let summary = scan(
        &classifier,
        readers,
        &opts,
        &mut out,
        &mut errors,
        from,
        &mut |n| bar.inc(n),
    )?;
    errors.flush().context("writing error records")?;
    bar.finish_and_clear();
    if !args.quiet || summary.errors > 0 || classifier.is_untrained() {
        note!(
            "{}",
            summary_line(classifier.name(), classifier.is_untrained(), &summary)
        );
    }
    Ok(Exit::from_errors(summary.errors))
}
