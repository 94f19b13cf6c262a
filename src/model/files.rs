//! The model directory: `config.json` (BERT config with labels), `patrol.json` (our settings),
//! weights and tokenizer files, read from a folder or from bytes compiled into the binary, and
//! written by training and the placeholder builder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use crate::text::{NormalizerConfig, TokenizerSource};

/// The labels `patrol` scores, in the order of the shipped model's head.
pub const DEFAULT_LABELS: [&str; 3] = ["recruitment", "drugs", "serious_crime"];

/// `patrol.json`: settings that must agree between training and inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PatrolConfig {
    /// Model name shown in summaries.
    pub name: String,
    /// True for a placeholder with random weights; shown wherever the model is used.
    pub untrained: bool,
    /// Normaliser settings and version.
    pub normalizer: NormalizerConfig,
    /// Per-label decision thresholds on the sigmoid score.
    pub thresholds: BTreeMap<String, f32>,
    /// Maximum tokens per post, special tokens included.
    pub max_length: usize,
    /// Text prepended to every post before tokenisation (`query: ` for E5 models).
    pub input_prefix: String,
}

impl Default for PatrolConfig {
    fn default() -> Self {
        Self {
            name: String::new(),
            untrained: false,
            normalizer: NormalizerConfig::default(),
            thresholds: BTreeMap::new(),
            max_length: 128,
            input_prefix: String::new(),
        }
    }
}

impl PatrolConfig {
    /// The threshold for `label`, 0.5 when the model does not set one.
    pub fn threshold(&self, label: &str) -> f32 {
        self.thresholds.get(label).copied().unwrap_or(0.5)
    }
}

/// `config.json`: the encoder's hyper-parameters plus the label map.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// candle's BERT configuration.
    pub bert: candle_transformers::models::bert::Config,
    /// Label names in head order (from `id2label`).
    pub labels: Vec<String>,
}

#[derive(Deserialize)]
struct LabelMaps {
    #[serde(default)]
    id2label: BTreeMap<String, String>,
}

impl ModelConfig {
    /// Parses `config.json`; `path` is used in error messages.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self> {
        let bert = serde_json::from_slice(bytes).map_err(|e| Error::json(path, e))?;
        let maps: LabelMaps = serde_json::from_slice(bytes).map_err(|e| Error::json(path, e))?;
        let mut indexed = Vec::with_capacity(maps.id2label.len());
        for (id, label) in maps.id2label {
            let id: usize = id
                .parse()
                .map_err(|_| Error::parse(path, format!("id2label key {id:?} is not a number")))?;
            indexed.push((id, label));
        }
        indexed.sort();
        if indexed.is_empty() || indexed.iter().enumerate().any(|(i, (id, _))| i != *id) {
            return Err(Error::parse(
                path,
                "id2label must number the labels 0..n without gaps",
            ));
        }
        Ok(Self {
            bert,
            labels: indexed.into_iter().map(|(_, l)| l).collect(),
        })
    }

    /// Serialises a `config.json` for a BERT classifier with these labels.
    #[cfg(any(feature = "train", feature = "testing"))]
    pub fn to_json(
        bert: &candle_transformers::models::bert::Config,
        labels: &[String],
    ) -> serde_json::Value {
        let id2label: BTreeMap<String, &String> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (i.to_string(), l))
            .collect();
        let label2id: BTreeMap<&String, usize> =
            labels.iter().enumerate().map(|(i, l)| (l, i)).collect();
        serde_json::json!({
            "architectures": ["BertForSequenceClassification"],
            "model_type": "bert",
            "problem_type": "multi_label_classification",
            "vocab_size": bert.vocab_size,
            "hidden_size": bert.hidden_size,
            "num_hidden_layers": bert.num_hidden_layers,
            "num_attention_heads": bert.num_attention_heads,
            "intermediate_size": bert.intermediate_size,
            "hidden_act": "gelu",
            "hidden_dropout_prob": bert.hidden_dropout_prob,
            "attention_probs_dropout_prob": bert.hidden_dropout_prob,
            "max_position_embeddings": bert.max_position_embeddings,
            "type_vocab_size": bert.type_vocab_size,
            "initializer_range": bert.initializer_range,
            "layer_norm_eps": bert.layer_norm_eps,
            "pad_token_id": bert.pad_token_id,
            "classifier_dropout": bert.classifier_dropout,
            "id2label": id2label,
            "label2id": label2id,
        })
    }
}

/// Where the weights live.
pub enum Weights {
    /// A `model.safetensors` file, memory-mapped.
    File(PathBuf),
    /// Safetensors bytes compiled into the binary.
    Static(&'static [u8]),
}

/// Every file a classifier needs, read and checked.
pub struct ModelFiles {
    /// Where the model came from, for messages.
    pub origin: String,
    /// Parsed `config.json`.
    pub config: ModelConfig,
    /// Parsed `patrol.json`, or defaults when the directory has none.
    pub patrol: PatrolConfig,
    /// The weights.
    pub weights: Weights,
    /// The tokenizer.
    pub tokenizer: TokenizerSource,
    /// What the user should know about how the files were read (a missing `patrol.json`).
    pub warnings: Vec<String>,
}

/// What kind of file a non-regular file is, for messages.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "a special file"
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Reads `patrol.json` if present.
fn read_patrol(bytes: Option<&[u8]>, path: &Path) -> Result<PatrolConfig> {
    match bytes {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| Error::json(path, e)),
        None => Ok(PatrolConfig::default()),
    }
}

/// `tokenizer_config.json` declares MeCab words and WordPiece subwords (tohoku-style).
fn declares_mecab_wordpiece(bytes: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    v.get("word_tokenizer_type").and_then(|t| t.as_str()) == Some("mecab")
        && v.get("subword_tokenizer_type").and_then(|t| t.as_str()) == Some("wordpiece")
}

impl ModelFiles {
    /// A builder over the weights (memory-mapped from a directory, or the compiled-in bytes).
    pub fn var_builder(&self, device: &Device) -> Result<VarBuilder<'static>> {
        Ok(match &self.weights {
            // SAFETY: the file is mapped read-only and is not modified while the model loads.
            Weights::File(path) => unsafe {
                VarBuilder::from_mmaped_safetensors(&[path], DType::F32, device)?
            },
            Weights::Static(bytes) => {
                VarBuilder::from_slice_safetensors(bytes, DType::F32, device)?
            }
        })
    }

    /// Checks the configuration against itself, the weights and the tokenizer, so that a broken
    /// model fails when it loads, naming the file and field, not at the first batch.
    pub fn validate(&self, vb: &VarBuilder) -> Result<()> {
        let c = &self.config.bert;
        let path = Path::new(&self.origin).join("config.json");
        let bad = |field: &str, reason: String| Error::parse(&path, format!("{field}: {reason}"));
        if c.num_attention_heads == 0 {
            return Err(bad("num_attention_heads", "must be at least 1".into()));
        }
        if c.hidden_size == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(bad(
                "hidden_size",
                format!(
                    "{} is not a positive multiple of num_attention_heads {}",
                    c.hidden_size, c.num_attention_heads
                ),
            ));
        }
        if c.num_hidden_layers == 0 {
            return Err(bad("num_hidden_layers", "must be at least 1".into()));
        }
        let encoder = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb.clone()
        };
        let layer = |i: usize| format!("encoder.layer.{i}.attention.self.query.weight");
        let n = c.num_hidden_layers;
        if !encoder.contains_tensor(&layer(n - 1)) || encoder.contains_tensor(&layer(n)) {
            let found = (0..)
                .take_while(|&i| encoder.contains_tensor(&layer(i)))
                .count();
            return Err(bad(
                "num_hidden_layers",
                format!("{n}, but the weights hold {found} encoder layers"),
            ));
        }
        let tokens = match &self.tokenizer {
            TokenizerSource::LinderaWordPiece(vocab) => vocab
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            TokenizerSource::Json(_) => 0,
        };
        if tokens > c.vocab_size {
            return Err(bad(
                "vocab_size",
                format!(
                    "{} is smaller than vocab.txt's {tokens} tokens",
                    c.vocab_size
                ),
            ));
        }
        Ok(())
    }

    /// Every tensor of the weights, by name.
    #[cfg(feature = "train")]
    pub fn tensors(
        &self,
        device: &Device,
    ) -> Result<std::collections::HashMap<String, candle_core::Tensor>> {
        Ok(match &self.weights {
            Weights::File(path) => candle_core::safetensors::load(path, device)?,
            Weights::Static(bytes) => candle_core::safetensors::load_buffer(bytes, device)?,
        })
    }

    /// Reads a model directory in the Hugging Face layout.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::model(dir, "not a directory"));
        }
        let weights = dir.join("model.safetensors");
        if !weights.is_file() {
            let reason = if let Ok(meta) = std::fs::metadata(&weights) {
                format!(
                    "model.safetensors is not a regular file but {}",
                    file_kind(&meta.file_type())
                )
            } else if dir.join("pytorch_model.bin").exists() {
                "only pytorch_model.bin found: pickle checkpoints are refused for safety; convert it \
                 to model.safetensors first (e.g. with the `safetensors` Python package's \
                 convert script)"
                    .to_string()
            } else {
                "model.safetensors is missing".to_string()
            };
            return Err(Error::model(dir, reason));
        }
        let config_path = dir.join("config.json");
        let config = ModelConfig::parse(&read(&config_path)?, &config_path)?;
        let patrol_path = dir.join("patrol.json");
        let patrol_bytes = patrol_path
            .is_file()
            .then(|| read(&patrol_path))
            .transpose()?;
        let mut warnings = Vec::new();
        if patrol_bytes.is_none() {
            warnings.push(format!(
                "{} is missing: thresholds 0.5 for every label, the default normaliser, max length 128",
                patrol_path.display()
            ));
        }
        let patrol = read_patrol(patrol_bytes.as_deref(), &patrol_path)?;
        // A tokenizer.json must be valid JSON even when vocab.txt is the one used.
        let json_path = dir.join("tokenizer.json");
        let json = json_path.is_file().then(|| read(&json_path)).transpose()?;
        if let Some(bytes) = &json {
            serde_json::from_slice::<serde_json::Value>(bytes)
                .map_err(|e| Error::json(&json_path, e))?;
        }
        let tok_config = dir.join("tokenizer_config.json");
        let wants_mecab = tok_config.is_file() && declares_mecab_wordpiece(&read(&tok_config)?);
        let tokenizer = if let (false, Some(bytes)) = (wants_mecab, json) {
            TokenizerSource::Json(bytes)
        } else if dir.join("vocab.txt").is_file() {
            TokenizerSource::LinderaWordPiece(read(&dir.join("vocab.txt"))?)
        } else {
            return Err(Error::model(
                dir,
                "no tokenizer: expected tokenizer.json, or vocab.txt for Lindera + WordPiece",
            ));
        };
        Ok(Self {
            origin: dir.display().to_string(),
            config,
            patrol,
            weights: Weights::File(weights),
            tokenizer,
            warnings,
        })
    }

    /// Builds the files from bytes compiled into the binary.
    pub fn from_static(origin: &str, files: &[(&str, &'static [u8])]) -> Result<Self> {
        let get = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
        let path = Path::new(origin);
        let config_bytes =
            get("config.json").ok_or_else(|| Error::model(path, "no config.json"))?;
        let config = ModelConfig::parse(config_bytes, &path.join("config.json"))?;
        let patrol = read_patrol(get("patrol.json"), &path.join("patrol.json"))?;
        let weights = Weights::Static(
            get("model.safetensors").ok_or_else(|| Error::model(path, "no model.safetensors"))?,
        );
        let tokenizer = match (get("tokenizer.json"), get("vocab.txt")) {
            (Some(json), _) => TokenizerSource::Json(json.to_vec()),
            (None, Some(vocab)) => TokenizerSource::LinderaWordPiece(vocab.to_vec()),
            (None, None) => return Err(Error::model(path, "no tokenizer files")),
        };
        Ok(Self {
            origin: origin.to_string(),
            config,
            patrol,
            weights,
            tokenizer,
            warnings: Vec::new(),
        })
    }
}

/// Writes a model directory: `config.json`, `patrol.json`, `model.safetensors` (f16 when
/// `half` is set, else f32) and the tokenizer file (`vocab.txt` or `tokenizer.json`).
#[cfg(any(feature = "train", feature = "testing"))]
pub fn save_model_dir(
    dir: &Path,
    bert: &candle_transformers::models::bert::Config,
    labels: &[String],
    patrol: &PatrolConfig,
    tensors: &std::collections::HashMap<String, candle_core::Tensor>,
    half: bool,
    tokenizer: &TokenizerSource,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))
    };
    let json = |v: &serde_json::Value| serde_json::to_vec_pretty(v).expect("JSON values serialise");
    write("config.json", &json(&ModelConfig::to_json(bert, labels)))?;
    write(
        "patrol.json",
        &json(&serde_json::to_value(patrol).expect("patrol config serialises")),
    )?;
    let dtype = if half { DType::F16 } else { DType::F32 };
    let converted = tensors
        .iter()
        .map(|(k, t)| Ok((k.clone(), t.to_dtype(dtype)?)))
        .collect::<Result<std::collections::HashMap<_, _>>>()?;
    let weights = dir.join("model.safetensors");
    candle_core::safetensors::save(&converted, &weights)?;
    match tokenizer {
        TokenizerSource::LinderaWordPiece(vocab) => {
            write("vocab.txt", vocab)?;
            write(
                "tokenizer_config.json",
                &json(&serde_json::json!({
                    "tokenizer_class": "BertJapaneseTokenizer",
                    "word_tokenizer_type": "mecab",
                    "subword_tokenizer_type": "wordpiece",
                    "do_lower_case": false,
                    "note": "patrol segments words with Lindera (IPADIC) in place of MeCab",
                })),
            )
        }
        TokenizerSource::Json(bytes) => write("tokenizer.json", bytes),
    }
}
