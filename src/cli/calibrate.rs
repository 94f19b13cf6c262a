//! `patrol calibrate`: fits a temperature per label on one labelled split and reports the
//! expected calibration error before and after, on it and on another split.

use std::path::PathBuf;

use anyhow::Context;
use patrol::dataset::read_examples;
use patrol::eval::{ece, fit_platt, fit_temperature, platt, scale, ECE_BINS};

use super::{Exit, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The split the temperatures are fitted on (e.g. datasets/style-valid.jsonl).
    #[arg(long)]
    pub fit: PathBuf,
    /// The split the result is measured on (e.g. datasets/style-test.jsonl).
    #[arg(long)]
    pub test: PathBuf,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<Exit> {
    let classifier = args
        .model
        .load(args.model.options())
        .context("loading the model")?;
    let labels = classifier.labels().to_vec();
    let mut splits = Vec::new();
    for path in [&args.fit, &args.test] {
        let examples = read_examples(path)?;
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let rows = classifier.scores(&texts)?.rows;
        splits.push((path.display().to_string(), examples, rows));
    }
    println!(
        "ECE over {ECE_BINS} equal-width bins; temperature T and Platt (a, b) fitted on {} by log-likelihood\n",
        splits[0].0
    );
    println!("| label | T | a | b | fit: raw | T | Platt | test: raw | T | Platt |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut macro_ece = [0.0f64; 6];
    for (li, label) in labels.iter().enumerate() {
        let column =
            |(_, examples, rows): &(String, Vec<patrol::dataset::Example>, Vec<Vec<f32>>)| {
                let scores: Vec<f32> = rows.iter().map(|r| r[li]).collect();
                let truth: Vec<bool> = examples.iter().map(|e| e.labels.contains(label)).collect();
                (scores, truth)
            };
        let (fit_s, fit_t) = column(&splits[0]);
        let (test_s, test_t) = column(&splits[1]);
        let t = fit_temperature(&fit_s, &fit_t);
        let ab = fit_platt(&fit_s, &fit_t);
        let by_t = |s: &[f32]| s.iter().map(|&x| scale(x, t)).collect::<Vec<_>>();
        let by_ab = |s: &[f32]| s.iter().map(|&x| platt(x, ab)).collect::<Vec<_>>();
        let e = [
            ece(&fit_s, &fit_t),
            ece(&by_t(&fit_s), &fit_t),
            ece(&by_ab(&fit_s), &fit_t),
            ece(&test_s, &test_t),
            ece(&by_t(&test_s), &test_t),
            ece(&by_ab(&test_s), &test_t),
        ];
        for (m, v) in macro_ece.iter_mut().zip(e) {
            *m += v / labels.len() as f64;
        }
        println!(
            "| {label} | {t:.3} | {:.3} | {:.3} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
            ab.0, ab.1, e[0], e[1], e[2], e[3], e[4], e[5]
        );
    }
    println!(
        "| macro | | | | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} |",
        macro_ece[0], macro_ece[1], macro_ece[2], macro_ece[3], macro_ece[4], macro_ece[5]
    );
    println!("\ntest split: {}", splits[1].0);
    Ok(Exit::Ok)
}
