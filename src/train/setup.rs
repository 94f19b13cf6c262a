//! The model a run trains: from scratch (a Lindera-WordPiece student with a vocabulary trained on
//! the training split) or from a base model directory, whose encoder weights are loaded before
//! the new head is created.

use candle_core::{DType, Device, Var};
use candle_nn::{VarBuilder, VarMap};

use super::config::TrainConfig;
use super::vocab::train_vocab;
use crate::dataset::Example;
use crate::error::{Error, Result};
use crate::model::{init_weights, BertClassifier, ModelFiles, PatrolConfig, DEFAULT_LABELS};
use crate::text::{Normalizer, NormalizerConfig, Preparer, TokenizerSource};

/// The training state: model, variables, and the preparation that goes with them.
pub struct Setup {
    pub varmap: VarMap,
    pub model: BertClassifier,
    pub bert: candle_transformers::models::bert::Config,
    pub tokenizer: TokenizerSource,
    pub prep: Preparer,
    pub trainable: Vec<Var>,
    pub patrol: PatrolConfig,
}

/// Builds the model of `cfg`; `train` is the training split (for a student's vocabulary).
pub fn setup(cfg: &TrainConfig, train: &[Example], device: &Device) -> Result<Setup> {
    let m = &cfg.model;
    let normalizer = NormalizerConfig::default();
    let varmap = VarMap::new();
    let (bert, tokenizer, base) = match &m.base {
        None => {
            let vocab = match &m.vocab {
                Some(path) => std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?,
                None => {
                    let n = Normalizer::new(normalizer.clone());
                    let texts: Vec<String> =
                        train.iter().map(|e| n.normalize_str(&e.text)).collect();
                    train_vocab(&texts, m.vocab_size, m.min_frequency)?
                }
            };
            let bert = crate::model::bert::config(
                vocab.lines().count(),
                m.hidden,
                m.layers,
                m.heads,
                m.ffn,
                m.max_length.max(128),
            );
            let bert = candle_transformers::models::bert::Config {
                hidden_dropout_prob: m.dropout,
                ..bert
            };
            (
                bert,
                TokenizerSource::LinderaWordPiece(vocab.into_bytes()),
                None,
            )
        }
        Some(base) => {
            let files = ModelFiles::from_dir(base)?;
            let tensors = files.tensors(device)?;
            (
                files.config.bert,
                files.tokenizer,
                Some((base.clone(), tensors)),
            )
        }
    };
    let prep = Preparer::new(
        normalizer.clone(),
        &tokenizer,
        m.max_length,
        &m.input_prefix,
    )?;
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let model = BertClassifier::load(vb, &bert, DEFAULT_LABELS.len(), prep.tokenizer().pad_id())?;
    init_weights(&varmap, cfg.train.seed, bert.initializer_range)?;
    if let Some((path, tensors)) = base {
        // Encoder weights come from the base; the new head keeps its fresh initialisation.
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
    let patrol = PatrolConfig {
        name: m.name.clone(),
        untrained: false,
        normalizer,
        thresholds: Default::default(),
        max_length: m.max_length,
        input_prefix: m.input_prefix.clone(),
    };
    Ok(Setup {
        varmap,
        model,
        bert,
        tokenizer,
        prep,
        trainable,
        patrol,
    })
}
