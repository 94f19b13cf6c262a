//! `patrol dataset build|stats|check-copying`.

use std::path::PathBuf;

use anyhow::Context;
use patrol::dataset::provenance::{
    excluded_references, page_key, read_exclusions, read_references, Excerpts, COPY_RUN,
};
use patrol::dataset::{self, BuildOptions};

use super::Exit;

#[derive(clap::Subcommand, Debug)]
pub enum DatasetCommand {
    /// Build train/valid/test (and sample.jsonl) from the written posts, and the held-out
    /// style-valid/style-test splits from theirs.
    Build {
        /// Folders of written posts (repeatable).
        #[arg(long, default_values = ["datasets/raw/written", "datasets/raw/grounded"])]
        raw: Vec<PathBuf>,
        /// Output folder.
        #[arg(long, default_value = "datasets")]
        out: PathBuf,
        /// Seed for augmentation and splits.
        #[arg(long, default_value_t = 20261129)]
        seed: u64,
        #[command(flatten)]
        provenance: ProvenanceArgs,
    },
    /// Print the counts tables and check every dataset rule (exit 1 when one breaks).
    Stats {
        /// Folder holding train/valid/test.jsonl.
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
        #[command(flatten)]
        provenance: ProvenanceArgs,
    },
    /// Fail when a written post shares a run of 12 or more characters (after normalisation)
    /// with an excerpt its writer read.
    CheckCopying {
        /// Folder of excerpts (`*.txt`, searched recursively), kept outside the repository.
        #[arg(long)]
        references: PathBuf,
        /// Written batches (`*.jsonl`).
        files: Vec<PathBuf>,
    },
}

/// Where the references and the exclusion list are.
#[derive(clap::Args, Debug)]
pub struct ProvenanceArgs {
    /// The pages behind each batch.
    #[arg(long, default_value = "datasets/raw/REFERENCES.md")]
    references: PathBuf,
    /// The pages of the independent evaluation set, one a line; batches naming one are refused.
    #[arg(long, default_value = "../shared/eval-sources.txt")]
    excluded: PathBuf,
}

/// Prints the exclusion check and whether held-out batches (`sv-*`, `st-*`) share pages with
/// training batches; true when no batch names an excluded page.
fn report_provenance(p: &ProvenanceArgs) -> anyhow::Result<bool> {
    let refs = read_references(&p.references)?;
    let pages: usize = refs.values().map(Vec::len).sum();
    let ok = if p.excluded.is_file() {
        let hits = excluded_references(&refs, &read_exclusions(&p.excluded)?);
        println!(
            "\nexclusion check: {} batches, {pages} references, {} name an excluded page",
            refs.len(),
            hits.len()
        );
        for (batch, page) in &hits {
            println!("  excluded: {batch}: {page}");
        }
        hits.is_empty()
    } else {
        println!(
            "\nexclusion check: not run ({} not found)",
            p.excluded.display()
        );
        true
    };
    let heldout = |b: &str| b.starts_with("sv-") || b.starts_with("st-");
    let keys = |f: &dyn Fn(&str) -> bool| -> std::collections::BTreeSet<String> {
        refs.iter()
            .filter(|(b, _)| f(b))
            .flat_map(|(_, ps)| ps.iter().map(|p| page_key(p)))
            .collect()
    };
    let (held, train) = (keys(&heldout), keys(&|b| !heldout(b)));
    let shared: Vec<&String> = held.intersection(&train).collect();
    println!(
        "held-out references: {} pages, {} of them also behind training batches",
        held.len(),
        shared.len()
    );
    Ok(ok)
}

pub fn run(cmd: DatasetCommand) -> anyhow::Result<Exit> {
    match cmd {
        DatasetCommand::Build {
            raw,
            out,
            seed,
            provenance,
        } => {
            let opts = BuildOptions {
                raw_dirs: raw.clone(),
                out_dir: out.clone(),
                seed,
                references: provenance.references,
                excluded: provenance.excluded,
                ..Default::default()
            };
            let (train, valid, test) = dataset::build(&opts).context("building the dataset")?;
            dataset::write_sample(&out.join("sample.jsonl"), &test, 200, seed)?;
            note!(
                "wrote {} train, {} valid, {} test examples and sample.jsonl to {}",
                train.len(),
                valid.len(),
                test.len(),
                out.display()
            );
            let first = raw.first().cloned().unwrap_or_default();
            let parent = first.parent().unwrap_or(&first);
            for split in ["style-valid", "style-test"] {
                let dir = parent.join(split);
                if dir.is_dir() {
                    let file = out.join(format!("{split}.jsonl"));
                    let n = dataset::build_heldout(&dir, &file)?.len();
                    note!("wrote {n} {split} examples to {}", file.display());
                }
            }
            Ok(Exit::Ok)
        }
        DatasetCommand::Stats { dir, provenance } => {
            let splits = dataset::read_splits(&dir)?;
            print!("{}", dataset::counts_table(&splits));
            let report = dataset::check(&splits);
            let clean = report_provenance(&provenance)?;
            Ok(if report.violations.is_empty() && clean {
                Exit::Ok
            } else {
                Exit::SomeFailed
            })
        }
        DatasetCommand::CheckCopying { references, files } => {
            let excerpts = Excerpts::from_dir(&references)?;
            let (mut posts, mut copied) = (0usize, 0usize);
            for file in &files {
                for (i, ex) in read_posts(file)?.iter().enumerate() {
                    posts += 1;
                    if let Some(run) = excerpts.copied_run(ex) {
                        copied += 1;
                        println!(
                            "{}:{}: shares {run:?} with an excerpt",
                            file.display(),
                            i + 1
                        );
                    }
                }
            }
            println!(
                "checked {posts} posts in {} files against {} excerpt runs of {COPY_RUN} characters: {copied} copying",
                files.len(),
                excerpts.len()
            );
            Ok(if copied == 0 {
                Exit::Ok
            } else {
                Exit::SomeFailed
            })
        }
    }
}

/// The `text` of every line of a JSONL batch.
fn read_posts(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let body =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    body.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l)
                .with_context(|| format!("{}: line {}", path.display(), i + 1))?;
            v["text"]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("{}: line {}: no text field", path.display(), i + 1))
        })
        .collect()
}
