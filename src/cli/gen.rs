//! `patrol gen-dump`: a deterministic dump with 1 % malformed lines, for tests and benchmarks.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::Exit;

#[derive(clap::Args, Debug)]
pub struct GenArgs {
    /// Lines to write.
    #[arg(long)]
    pub lines: u64,
    /// Seed; the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (`.gz` and `.zst` are compressed); stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: GenArgs) -> anyhow::Result<Exit> {
    let mut sink: Box<dyn Write> = match &args.out {
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
        Some(p) => {
            let file = BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            );
            match p.extension().and_then(|e| e.to_str()) {
                Some("gz") => Box::new(flate2::write::GzEncoder::new(
                    file,
                    flate2::Compression::fast(),
                )),
                Some("zst") => Box::new(zstd::Encoder::new(file, 3)?.auto_finish()),
                _ => Box::new(file),
            }
        }
    };
    let stats = patrol::testing::write_dump(&mut sink, args.lines, args.seed)?;
    sink.flush()?;
    drop(sink);
    note!(
        "wrote {} lines, {} of them malformed",
        stats.lines,
        stats.bad
    );
    Ok(Exit::Ok)
}
