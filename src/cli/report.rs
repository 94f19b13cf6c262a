//! `patrol report`: an IHC-ready CSV and a review page from scan output.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use patrol::report::ihc::{self, CsvEncoding};
use patrol::report::{html, load, Fields};

use super::Exit;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Scan output (JSONL), written with `--keep-fields` (and `--explain`, `--job-ad` for the
    /// evidence and missing-item columns).
    pub scan: PathBuf,
    /// The scan's error records (`--errors FILE`), counted on the page.
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Write the IHC CSV here.
    #[arg(long)]
    pub ihc: Option<PathBuf>,
    /// Write the review page here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// The CSV's encoding.
    #[arg(long, value_enum, default_value_t = CsvEncoding::Utf8Bom)]
    pub encoding: CsvEncoding,
    /// Characters of text in the CSV's 本文 column.
    #[arg(long, default_value_t = 200)]
    pub truncate: usize,
    /// Field (dotted path) of the kept input that holds the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Field of the kept input that holds the post's address.
    #[arg(long, default_value = "url")]
    pub url_field: String,
    /// Field of the kept input that holds the post's time.
    #[arg(long, default_value = "created_at")]
    pub time_field: String,
    /// The model name shown on the page.
    #[arg(long, default_value = "patrol")]
    pub model_name: String,
}

fn create(path: &PathBuf) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::new(
        File::create(path).with_context(|| path.display().to_string())?,
    ))
}

pub fn run(args: ReportArgs) -> anyhow::Result<Exit> {
    if args.ihc.is_none() && args.html.is_none() {
        anyhow::bail!("nothing to write: give --ihc FILE, --html FILE or both");
    }
    let fields = Fields {
        text: args.text_field,
        url: args.url_field,
        time: args.time_field,
    };
    let loaded = load(&args.scan, args.errors.as_deref(), &fields)?;
    let labels: Vec<String> = loaded
        .hits
        .first()
        .map(|h| h.scores.iter().map(|(l, _)| l.clone()).collect())
        .unwrap_or_else(|| {
            patrol::DEFAULT_LABELS
                .iter()
                .map(|l| l.to_string())
                .collect()
        });
    if let Some(path) = &args.ihc {
        let mut out = create(path)?;
        ihc::write(
            &mut out,
            &loaded.hits,
            &labels,
            args.truncate,
            args.encoding,
        )?;
        out.flush()?;
    }
    if let Some(path) = &args.html {
        let data = html::data(&loaded, &labels, &args.model_name, args.truncate);
        let mut out = create(path)?;
        out.write_all(html::page(&data).as_bytes())?;
        out.flush()?;
    }
    note!(
        "patrol: report of {} hits from {} records ({} errors)",
        loaded.hits.len(),
        loaded.scored + loaded.errors,
        loaded.errors
    );
    Ok(Exit::Ok)
}
