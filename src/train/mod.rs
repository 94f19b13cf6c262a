//! `patrol train`: a BERT classifier trained in Candle (`VarMap`, `AdamW`) from `train.toml`,
//! from scratch (the Lindera-WordPiece student) or fine-tuned from a base model directory, with
//! optional distillation from a teacher. Early stopping and thresholds use the valid split only.

mod config;
mod vocab;

pub use config::{DataConfig, DistillSection, ModelSection, TrainConfig, TrainSection};
pub use vocab::{base_alphabet, train_vocab};

use std::io::Write;
use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::augment::Transform;
use crate::config::{save_model_dir, ModelFiles, PatrolConfig, TokenizerSource, DEFAULT_LABELS};
use crate::dataset::{read_examples, Example};
use crate::encode::{EncodeScratch, Encoded, Preprocessor, TextEncoder};
use crate::error::{Error, Result};
use crate::eval::{choose_thresholds, evaluate, EvalReport};
use crate::model::{init_weights, BertClassifier};
use crate::normalize::{Normalizer, NormalizerConfig};

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

/// The training state: model, variables, and the preprocessing that goes with them.
struct Setup {
    varmap: VarMap,
    model: BertClassifier,
    bert: candle_transformers::models::bert::Config,
    tokenizer: TokenizerSource,
    prep: Preprocessor,
    trainable: Vec<Var>,
    patrol: PatrolConfig,
}

fn labels() -> Vec<String> {
    DEFAULT_LABELS.iter().map(|s| s.to_string()).collect()
}

fn gold_row(ex: &Example) -> Vec<bool> {
    DEFAULT_LABELS
        .iter()
        .map(|l| ex.labels.iter().any(|x| x == l))
        .collect()
}

fn setup(cfg: &TrainConfig, train: &[Example], device: &Device) -> Result<Setup> {
    let m = &cfg.model;
    let normalizer = Normalizer::new(NormalizerConfig::default());
    let varmap = VarMap::new();
    let (bert, tokenizer, base_weights) = match &m.base {
        None => {
            let vocab = match &m.vocab {
                Some(path) => std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
                None => {
                    let texts: Vec<String> = train
                        .iter()
                        .map(|e| normalizer.normalize_str(&e.text))
                        .collect();
                    train_vocab(&texts, m.vocab_size, m.min_frequency)?
                }
            };
            let mut bert =
                crate::placeholder::tiny_config(vocab.lines().count(), m.hidden, m.layers);
            bert.num_attention_heads = m.heads;
            bert.intermediate_size = m.ffn;
            bert.max_position_embeddings = m.max_length.max(128);
            bert.hidden_dropout_prob = m.dropout;
            (
                bert,
                TokenizerSource::LinderaWordPiece(vocab.into_bytes()),
                None,
            )
        }
        Some(base) => {
            let files = ModelFiles::from_dir(base)?;
            let weights = match files.weights {
                crate::config::Weights::File(p) => p,
                crate::config::Weights::Static(_) => unreachable!("directories map files"),
            };
            (files.config.bert, files.tokenizer, Some(weights))
        }
    };
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = BertClassifier::load(vb, &bert, DEFAULT_LABELS.len())?;
    init_weights(&varmap, cfg.train.seed, bert.initializer_range)?;
    if let Some(path) = base_weights {
        // Encoder weights come from the base; the new head keeps its fresh initialisation.
        let tensors = candle_core::safetensors::load(&path, device)?;
        let data = varmap.data().lock().expect("varmap lock");
        let mut loaded = 0;
        for (name, var) in data.iter() {
            let key = [name.clone(), name.trim_start_matches("bert.").to_string()]
                .into_iter()
                .find(|k| tensors.contains_key(k));
            if let Some(k) = key {
                var.set(&tensors[&k].to_dtype(DType::F32)?)?;
                loaded += 1;
            } else if !name.starts_with("classifier") && !name.contains("pooler") {
                return Err(Error::model(&path, format!("base model lacks {name}")));
            }
        }
        if loaded == 0 {
            return Err(Error::model(&path, "no encoder weights matched"));
        }
    }
    let layers = m.frozen_layers();
    let frozen = |name: &str| {
        layers > 0
            && (name.contains("embeddings.")
                || (0..layers).any(|i| name.contains(&format!("encoder.layer.{i}."))))
    };
    let trainable = {
        let data = varmap.data().lock().expect("varmap lock");
        let mut names: Vec<&String> = data.keys().filter(|n| !frozen(n)).collect();
        names.sort();
        names.into_iter().map(|n| data[n].clone()).collect()
    };
    let encoder = TextEncoder::new(&tokenizer, m.max_length, &m.input_prefix)?;
    let patrol = PatrolConfig {
        name: m.name.clone(),
        untrained: false,
        normalizer: normalizer.config().clone(),
        thresholds: Default::default(),
        max_length: m.max_length,
        input_prefix: m.input_prefix.clone(),
    };
    Ok(Setup {
        varmap,
        model,
        bert,
        tokenizer,
        prep: Preprocessor {
            normalizer,
            encoder,
        },
        trainable,
        patrol,
    })
}

/// Mean BCE with logits and per-label positive weights; targets may be soft.
pub fn bce_loss(logits: &Tensor, targets: &Tensor, pos_weight: &Tensor) -> Result<Tensor> {
    // (1 - y) x + (1 + (w - 1) y) softplus(-x), with softplus(-x) = relu(-x) + log(1 + e^-|x|).
    let softplus_neg = (logits.neg()?.relu()? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let weight = (targets.broadcast_mul(&(pos_weight - 1.0)?)? + 1.0)?;
    let loss = ((targets.ones_like()? - targets)?.mul(logits)? + weight.mul(&softplus_neg)?)?;
    Ok(loss.mean_all()?)
}

/// A per-example generator so augmentation does not depend on thread scheduling.
fn example_rng(seed: u64, epoch: usize, index: usize) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(
        seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (index as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

fn encode_epoch(
    prep: &Preprocessor,
    texts: &[String],
    rate: f64,
    seed: u64,
    epoch: usize,
) -> Result<Vec<Encoded>> {
    texts
        .par_iter()
        .enumerate()
        .map_init(EncodeScratch::default, |scratch, (i, text)| {
            let mut rng = example_rng(seed, epoch, i);
            let text = if rate > 0.0 && rng.random_bool(rate) {
                Transform::ALL
                    .choose(&mut rng)
                    .expect("non-empty")
                    .apply(text, &mut rng)
            } else {
                text.clone()
            };
            prep.encoder
                .encode(&prep.normalizer.normalize_str(&text), scratch)
        })
        .collect()
}

/// Batches of indices: shuffled, then sorted by length within blocks so padding stays small.
fn epoch_batches(encoded: &[Encoded], batch_size: usize, rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..encoded.len()).collect();
    order.shuffle(rng);
    let mut batches = Vec::new();
    for block in order.chunks(batch_size * 32) {
        let mut block = block.to_vec();
        block.sort_by_key(|&i| encoded[i].ids.len());
        batches.extend(block.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

fn unk_rate(encoded: &[Encoded], unk: Option<u32>) -> f64 {
    let Some(unk) = unk else { return 0.0 };
    let (u, n) = crate::encode::unk_counts(encoded, unk);
    u as f64 / n.max(1) as f64
}

fn tensors_of(varmap: &VarMap) -> std::collections::HashMap<String, Tensor> {
    varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
}

/// Scores every post of `texts` with `teacher` (a model directory), as sigmoid(logit / T).
fn teacher_targets(
    dir: &std::path::Path,
    texts: &[String],
    temperature: f64,
) -> Result<Vec<Vec<f32>>> {
    let teacher = crate::Classifier::from_dir(dir, Default::default())?;
    let scores = teacher.classify(texts)?;
    Ok(scores
        .into_iter()
        .map(|p| {
            p.scores
                .iter()
                .map(|(_, s)| {
                    let s = s.clamp(1e-6, 1.0 - 1e-6);
                    let logit = (s / (1.0 - s)).ln() / temperature as f32;
                    1.0 / (1.0 + (-logit).exp())
                })
                .collect()
        })
        .collect())
}

/// Runs a whole training configuration; writes the best model to `cfg.output`.
pub fn train(cfg: &TrainConfig, config_text: &str, show_progress: bool) -> Result<TrainSummary> {
    let start = Instant::now();
    let device = Device::Cpu;
    let mut train_set = read_examples(&cfg.data.train)?;
    if cfg.data.limit > 0 {
        train_set.truncate(cfg.data.limit);
    }
    let valid_set = read_examples(&cfg.data.valid)?;
    let s = setup(cfg, &train_set, &device)?;
    let t = &cfg.train;
    let labels = labels();
    let mut texts: Vec<String> = train_set.iter().map(|e| e.text.clone()).collect();
    let mut targets: Vec<Vec<f32>> = train_set
        .iter()
        .map(|e| gold_row(e).into_iter().map(|g| g as u8 as f32).collect())
        .collect();
    if let Some(d) = &cfg.distill {
        // Transfer set: training posts, augmented copies, unlabelled benign text; never valid/test.
        let mut rng = rand::rngs::StdRng::seed_from_u64(t.seed ^ 0xD157);
        let mut gold: Vec<Option<Vec<f32>>> = targets.iter().cloned().map(Some).collect();
        for (i, ex) in train_set.iter().enumerate() {
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
        let soft = teacher_targets(&d.teacher, &texts, d.temperature)?;
        targets = soft
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
    }
    let pos_weight: Vec<f32> = (0..labels.len())
        .map(|l| {
            let pos: f64 = targets.iter().map(|r| r[l] as f64).sum();
            let neg = targets.len() as f64 - pos;
            (neg / pos.max(1.0)).clamp(1.0, t.max_pos_weight) as f32
        })
        .collect();
    let pos_weight = Tensor::new(pos_weight.as_slice(), &device)?;
    let valid_gold: Vec<Vec<bool>> = valid_set.iter().map(gold_row).collect();
    let valid_styles: Vec<String> = valid_set.iter().map(|e| e.style.clone()).collect();
    let valid_texts: Vec<&str> = valid_set.iter().map(|e| e.text.as_str()).collect();
    let valid_encoded = s.prep.encode_all(&valid_texts)?;
    let valid_unk = unk_rate(&valid_encoded, s.prep.encoder.unk_id());
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
    let mut ctx = crate::bert::TrainCtx {
        rng: rand::rngs::StdRng::seed_from_u64(t.seed ^ 0xD80),
        hidden_p: cfg.model.dropout,
        attention_p: cfg.model.dropout,
        frozen_layers: cfg.model.frozen_layers(),
    };
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
    let valid_ids: Vec<&[u32]> = valid_encoded.iter().map(|e| e.ids.as_slice()).collect();
    'epochs: for epoch in 1..=t.epochs {
        let epoch_start = Instant::now();
        let encoded = encode_epoch(&s.prep, &texts, t.augment_rate, t.seed, epoch)?;
        let batches = epoch_batches(&encoded, t.batch_size, &mut rng);
        let bar = if show_progress {
            indicatif::ProgressBar::new(batches.len() as u64)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "epoch {prefix} {bar:30} {pos}/{len} batches  loss {msg}  {elapsed}/{eta}",
            )
            .expect("valid template"),
        );
        bar.set_prefix(epoch.to_string());
        let (mut loss_sum, mut seen) = (0.0, 0usize);
        for group in batches {
            if t.max_steps > 0 && step >= t.max_steps {
                break;
            }
            let lr = if step < warmup {
                t.learning_rate * (step + 1) as f64 / warmup as f64
            } else {
                t.learning_rate * (total_steps.saturating_sub(step)) as f64
                    / (total_steps - warmup).max(1) as f64
            };
            opt.set_learning_rate(lr.max(0.0));
            let rows: Vec<f32> = group
                .iter()
                .flat_map(|&i| targets[i].iter().copied())
                .collect();
            let y = Tensor::from_vec(rows, (group.len(), labels.len()), &device)?;
            let b = crate::batch::build(&encoded, group, s.prep.encoder.pad_id());
            let (ids, types, mask) = s.model.inputs(&b)?;
            let logits = s.model.logits_train(&ids, &types, &mask, &mut ctx)?;
            let loss = bce_loss(&logits, &y, &pos_weight)?;
            opt.backward_step(&loss)?;
            let l = loss.to_scalar::<f32>()? as f64;
            loss_sum += l * b.size as f64;
            seen += b.size;
            step += 1;
            bar.set_message(format!(
                "{:.4}  {:.0} ex/s",
                loss_sum / seen as f64,
                seen as f64 / epoch_start.elapsed().as_secs_f64()
            ));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_secs = epoch_start.elapsed().as_secs_f64();
        let scores = s
            .model
            .score_all(&valid_ids, s.prep.encoder.pad_id(), 4096, 64, false)?;
        let thresholds = choose_thresholds(&valid_gold, &scores, t.max_benign_fpr);
        let report = evaluate(&labels, &valid_gold, &scores, &thresholds, &valid_styles);
        let best = report.macro_f1 > best_f1;
        let entry = EpochLog {
            epoch,
            steps: step,
            train_loss: loss_sum / seen.max(1) as f64,
            examples_per_sec: seen as f64 / train_secs,
            valid_macro_f1: report.macro_f1,
            valid_benign_fpr: report.benign_fpr,
            thresholds: thresholds.clone(),
            valid_unk_rate: valid_unk,
            best,
        };
        if show_progress {
            eprintln!(
                "epoch {epoch}: loss {:.4}, {:.0} ex/s, valid macro-F1 {:.4}, benign FPR {:.4}{}",
                entry.train_loss,
                entry.examples_per_sec,
                report.macro_f1,
                report.benign_fpr,
                if best { " (best)" } else { "" }
            );
        }
        writeln!(
            log,
            "{}",
            serde_json::to_string(&entry).expect("log serialises")
        )
        .map_err(|e| Error::io(&log_path, e))?;
        summary.epochs.push(entry);
        if best {
            best_f1 = report.macro_f1;
            since_best = 0;
            let mut patrol = s.patrol.clone();
            patrol.thresholds = labels.iter().cloned().zip(thresholds).collect();
            save_model_dir(
                out,
                &s.bert,
                &labels,
                &patrol,
                &tensors_of(&s.varmap),
                t.half,
                &s.tokenizer,
            )?;
            summary.best = Some(report);
        } else {
            since_best += 1;
            if since_best >= t.patience {
                break 'epochs;
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
