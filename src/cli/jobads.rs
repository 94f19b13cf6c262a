//! `patrol eval-job-ads`: the job-ad completeness check against annotated posts.

use std::path::PathBuf;

use patrol::eval::{evaluate_job_ads, item_keys, read_job_ad_examples, Counts, JobAdReport};

use super::Exit;

#[derive(clap::Args, Debug)]
pub struct EvalJobAdsArgs {
    /// Annotated posts (`datasets/raw/jobads/*.jsonl`); several are measured together.
    #[arg(long, required = true)]
    pub input: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn row(name: &str, c: &Counts) {
    println!(
        "| {name} | {:.3} | {:.3} | {} | {} | {} |",
        c.precision(),
        c.recall(),
        c.tp,
        c.fp,
        c.fn_
    );
}

fn print_table(r: &JobAdReport) {
    println!("posts {}\n", r.n);
    println!(
        "| what | precision | recall | tp | fp | fn |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    );
    row("reads as a job ad", &r.job_ad);
    for key in item_keys() {
        row(key, &r.items[key]);
    }
    row("anonymous contact", &r.anonymous_contact);
    let share = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "\nflagged (a job ad, an item missing, an anonymous contact): {}; of those labelled recruitment: {} ({:.1} %)",
        r.flagged,
        r.flagged_recruitment,
        share(r.flagged_recruitment, r.flagged)
    );
    println!(
        "recruitment posts read as job ads: {}; of those flagged: {:.1} %",
        r.recruitment_job_ads,
        share(r.flagged_recruitment, r.recruitment_job_ads)
    );
}

pub fn run(args: EvalJobAdsArgs) -> anyhow::Result<Exit> {
    let mut examples = Vec::new();
    for path in &args.input {
        examples.extend(read_job_ad_examples(path)?);
    }
    let report = evaluate_job_ads(&examples);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(Exit::Ok)
}
