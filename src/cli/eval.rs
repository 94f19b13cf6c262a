//! `patrol eval`.

use std::path::PathBuf;

use anyhow::Context;
use patrol::dataset::{read_examples, Transform};
use patrol::eval::{evaluate, keyword_scores, EvalReport};

use super::{Exit, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Labelled examples in the dataset format.
    #[arg(long)]
    pub input: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Evaluate the keyword baseline instead of a model.
    #[arg(long, conflicts_with = "model")]
    pub keyword_baseline: bool,
    /// Obfuscate every post with this transform first (robustness per transform).
    #[arg(long, value_enum)]
    pub transform: Option<Transform>,
    /// Group the per-group table by the examples' style or by their error kind.
    #[arg(long, value_enum, default_value_t = GroupBy::Style)]
    pub group_by: GroupBy,
}

/// `--group-by` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The style tag.
    Style,
    /// The real-post error kind (examples without one are grouped as `-`).
    Kind,
}

fn print_table(r: &EvalReport) {
    println!(
        "n {}  macro-F1 {:.4}  micro-F1 {:.4}  benign FPR {:.4}",
        r.n, r.macro_f1, r.micro_f1, r.benign_fpr
    );
    println!(
        "\n{:<15} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "label", "precision", "recall", "f1", "pr_auc", "roc_auc", "threshold", "support"
    );
    for (l, m) in &r.labels {
        println!(
            "{l:<15} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>8}",
            m.precision, m.recall, m.f1, m.pr_auc, m.roc_auc, m.threshold, m.support
        );
    }
    println!(
        "\n{:<18} {:>6} {:>9} {:>9}",
        "group", "n", "accuracy", "flag_rate"
    );
    for (s, m) in &r.by_style {
        println!(
            "{s:<18} {:>6} {:>9.4} {:>9.4}",
            m.n, m.accuracy, m.flag_rate
        );
    }
}

pub fn run(args: EvalArgs) -> anyhow::Result<Exit> {
    let examples = read_examples(&args.input)?;
    let texts: Vec<String> = examples
        .iter()
        .enumerate()
        .map(|(i, e)| match args.transform {
            Some(t) => {
                use rand::SeedableRng;
                t.apply(&e.text, &mut rand::rngs::StdRng::seed_from_u64(i as u64))
            }
            None => e.text.clone(),
        })
        .collect();
    let styles: Vec<String> = examples
        .iter()
        .map(|e| match args.group_by {
            GroupBy::Style => e.style.clone(),
            GroupBy::Kind if e.kind.is_empty() => "-".to_string(),
            GroupBy::Kind => e.kind.clone(),
        })
        .collect();
    let (labels, scores, thresholds) = if args.keyword_baseline {
        let labels: Vec<String> = patrol::DEFAULT_LABELS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let scores = texts.iter().map(|t| keyword_scores(t, &labels)).collect();
        let thresholds = vec![0.5; labels.len()];
        (labels, scores, thresholds)
    } else {
        let classifier = args
            .model
            .load(args.model.options())
            .context("loading the model")?;
        let scores = classifier.scores(&texts)?;
        if let Some((unks, tokens)) = scores.unknown_tokens {
            note!(
                "[UNK] rate: {:.5} ({unks} of {tokens} tokens)",
                unks as f64 / tokens.max(1) as f64
            );
        }
        (
            classifier.labels().to_vec(),
            scores.rows,
            classifier.thresholds().to_vec(),
        )
    };
    let gold: Vec<Vec<bool>> = examples
        .iter()
        .map(|e| labels.iter().map(|l| e.labels.contains(l)).collect())
        .collect();
    let report = evaluate(&labels, &gold, &scores, &thresholds, &styles);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(Exit::Ok)
}
