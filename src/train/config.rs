//! `train.toml`: every hyper-parameter of a training run. It is copied into the output model
//! directory so the model records how it was made.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A whole training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Input data.
    pub data: DataConfig,
    /// Architecture or base model.
    pub model: ModelSection,
    /// Optimisation.
    pub train: TrainSection,
    /// Distillation from a teacher's scores (optional).
    #[serde(default)]
    pub distill: Option<DistillSection>,
    /// Where the model directory is written.
    pub output: PathBuf,
}

/// Data files (dataset format), relative to the working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Training split.
    pub train: PathBuf,
    /// Validation split (early stopping and thresholds).
    pub valid: PathBuf,
    /// Use only the first N training examples (tests); 0 = all.
    #[serde(default)]
    pub limit: usize,
}

impl ModelSection {
    /// Encoder layers frozen (with the embeddings) during training: `freeze_layers` when
    /// fine-tuning a base, none for a student trained from scratch.
    pub fn frozen_layers(&self) -> usize {
        if self.base.is_some() {
            self.freeze_layers
        } else {
            0
        }
    }
}

/// The encoder: a fresh student, or a base model directory to fine-tune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// A base model directory (encoder weights and tokenizer); absent = train from scratch.
    #[serde(default)]
    pub base: Option<PathBuf>,
    /// Name written to `patrol.json`.
    pub name: String,
    /// A fixed `vocab.txt` to use instead of training one (scratch only). The `tokenizers`
    /// WordPiece trainer breaks ties between equally frequent merges in hash-map order, so two
    /// vocabulary trainings can differ at the margin; pinning the vocabulary makes runs repeat.
    #[serde(default)]
    pub vocab: Option<PathBuf>,
    /// WordPiece vocabulary size (scratch only).
    #[serde(default = "default_vocab_size")]
    pub vocab_size: usize,
    /// Minimum word frequency for the vocabulary trainer.
    #[serde(default = "default_min_frequency")]
    pub min_frequency: u64,
    /// Hidden size (scratch only).
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Encoder layers (scratch only).
    #[serde(default = "default_layers")]
    pub layers: usize,
    /// Attention heads (scratch only).
    #[serde(default = "default_heads")]
    pub heads: usize,
    /// Feed-forward size (scratch only).
    #[serde(default = "default_ffn")]
    pub ffn: usize,
    /// Maximum tokens per post.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    /// Dropout before the classifier.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Prefix prepended to every input (`query: ` for E5).
    #[serde(default)]
    pub input_prefix: String,
    /// Freeze the embeddings and this many lower encoder layers (fine-tuning only).
    #[serde(default)]
    pub freeze_layers: usize,
}

/// Optimiser and schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Seed for initialisation, shuffling, augmentation and dropout.
    pub seed: u64,
    /// Maximum epochs.
    pub epochs: usize,
    /// Stop after this many epochs without a better valid macro-F1.
    pub patience: usize,
    /// Posts per batch.
    pub batch_size: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of steps spent warming up.
    pub warmup_ratio: f64,
    /// Probability that a training post is obfuscated on the fly.
    pub augment_rate: f64,
    /// Cap on the positive-class weight of the BCE loss (weights are neg/pos per label).
    pub max_pos_weight: f64,
    /// Benign false-positive budget when choosing thresholds on valid.
    pub max_benign_fpr: f64,
    /// Save weights as f16.
    pub half: bool,
    /// Worker threads (0 = all cores).
    #[serde(default)]
    pub threads: usize,
    /// Stop after this many optimiser steps (tests); 0 = no limit.
    #[serde(default)]
    pub max_steps: usize,
    /// Stop after this many epochs with the schedule of the full run unchanged, so the epochs
    /// that ran can be compared with a logged full run; 0 = no limit.
    #[serde(default)]
    pub stop_after_epochs: usize,
}

/// Distillation: targets mix gold labels with a teacher's soft scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillSection {
    /// The teacher model directory.
    pub teacher: PathBuf,
    /// Weight of the gold labels (1 - weight goes to the teacher).
    pub gold_weight: f64,
    /// Temperature applied to the teacher's logits.
    pub temperature: f64,
    /// Extra unlabelled benign text (one post per line), scored by the teacher only.
    #[serde(default)]
    pub unlabelled: Vec<PathBuf>,
    /// Augmented copies of each training post added to the transfer set.
    #[serde(default)]
    pub augmented_copies: usize,
}

fn default_vocab_size() -> usize {
    32000
}
fn default_min_frequency() -> u64 {
    2
}
fn default_hidden() -> usize {
    256
}
fn default_layers() -> usize {
    4
}
fn default_heads() -> usize {
    4
}
fn default_ffn() -> usize {
    1024
}
fn default_max_length() -> usize {
    128
}
fn default_dropout() -> f64 {
    0.1
}

impl TrainConfig {
    /// Reads and checks a `train.toml`.
    pub fn load(path: &Path) -> Result<(Self, String)> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let config: TrainConfig = toml::from_str(&text).map_err(|e| Error::toml(path, e))?;
        let t = &config.train;
        if t.batch_size == 0 || t.epochs == 0 || !(0.0..=1.0).contains(&t.augment_rate) {
            return Err(Error::parse(
                path,
                "batch_size and epochs must be positive and augment_rate within 0..1",
            ));
        }
        Ok((config, text))
    }
}
