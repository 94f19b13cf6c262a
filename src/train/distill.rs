//! Distillation: the transfer set (training posts, augmented copies, unlabelled benign text;
//! never valid or test) and its soft targets from a teacher model.

use rand::seq::IndexedRandom;
use rand::SeedableRng;

use super::config::DistillSection;
use crate::dataset::{Example, Transform};
use crate::engine::Classifier;
use crate::error::{Error, Result};

/// Extends `texts` and `targets` (gold rows of the training split) into the transfer set, and
/// replaces every target with `gold_weight * gold + (1 - gold_weight) * teacher` (the teacher's
/// score alone for unlabelled text).
pub fn transfer_set(
    d: &DistillSection,
    train: &[Example],
    texts: &mut Vec<String>,
    targets: &mut Vec<Vec<f32>>,
    seed: u64,
) -> Result<()> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xD157);
    let mut gold: Vec<Option<Vec<f32>>> = targets.iter().cloned().map(Some).collect();
    for (i, ex) in train.iter().enumerate() {
        for _ in 0..d.augmented_copies {
            let tr = *Transform::ALL.choose(&mut rng).expect("non-empty");
            texts.push(tr.apply(&ex.text, &mut rng));
            gold.push(Some(targets[i].clone()));
        }
    }
    for path in &d.unlabelled {
        let body = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            texts.push(line.to_string());
            gold.push(None);
        }
    }
    let soft = teacher_targets(&d.teacher, texts, d.temperature)?;
    *targets = soft
        .into_iter()
        .zip(gold)
        .map(|(s, g)| match g {
            Some(g) => g
                .iter()
                .zip(&s)
                .map(|(g, s)| {
                    (d.gold_weight * *g as f64 + (1.0 - d.gold_weight) * *s as f64) as f32
                })
                .collect(),
            None => s,
        })
        .collect();
    Ok(())
}

/// Scores every post of `texts` with `teacher` (a model directory), as sigmoid(logit / T).
fn teacher_targets(
    dir: &std::path::Path,
    texts: &[String],
    temperature: f64,
) -> Result<Vec<Vec<f32>>> {
    let teacher = Classifier::from_dir(dir, Default::default())?;
    let scores = teacher.scores(texts)?;
    Ok(scores
        .rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|s| {
                    let s = s.clamp(1e-6, 1.0 - 1e-6);
                    let logit = (s / (1.0 - s)).ln() / temperature as f32;
                    1.0 / (1.0 + (-logit).exp())
                })
                .collect()
        })
        .collect())
}
