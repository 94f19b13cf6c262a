//! The library's front door: load a model, classify posts, get scores, labels and evidence.

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Device;
use serde::Serialize;

use super::ask::Ask;
use super::batch::{score_all, BatchPolicy};
use super::evidence::Evidence;
use crate::error::{Error, Result};
use crate::jobad::JobAd;
use crate::model::{BertClassifier, ModelFiles, ModelSource, Precision};
use crate::text::{unk_counts, Prepared, Preparer};

/// The shortest maximum length a user may ask for, special tokens included.
const MIN_LENGTH: usize = 8;

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
    /// Run the job-ad completeness check ([`crate::jobad`]) on every post.
    pub job_ad: bool,
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
            // Measured faster on 2 cores (BENCHMARKS.md): 136.5 vs 118.3 posts/s.
            parallel_batches: true,
            // Within the accuracy guard (tests/engine.rs) and faster (BENCHMARKS.md).
            precision: Precision::Fast,
            job_ad: false,
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
    /// Turns the job-ad completeness check on or off.
    pub fn with_job_ad(mut self, job_ad: bool) -> Self {
        self.job_ad = job_ad;
        self
    }
    /// Chooses between parallel batches and one batch at a time.
    pub fn with_parallel_batches(mut self, parallel: bool) -> Self {
        self.parallel_batches = parallel;
        self
    }
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
    /// Tokens the model read, special tokens included (after truncation to the maximum length).
    #[serde(skip)]
    pub tokens: usize,
    /// The job-ad check, when asked for and the post reads as a job ad.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_ad: Option<JobAd>,
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
    warnings: Vec<String>,
    untrained: bool,
    labels: Vec<String>,
    defaults: Ask,
    prep: Preparer,
    model: BertClassifier,
    options: ClassifierOptions,
    pool: Option<rayon::ThreadPool>,
}

/// Scores without thresholds, for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Sigmoid score per label, in label order, one row per post in input order.
    pub rows: Vec<Vec<f32>>,
    /// Unknown tokens and all tokens (special tokens aside), when the vocabulary has an
    /// unknown token.
    pub unknown_tokens: Option<(usize, usize)>,
}

fn device(choice: DeviceChoice) -> Result<Device> {
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Cuda(i) => Device::new_cuda(i)?,
    })
}

impl Classifier {
    /// Makes candle's element-wise kernels run on the calling thread (`CANDLE_NUM_THREADS=1`) unless
    /// the user set `CANDLE_NUM_THREADS`. With the default parallel batches, those kernels would fan out
    /// to candle's own spinning pool from every rayon worker at once, and the calls serialise: on 2
    /// cores `patrol scan` of 2,000 test posts ran at 170-182 posts/s with this, 142-146 without
    /// (BENCHMARKS.md). Training runs one batch at a time and should keep candle's pool.
    ///
    /// Call it at the start of `main`, before any other thread exists (it sets an environment
    /// variable) and before the first candle operation (candle reads it once).
    pub fn prefer_worker_threads() {
        if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
            std::env::set_var("CANDLE_NUM_THREADS", "1");
        }
    }

    /// Loads a model from `source`.
    pub fn from_source(source: &ModelSource, options: ClassifierOptions) -> Result<Self> {
        Self::from_files(source.files()?, options)
    }

    /// Loads a model directory in the Hugging Face layout.
    pub fn from_dir(path: impl AsRef<Path>, options: ClassifierOptions) -> Result<Self> {
        Self::from_source(&ModelSource::Dir(path.as_ref().to_path_buf()), options)
    }

    /// Loads `org/name[@revision]` through the Hugging Face Hub cache (`$HF_HOME/hub`; with
    /// `HF_HUB_OFFLINE=1` only the cache is read).
    pub fn from_hub(repo: &str, options: ClassifierOptions) -> Result<Self> {
        Self::from_source(&ModelSource::Hub(repo.to_string()), options)
    }

    /// Loads the default model compiled into the binary.
    pub fn embedded(options: ClassifierOptions) -> Result<Self> {
        Self::from_source(&ModelSource::Embedded, options)
    }

    /// Builds a classifier from already-read model files.
    pub(crate) fn from_files(files: ModelFiles, options: ClassifierOptions) -> Result<Self> {
        let device = device(options.device)?;
        if let Some(l) = options.max_length.filter(|&l| l < MIN_LENGTH) {
            return Err(Error::Invalid(format!(
                "max length {l} is below {MIN_LENGTH} tokens"
            )));
        }
        let vb = files.var_builder(&device)?;
        files.validate(&vb)?;
        let num_labels = files.config.labels.len();
        let max_length = options
            .max_length
            .unwrap_or(files.patrol.max_length)
            .min(files.config.bert.max_position_embeddings);
        let prep = Preparer::new(
            files.patrol.normalizer.clone(),
            &files.tokenizer,
            max_length,
            &files.patrol.input_prefix,
        )?;
        let pad_id = prep.tokenizer().pad_id();
        let model = BertClassifier::load(vb, &files.config.bert, num_labels, pad_id)
            .and_then(|mut m| m.set_precision(options.precision).map(|()| m))
            .map_err(|e| Error::model(&files.origin, format!("loading weights: {e}")))?;
        let labels = files.config.labels.clone();
        for label in options.thresholds.keys() {
            if !labels.contains(label) {
                return Err(Error::Invalid(format!(
                    "threshold for unknown label {label:?}; the model's labels are {labels:?}"
                )));
            }
        }
        let thresholds: Vec<f32> = labels
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
            .transpose()?;
        let name = if files.patrol.name.is_empty() {
            files.origin.clone()
        } else {
            files.patrol.name.clone()
        };
        Ok(Self {
            name,
            warnings: files.warnings,
            untrained: files.patrol.untrained,
            labels,
            defaults: Ask::new(options.evidence, thresholds.into()),
            prep,
            model,
            options,
            pool,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the user should know about how the model was read (e.g. a missing `patrol.json`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
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
        self.defaults.thresholds()
    }

    /// How posts are classified when nothing else is asked: the options' evidence setting and
    /// thresholds.
    pub fn default_ask(&self) -> &Ask {
        &self.defaults
    }

    /// The most tokens of one post the model reads, special tokens included; longer posts are
    /// truncated.
    pub fn max_length(&self) -> usize {
        self.prep.tokenizer().max_length()
    }

    /// The options the classifier was loaded with.
    pub fn options(&self) -> &ClassifierOptions {
        &self.options
    }

    /// The precision inference runs at: `F32` where `Fast` was asked for but is not supported.
    pub fn precision(&self) -> Precision {
        self.model.precision()
    }

    pub(crate) fn preparer(&self) -> &Preparer {
        &self.prep
    }

    /// The model's scores of one batch, without the batching policy.
    #[cfg(feature = "testing")]
    pub(crate) fn model_scores(&self, batch: &crate::model::Batch) -> Result<Vec<Vec<f32>>> {
        self.model.scores(batch)
    }

    pub(crate) fn evidence_top_k(&self) -> usize {
        self.options.evidence_top_k
    }

    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Scores posts. Results come back in input order.
    pub fn classify<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Prediction>> {
        self.classify_each(texts, |_| &self.defaults)
    }

    /// Scores posts, each with its own [`Ask`] (evidence and thresholds); `asks[i]` goes with
    /// `texts[i]`.
    pub fn classify_with<S: AsRef<str> + Sync>(
        &self,
        texts: &[S],
        asks: &[Ask],
    ) -> Result<Vec<Prediction>> {
        if asks.len() != texts.len() {
            return Err(Error::Invalid(format!(
                "{} asks for {} texts",
                asks.len(),
                texts.len()
            )));
        }
        self.classify_each(texts, |i| &asks[i])
    }

    fn classify_each<'a, S: AsRef<str> + Sync>(
        &'a self,
        texts: &[S],
        ask: impl Fn(usize) -> &'a Ask + Sync,
    ) -> Result<Vec<Prediction>> {
        self.run(|| {
            let any_evidence = (0..texts.len()).any(|i| ask(i).evidence);
            let prepared = self.prep.prepare_all(texts, any_evidence)?;
            let scores = self.score_ids(&prepared)?;
            let mut preds: Vec<Prediction> = scores
                .into_iter()
                .zip(&prepared)
                .enumerate()
                .map(|(i, (row, post))| self.prediction(row, ask(i).thresholds(), post))
                .collect();
            if any_evidence {
                let flagged = (0..preds.len())
                    .filter(|&i| ask(i).evidence && !preds[i].labels.is_empty())
                    .collect();
                self.add_evidence(texts, &prepared, &mut preds, flagged)?;
            }
            if self.options.job_ad {
                use rayon::prelude::*;
                preds
                    .par_iter_mut()
                    .zip(texts)
                    .for_each(|(p, t)| p.job_ad = crate::jobad::check(t.as_ref()));
            }
            Ok(preds)
        })
    }

    /// Scores posts without thresholds, with the share of unknown tokens.
    pub fn scores<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Scores> {
        self.run(|| {
            let prepared = self.prep.prepare_all(texts, false)?;
            let unknown_tokens = self
                .prep
                .tokenizer()
                .unk_id()
                .map(|unk| unk_counts(prepared.iter().map(Prepared::ids), unk));
            Ok(Scores {
                rows: self.score_ids(&prepared)?,
                unknown_tokens,
            })
        })
    }

    fn prediction(&self, row: Vec<f32>, thresholds: &[f32], post: &Prepared) -> Prediction {
        let labels = self
            .labels
            .iter()
            .zip(&row)
            .zip(thresholds)
            .filter(|((_, s), t)| **s >= **t)
            .map(|((l, _), _)| l.clone())
            .collect();
        Prediction {
            scores: self.labels.iter().cloned().zip(row).collect(),
            labels,
            evidence: Vec::new(),
            tokens: post.ids().len(),
            job_ad: None,
        }
    }

    /// Sigmoid scores of token id sequences, in input order, under the batching policy.
    pub(crate) fn score_ids<S: AsRef<[u32]> + Sync>(&self, seqs: &[S]) -> Result<Vec<Vec<f32>>> {
        let policy = BatchPolicy {
            max_tokens: self.options.max_batch_tokens,
            max_rows: self.options.max_batch_size,
            parallel: self.options.parallel_batches,
        };
        self.run(|| score_all(&self.model, seqs, policy))
    }
}
