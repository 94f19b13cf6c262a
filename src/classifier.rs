//! The library's front door: load a model, classify posts, get scores, labels and evidence.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use rayon::prelude::*;
use serde::Serialize;

pub use crate::bert::Precision;
use crate::config::{ModelFiles, Weights};
use crate::encode::{Encoded, Preprocessor, TextEncoder};
use crate::error::{Error, Result};
use crate::model::BertClassifier;
use crate::normalize::Normalizer;

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DeviceChoice {
    /// The CPU (default).
    #[default]
    Cpu,
    /// A CUDA GPU by ordinal; needs the `cuda` cargo feature.
    Cuda(usize),
}

/// Makes candle's element-wise kernels run on the calling thread (`CANDLE_NUM_THREADS=1`) unless
/// the user set `CANDLE_NUM_THREADS`. With the default parallel batches, those kernels would fan out
/// to candle's own spinning pool from every rayon worker at once, and the calls serialise: on 2
/// cores `patrol scan` of 2,000 test posts ran at 170-182 posts/s with this, 142-146 without
/// (README, Benchmarks). Training runs one batch at a time and should keep candle's pool.
///
/// Call it at the start of `main`, before any other thread exists (it sets an environment
/// variable) and before the first candle operation (candle reads it once).
pub fn prefer_worker_threads() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// Options for loading and running a [`Classifier`]. Build with `Default` and `with_*` setters.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClassifierOptions {
    /// Maximum tokens per post; `None` uses the model's `patrol.json`.
    pub max_length: Option<usize>,
    /// Token budget of one padded batch (rows times longest row).
    pub max_batch_tokens: usize,
    /// Maximum posts in one batch.
    pub max_batch_size: usize,
    /// Worker threads; `None` uses rayon's global pool (all cores).
    pub threads: Option<usize>,
    /// Where the model runs.
    pub device: DeviceChoice,
    /// Compute word-level evidence for posts above threshold.
    pub evidence: bool,
    /// Words of evidence kept per flagged label.
    pub evidence_top_k: usize,
    /// Per-label threshold overrides.
    pub thresholds: BTreeMap<String, f32>,
    /// Run batches in parallel across rayon workers instead of one at a time.
    pub parallel_batches: bool,
    /// Fused fast kernels (default) or the f32 reference path.
    pub precision: Precision,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        Self {
            max_length: None,
            max_batch_tokens: 4096,
            max_batch_size: 64,
            threads: None,
            device: DeviceChoice::Cpu,
            evidence: false,
            evidence_top_k: 5,
            thresholds: BTreeMap::new(),
            // Measured faster on 2 cores (README, Benchmarks): 136.5 vs 118.3 posts/s.
            parallel_batches: true,
            // Within the accuracy guard (tests/engine.rs) and faster (README, Benchmarks).
            precision: Precision::Fast,
        }
    }
}

impl ClassifierOptions {
    /// Sets the maximum tokens per post.
    pub fn with_max_length(mut self, max_length: usize) -> Self {
        self.max_length = Some(max_length);
        self
    }
    /// Sets the token budget per batch.
    pub fn with_max_batch_tokens(mut self, tokens: usize) -> Self {
        self.max_batch_tokens = tokens.max(1);
        self
    }
    /// Sets the maximum posts per batch.
    pub fn with_max_batch_size(mut self, size: usize) -> Self {
        self.max_batch_size = size.max(1);
        self
    }
    /// Sets the number of worker threads.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }
    /// Sets the device.
    pub fn with_device(mut self, device: DeviceChoice) -> Self {
        self.device = device;
        self
    }
    /// Turns word-level evidence on or off.
    pub fn with_evidence(mut self, evidence: bool) -> Self {
        self.evidence = evidence;
        self
    }
    /// Sets how many evidence words are kept per label.
    pub fn with_evidence_top_k(mut self, k: usize) -> Self {
        self.evidence_top_k = k;
        self
    }
    /// Overrides one label's threshold.
    pub fn with_threshold(mut self, label: impl Into<String>, threshold: f32) -> Self {
        self.thresholds.insert(label.into(), threshold);
        self
    }
    /// Chooses the fused fast kernels or the f32 reference path.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }
    /// Chooses between parallel batches and one batch at a time.
    pub fn with_parallel_batches(mut self, parallel: bool) -> Self {
        self.parallel_batches = parallel;
        self
    }
}

/// A word that drove a label's score, found by occlusion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceWord {
    /// The word as it appears in the original post.
    pub text: String,
    /// Score drop when the word is removed.
    pub weight: f32,
    /// Byte span of the word in the original post.
    pub span: (usize, usize),
}

/// The words that drove one label's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The label.
    pub label: String,
    /// Strongest words first.
    pub words: Vec<EvidenceWord>,
}

/// The result for one post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Sigmoid score per label, in the model's label order.
    pub scores: Vec<(String, f32)>,
    /// Labels whose score reaches the threshold.
    pub labels: Vec<String>,
    /// Word evidence per flagged label, when asked for.
    pub evidence: Vec<Evidence>,
}

impl Prediction {
    /// The score of `label`, if the model has it.
    pub fn score(&self, label: &str) -> Option<f32> {
        self.scores
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, s)| *s)
    }
}

/// A loaded model. `classify` takes `&self` and is safe to call from many threads.
pub struct Classifier {
    name: String,
    untrained: bool,
    labels: Vec<String>,
    thresholds: Vec<f32>,
    prep: Preprocessor,
    model: BertClassifier,
    options: ClassifierOptions,
    pool: Option<rayon::ThreadPool>,
}

fn device(choice: DeviceChoice) -> Result<Device> {
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Cuda(i) => Device::new_cuda(i)?,
    })
}

impl Classifier {
    /// Loads a model directory in the Hugging Face layout.
    pub fn from_dir(path: impl AsRef<Path>, options: ClassifierOptions) -> Result<Self> {
        Self::from_files(ModelFiles::from_dir(path.as_ref())?, options)
    }

    /// Loads `org/name[@revision]` through the Hugging Face Hub cache (see [`crate::hub`]).
    pub fn from_hub(repo: &str, options: ClassifierOptions) -> Result<Self> {
        let dir = crate::hub::fetch(repo)?;
        Self::from_dir(dir, options)
    }

    /// Loads the default model compiled into the binary.
    pub fn embedded(options: ClassifierOptions) -> Result<Self> {
        Self::from_files(crate::embedded::files()?, options)
    }

    /// Builds a classifier from already-read model files.
    pub fn from_files(files: ModelFiles, options: ClassifierOptions) -> Result<Self> {
        let device = device(options.device)?;
        let num_labels = files.config.labels.len();
        let vb = match &files.weights {
            // SAFETY: the file is mapped read-only and is not modified while the model loads.
            Weights::File(path) => unsafe {
                VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &device)?
            },
            Weights::Static(bytes) => {
                VarBuilder::from_slice_safetensors(bytes, DType::F32, &device)?
            }
        };
        let model = BertClassifier::load(vb, &files.config.bert, num_labels)
            .and_then(|mut m| m.set_precision(options.precision).map(|()| m))
            .map_err(|e| Error::model(&files.origin, format!("loading weights: {e}")))?;
        let max_length = options
            .max_length
            .unwrap_or(files.patrol.max_length)
            .min(files.config.bert.max_position_embeddings);
        let encoder = TextEncoder::new(&files.tokenizer, max_length, &files.patrol.input_prefix)?;
        let labels = files.config.labels.clone();
        for label in options.thresholds.keys() {
            if !labels.contains(label) {
                return Err(Error::Invalid(format!(
                    "threshold for unknown label {label:?}; the model's labels are {labels:?}"
                )));
            }
        }
        let thresholds = labels
            .iter()
            .map(|l| {
                options
                    .thresholds
                    .get(l)
                    .copied()
                    .unwrap_or_else(|| files.patrol.threshold(l))
            })
            .collect();
        let pool = options
            .threads
            .map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build())
            .transpose()
            .map_err(|e| Error::Invalid(format!("thread pool: {e}")))?;
        let name = if files.patrol.name.is_empty() {
            files.origin.clone()
        } else {
            files.patrol.name.clone()
        };
        Ok(Self {
            name,
            untrained: files.patrol.untrained,
            labels,
            thresholds,
            prep: Preprocessor {
                normalizer: Normalizer::new(files.patrol.normalizer.clone()),
                encoder,
            },
            model,
            options,
            pool,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the model is an untrained placeholder.
    pub fn is_untrained(&self) -> bool {
        self.untrained
    }

    /// The labels, in head order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The thresholds in use, in label order.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }

    /// The normaliser and tokenizer.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.prep
    }

    /// The underlying network.
    pub fn model(&self) -> &BertClassifier {
        &self.model
    }

    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Scores posts. Results come back in input order.
    pub fn classify<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Prediction>> {
        self.run(|| {
            let encoded = self.prep.encode_all(texts)?;
            let scores = self.score_encoded(&encoded)?;
            let mut preds: Vec<Prediction> =
                scores.into_iter().map(|row| self.prediction(row)).collect();
            if self.options.evidence {
                self.add_evidence(texts, &encoded, &mut preds)?;
            }
            Ok(preds)
        })
    }

    fn prediction(&self, row: Vec<f32>) -> Prediction {
        let labels = self
            .labels
            .iter()
            .zip(&row)
            .zip(&self.thresholds)
            .filter(|((_, s), t)| **s >= **t)
            .map(|((l, _), _)| l.clone())
            .collect();
        Prediction {
            scores: self.labels.iter().cloned().zip(row).collect(),
            labels,
            evidence: Vec::new(),
        }
    }

    /// Sigmoid scores for encoded posts, in input order (one row per post).
    pub fn score_encoded(&self, encoded: &[Encoded]) -> Result<Vec<Vec<f32>>> {
        let seqs: Vec<&[u32]> = encoded.iter().map(|e| e.ids.as_slice()).collect();
        self.score_ids(&seqs)
    }

    /// Sigmoid scores for token id sequences, in input order.
    pub fn score_ids(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.run(|| {
            self.model.score_all(
                seqs,
                self.prep.encoder.pad_id(),
                self.options.max_batch_tokens,
                self.options.max_batch_size,
                self.options.parallel_batches,
            )
        })
    }

    /// Word occlusion for flagged posts: each Lindera word is removed in turn, all variants are
    /// scored in one batched pass, and the score drop is the word's weight.
    fn add_evidence<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        encoded: &[Encoded],
        preds: &mut [Prediction],
    ) -> Result<()> {
        const MAX_WORDS: usize = 96;
        struct Variant {
            post: usize,
            span: std::ops::Range<usize>,
            ids: Vec<u32>,
        }
        let flagged: Vec<usize> = (0..preds.len())
            .filter(|&i| !preds[i].labels.is_empty())
            .collect();
        let per_post: Vec<(crate::normalize::Normalized, Vec<Variant>)> = flagged
            .par_iter()
            .map(|&post| -> Result<_> {
                let normalized = self.prep.normalizer.normalize(texts[post].as_ref());
                let mut words = Vec::new();
                self.prep.encoder.segmenter().words_into(
                    &normalized.text,
                    &mut Default::default(),
                    &mut words,
                )?;
                let enc = &encoded[post];
                let variants = words
                    .into_iter()
                    .filter_map(|w| {
                        let keep: Vec<u32> = enc
                            .ids
                            .iter()
                            .zip(&enc.offsets)
                            .filter(|(_, o)| {
                                o.is_empty()
                                    || (o.end as usize) <= w.start
                                    || (o.start as usize) >= w.end
                            })
                            .map(|(id, _)| *id)
                            .collect();
                        (keep.len() < enc.ids.len()).then_some(Variant {
                            post,
                            span: w,
                            ids: keep,
                        })
                    })
                    .take(MAX_WORDS)
                    .collect();
                Ok((normalized, variants))
            })
            .collect::<Result<_>>()?;
        let all: Vec<&Variant> = per_post.iter().flat_map(|(_, v)| v).collect();
        let seqs: Vec<&[u32]> = all.iter().map(|v| v.ids.as_slice()).collect();
        let scores = self.score_ids(&seqs)?;
        let mut next = 0;
        for (normalized, variants) in &per_post {
            let Some(first) = variants.first() else {
                continue;
            };
            let pred = &mut preds[first.post];
            let text = texts[first.post].as_ref();
            let rows = &scores[next..next + variants.len()];
            next += variants.len();
            for (li, label) in self.labels.iter().enumerate() {
                if !pred.labels.contains(label) {
                    continue;
                }
                let base = pred.scores[li].1;
                let mut words: Vec<EvidenceWord> = variants
                    .iter()
                    .zip(rows)
                    .filter_map(|(v, row)| {
                        let weight = base - row[li];
                        let span = normalized.original_span(v.span.clone())?;
                        (weight > 0.0).then(|| EvidenceWord {
                            text: text[span.clone()].to_string(),
                            weight,
                            span: (span.start, span.end),
                        })
                    })
                    .collect();
                words.sort_by(|a, b| b.weight.total_cmp(&a.weight));
                words.truncate(self.options.evidence_top_k);
                pred.evidence.push(Evidence {
                    label: label.clone(),
                    words,
                });
            }
        }
        Ok(())
    }
}
