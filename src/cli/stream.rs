//! `patrol stream`: JSONL in on stdin (or a growing file), scores out in input order, flushed
//! after every micro-batch.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use patrol::io::{
    decode, write_error, FollowEvent, FollowReader, Format, RecordError, RecordReader,
};
use patrol::run::stream::{Post, Shutdown, Stream, StreamOptions};
use patrol::run::write_prediction;

use super::{Exit, ModelArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct StreamArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Tail this file as it grows instead of reading stdin.
    #[arg(long)]
    pub follow: Option<PathBuf>,
    /// Most posts per micro-batch.
    #[arg(long, default_value_t = 32)]
    pub max_batch: usize,
    /// Longest a post waits for its batch, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub max_wait_ms: u64,
    /// Micro-batches scored at the same time (default: one per core, or `--threads`).
    #[arg(long)]
    pub in_flight: Option<usize>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Write error records (JSONL) here instead of stderr.
    #[arg(long)]
    pub errors: Option<PathBuf>,
}

/// What travels with a text through the stream: the record's id and kept fields.
type Tag = (
    serde_json::Value,
    Option<serde_json::Map<String, serde_json::Value>>,
);

pub fn run(args: StreamArgs) -> anyhow::Result<Exit> {
    let classifier = args.model.load_shared(args.model.options())?;
    let shutdown = Arc::new(Shutdown::default());
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, shutdown.stop.clone())?;
    }
    let (name, source): (String, Box<dyn std::io::BufRead + Send>) = match &args.follow {
        Some(path) => {
            let shown = path.display().to_string();
            let follow = FollowReader::open(
                path,
                shutdown.stop.clone(),
                Duration::from_millis(50),
                Box::new(move |event| match event {
                    FollowEvent::Truncated => {
                        note!("patrol: {shown} was truncated; reading it from the start")
                    }
                    FollowEvent::Replaced => {
                        note!("patrol: {shown} was replaced; reading the new file from the start")
                    }
                }),
            )?;
            (path.display().to_string(), Box::new(BufReader::new(follow)))
        }
        None => ("-".into(), Box::new(BufReader::new(std::io::stdin()))),
    };
    let read = args.read.options(Some(Format::Jsonl));
    let source = decode(source, read.encoding)?;
    let reader = RecordReader::new(&name, source, read, 1, 0)?;
    let mut options = StreamOptions {
        max_batch: args.max_batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        ..Default::default()
    };
    if let Some(n) = args.in_flight.or(args.model.threads) {
        options.in_flight = n;
    }
    let mut stream: Stream<Tag, RecordError> =
        Stream::with_shutdown(classifier.clone(), options, Some(shutdown.clone()));
    let tx = stream.sender();
    stream.close();
    let reader_shutdown = shutdown.clone();
    // The reader may stay blocked on stdin after a signal; the process exits without it.
    std::thread::spawn(move || {
        for item in reader {
            reader_shutdown.accepted.fetch_add(1, Ordering::SeqCst);
            let input = item.map(|r| ((r.id, r.fields), Post::new(r.text)));
            if tx.send(input).is_err() || reader_shutdown.stop.load(Ordering::SeqCst) {
                break;
            }
        }
    });
    let mut out = std::io::LineWriter::new(std::io::stdout().lock());
    let mut errors: Box<dyn Write> = match &args.errors {
        Some(p) => Box::new(BufWriter::new(File::create(p)?)),
        None => Box::new(std::io::stderr()),
    };
    let (mut scored, mut failed) = (0u64, 0u64);
    let rx = stream.receiver().clone();
    for result in rx.iter() {
        match result {
            Ok(((id, fields), pred)) => {
                scored += 1;
                write_prediction(&mut out, &id, &pred, fields.as_ref())?;
            }
            Err(err) => {
                failed += 1;
                write_error(&mut errors, &err)?;
            }
        }
        if rx.is_empty() {
            out.flush()?;
            errors.flush()?;
        }
    }
    out.flush()?;
    errors.flush()?;
    drop(rx);
    stream.finish()?;
    note!("patrol: stream scored {scored}, errors {failed}");
    Ok(Exit::from_errors(failed))
}
