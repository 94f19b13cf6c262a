//! The BERT encoder with a multi-label classification head that uses Hugging Face's weight names
//! (`bert.pooler.dense`, `classifier`), so checkpoints trained elsewhere load unchanged. One
//! sigmoid per label.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

use super::bert::{Bert, Config, Precision};
use super::Batch;
use crate::error::Result;

/// BERT plus pooler plus one logit per label.
pub struct BertClassifier {
    bert: Bert,
    pooler: Linear,
    classifier: Linear,
    pad_id: u32,
    device: Device,
}

impl BertClassifier {
    /// Loads (or, from a `VarMap`, creates) the encoder and head; `pad_id` pads batches.
    ///
    /// The encoder's tensors may carry the `bert.` prefix (`BertForSequenceClassification`) or
    /// none (a bare `BertModel` such as multilingual-e5); the head always uses HF names.
    pub fn load(vb: VarBuilder, config: &Config, num_labels: usize, pad_id: u32) -> Result<Self> {
        let encoder_vb = if vb.contains_tensor("embeddings.word_embeddings.weight")
            && !vb.contains_tensor("bert.embeddings.word_embeddings.weight")
        {
            vb.clone()
        } else {
            vb.pp("bert")
        };
        let bert = Bert::load(encoder_vb.clone(), config)?;
        let pooler = linear(
            config.hidden_size,
            config.hidden_size,
            encoder_vb.pp("pooler").pp("dense"),
        )?;
        let classifier = linear(config.hidden_size, num_labels, vb.pp("classifier"))?;
        Ok(Self {
            bert,
            pooler,
            classifier,
            pad_id,
            device: vb.device().clone(),
        })
    }

    /// Chooses how inference runs (see [`Precision`]).
    pub fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.bert.set_precision(precision)
    }

    /// The precision inference runs at: `F32` where `Fast` was asked for but is not supported.
    pub fn precision(&self) -> Precision {
        self.bert.precision()
    }

    /// The encoder, for callers that compose its layers (training).
    pub fn bert(&self) -> &Bert {
        &self.bert
    }

    /// Tensors for a batch: (input ids, token type ids, attention mask), each `[posts, longest]`.
    pub fn inputs(&self, batch: &Batch) -> Result<(Tensor, Tensor, Tensor)> {
        let (ids, mask, width) = batch.padded(self.pad_id);
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        Ok((ids, types, mask))
    }

    /// The pooled `[CLS]` representation `[posts, hidden]` of hidden states.
    pub fn pool(&self, hidden: &Tensor) -> Result<Tensor> {
        // Contiguous: the MKL and CUDA matmuls reject a strided left-hand side.
        let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
        Ok(self.pooler.forward(&cls)?.tanh()?)
    }

    /// Logits `[posts, labels]` of pooled representations.
    pub fn classify(&self, pooled: &Tensor) -> Result<Tensor> {
        Ok(self.classifier.forward(pooled)?)
    }

    /// Sigmoid scores for a batch, one row per post, in batch order.
    pub fn scores(&self, batch: &Batch) -> Result<Vec<Vec<f32>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, types, mask) = self.inputs(batch)?;
        let hidden = self.bert.forward(&ids, &types, &mask)?;
        let logits = self.classify(&self.pool(&hidden)?)?;
        let scores = candle_nn::ops::sigmoid(&logits)?.to_dtype(DType::F32)?;
        Ok(scores.to_vec2()?)
    }
}
