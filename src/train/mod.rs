//! `patrol train`: a BERT classifier trained in Candle (`VarMap`, `AdamW`) from `train.toml`,
//! from scratch (the Lindera-WordPiece student) or fine-tuned from a base model directory, with
//! optional distillation from a teacher. Early stopping and thresholds use the valid split only.
//! Progress is reported through a callback; nothing here prints.

mod config;
mod distill;
mod e5;
mod epoch;
mod forward;
mod setup;
mod vocab;

pub use config::{DataConfig, DistillSection, ModelSection, TrainConfig, TrainSection};
pub use e5::{embed as e5_embed, import as import_e5};
pub use vocab::{base_alphabet, train_vocab};

use std::io::Write;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::SeedableRng;
use serde::Serialize;

use crate::dataset::{read_examples, Example};
use crate::engine::{score_all, BatchPolicy};
use crate::error::{Error, Result};
use crate::eval::{choose_thresholds, evaluate, EvalReport};
use crate::model::{save_model_dir, tensors_of, Batch, DEFAULT_LABELS};
use crate::text::Prepared;
use forward::{bce_loss, Dropout};
use setup::Setup;

/// One line of `train_log.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub struct EpochLog {
    /// 1-based epoch.
    pub epoch: usize,
    /// Optimiser steps so far.
    pub steps: usize,
    /// Mean training loss of the epoch.
    pub train_loss: f64,
    /// Training examples per second.
    pub examples_per_sec: f64,
    /// Valid macro-F1 at the chosen thresholds.
    pub valid_macro_f1: f64,
    /// Valid benign false-positive rate at the chosen thresholds.
    pub valid_benign_fpr: f64,
    /// Thresholds chosen on valid.
    pub thresholds: Vec<f32>,
    /// Share of `[UNK]` tokens in valid.
    pub valid_unk_rate: f64,
    /// Whether this epoch's weights were kept.
    pub best: bool,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// Per-epoch logs.
    pub epochs: Vec<EpochLog>,
    /// Valid report of the kept weights.
    pub best: Option<EvalReport>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Where a run stands, for a progress display.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// An epoch starts with this many batches.
    EpochStart {
        /// 1-based epoch.
        epoch: usize,
        /// Batches in the epoch.
        batches: usize,
    },
    /// A batch is done.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// Batches done in this epoch.
        done: usize,
        /// Batches in the epoch.
        batches: usize,
        /// Mean loss of the epoch so far.
        loss: f64,
        /// Examples per second in this epoch.
        examples_per_sec: f64,
    },
    /// An epoch ended and was evaluated on valid.
    EpochEnd(&'a EpochLog),
}

fn gold_row(ex: &Example) -> Vec<bool> {
    DEFAULT_LABELS
        .iter()
        .map(|l| ex.labels.iter().any(|x| x == l))
        .collect()
}

/// Per-label positive weights `neg / pos`, clamped to `1..=max`.
fn positive_weights(targets: &[Vec<f32>], labels: usize, max: f64) -> Vec<f32> {
    (0..labels)
        .map(|l| {
            let pos: f64 = targets.iter().map(|r| r[l] as f64).sum();
            let neg = targets.len() as f64 - pos;
            (neg / pos.max(1.0)).clamp(1.0, max) as f32
        })
        .collect()
}

/// The valid split, prepared once, and how it is judged.
struct Valid {
    gold: Vec<Vec<bool>>,
    styles: Vec<String>,
    posts: Vec<Prepared>,
    unk_rate: f64,
}

impl Valid {
    fn new(s: &Setup, set: &[Example]) -> Result<Self> {
        let texts: Vec<&str> = set.iter().map(|e| e.text.as_str()).collect();
        let posts = s.prep.prepare_all(&texts, false)?;
        let unk_rate = s.prep.tokenizer().unk_id().map_or(0.0, |unk| {
            let (u, n) = crate::text::unk_counts(posts.iter().map(Prepared::ids), unk);
            u as f64 / n.max(1) as f64
        });
        Ok(Self {
            gold: set.iter().map(gold_row).collect(),
            styles: set.iter().map(|e| e.style.clone()).collect(),
            posts,
            unk_rate,
        })
    }

    /// Scores valid one batch at a time, chooses thresholds, and reports.
    fn evaluate(
        &self,
        s: &Setup,
        labels: &[String],
        max_fpr: f64,
    ) -> Result<(Vec<f32>, EvalReport)> {
        let policy = BatchPolicy {
            max_tokens: 4096,
            max_rows: 64,
            parallel: false,
        };
        let scores = score_all(&s.model, &self.posts, policy)?;
        let thresholds = choose_thresholds(&self.gold, &scores, max_fpr);
        let report = evaluate(labels, &self.gold, &scores, &thresholds, &self.styles);
        Ok((thresholds, report))
    }
}

/// Runs a whole training configuration; writes the best model to `cfg.output`, its
/// `train_log.jsonl` and the configuration text beside it.
pub fn train(
    cfg: &TrainConfig,
    config_text: &str,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<TrainSummary> {
    let start = Instant::now();
    let device = Device::Cpu;
    let mut train_set = read_examples(&cfg.data.train)?;
    if cfg.data.limit > 0 {
        train_set.truncate(cfg.data.limit);
    }
    let valid_set = read_examples(&cfg.data.valid)?;
    let s = setup::setup(cfg, &train_set, &device)?;
    let t = &cfg.train;
    let labels: Vec<String> = DEFAULT_LABELS.iter().map(|s| s.to_string()).collect();
    let mut texts: Vec<String> = train_set.iter().map(|e| e.text.clone()).collect();
    let mut targets: Vec<Vec<f32>> = train_set
        .iter()
        .map(|e| gold_row(e).into_iter().map(|g| g as u8 as f32).collect())
        .collect();
    if let Some(d) = &cfg.distill {
        distill::transfer_set(d, &train_set, &mut texts, &mut targets, t.seed)?;
    }
    let pos_weight = positive_weights(&targets, labels.len(), t.max_pos_weight);
    let pos_weight = Tensor::new(pos_weight.as_slice(), &device)?;
    let valid = Valid::new(&s, &valid_set)?;
    let steps_per_epoch = texts.len().div_ceil(t.batch_size);
    let total_steps = if t.max_steps > 0 {
        t.max_steps.min(steps_per_epoch * t.epochs)
    } else {
        steps_per_epoch * t.epochs
    };
    let warmup = ((total_steps as f64) * t.warmup_ratio).ceil().max(1.0) as usize;
    let mut opt = AdamW::new(
        s.trainable.clone(),
        ParamsAdamW {
            lr: t.learning_rate,
            weight_decay: t.weight_decay,
            ..Default::default()
        },
    )?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(t.seed);
    let mut dropout = Dropout {
        rng: rand::rngs::StdRng::seed_from_u64(t.seed ^ 0xD80),
        hidden_p: cfg.model.dropout,
        attention_p: cfg.model.dropout,
    };
    let frozen = cfg.model.frozen_layers();
    let out = &cfg.output;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let log_path = out.join("train_log.jsonl");
    let mut log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let mut summary = TrainSummary {
        epochs: Vec::new(),
        best: None,
        seconds: 0.0,
    };
    let (mut best_f1, mut since_best, mut step) = (f64::MIN, 0usize, 0usize);
    for epoch in 1..=t.epochs {
        let epoch_start = Instant::now();
        let posts = epoch::prepare(&s.prep, &texts, t.augment_rate, t.seed, epoch)?;
        let batches = epoch::batches(&posts, t.batch_size, &mut rng);
        let n_batches = batches.len();
        on_progress(Progress::EpochStart {
            epoch,
            batches: n_batches,
        });
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for (done, group) in batches.into_iter().enumerate() {
            if t.max_steps > 0 && step >= t.max_steps {
                break;
            }
            opt.set_learning_rate(epoch::learning_rate(
                t.learning_rate,
                step,
                warmup,
                total_steps,
            ));
            let rows: Vec<f32> = group
                .iter()
                .flat_map(|&i| targets[i].iter().copied())
                .collect();
            let y = Tensor::from_vec(rows, (group.len(), labels.len()), &device)?;
            let batch = Batch::new(group.iter().map(|&i| posts[i].ids()));
            let (ids, types, mask) = s.model.inputs(&batch)?;
            let logits = forward::logits(&s.model, (&ids, &types, &mask), frozen, &mut dropout)?;
            let loss = bce_loss(&logits, &y, &pos_weight)?;
            opt.backward_step(&loss)?;
            let l = loss.to_scalar::<f32>()? as f64;
            loss_sum += l * batch.len() as f64;
            seen += batch.len();
            step += 1;
            on_progress(Progress::Step {
                epoch,
                done: done + 1,
                batches: n_batches,
                loss: loss_sum / seen as f64,
                examples_per_sec: seen as f64 / epoch_start.elapsed().as_secs_f64(),
            });
        }
        let train_secs = epoch_start.elapsed().as_secs_f64();
        let (thresholds, report) = valid.evaluate(&s, &labels, t.max_benign_fpr)?;
        let best = report.macro_f1 > best_f1;
        let entry = EpochLog {
            epoch,
            steps: step,
            train_loss: loss_sum / seen.max(1) as f64,
            examples_per_sec: seen as f64 / train_secs,
            valid_macro_f1: report.macro_f1,
            valid_benign_fpr: report.benign_fpr,
            thresholds: thresholds.clone(),
            valid_unk_rate: valid.unk_rate,
            best,
        };
        on_progress(Progress::EpochEnd(&entry));
        let line = serde_json::to_string(&entry).expect("log serialises");
        writeln!(log, "{line}").map_err(|e| Error::io(&log_path, e))?;
        summary.epochs.push(entry);
        if best {
            best_f1 = report.macro_f1;
            since_best = 0;
            let mut patrol = s.patrol.clone();
            patrol.thresholds = labels.iter().cloned().zip(thresholds).collect();
            let tensors = tensors_of(&s.varmap);
            save_model_dir(
                out,
                &s.bert,
                &labels,
                &patrol,
                &tensors,
                t.half,
                &s.tokenizer,
            )?;
            summary.best = Some(report);
        } else {
            since_best += 1;
            if since_best >= t.patience {
                break;
            }
        }
        if (t.max_steps > 0 && step >= t.max_steps)
            || (t.stop_after_epochs > 0 && epoch >= t.stop_after_epochs)
        {
            break;
        }
    }
    let cfg_path = out.join("train.toml");
    std::fs::write(&cfg_path, config_text).map_err(|e| Error::io(&cfg_path, e))?;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}
