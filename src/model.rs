//! Stage 6b: the BERT encoder ([`crate::bert`]) with a multi-label classification head that
//! uses Hugging Face's weight names (`bert.pooler.dense`, `classifier`), so checkpoints trained
//! elsewhere load unchanged. One sigmoid per label.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

use crate::batch::Batch;
use crate::bert::{Bert, Config, Precision, TrainCtx};
use crate::error::Result;

/// BERT plus pooler plus one logit per label.
pub struct BertClassifier {
    bert: Bert,
    pooler: Linear,
    classifier: Linear,
    device: Device,
}

impl BertClassifier {
    /// Loads (or, from a `VarMap`, creates) the encoder and head.
    ///
    /// The encoder's tensors may carry the `bert.` prefix (`BertForSequenceClassification`) or
    /// none (a bare `BertModel` such as multilingual-e5); the head always uses HF names.
    pub fn load(vb: VarBuilder, config: &Config, num_labels: usize) -> Result<Self> {
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
            device: vb.device().clone(),
        })
    }

    /// Chooses how inference runs (see [`Precision`]); training always uses the reference path.
    pub fn set_precision(&mut self, precision: Precision) -> Result<()> {
        self.bert.set_precision(precision)
    }

    /// The precision inference runs at: `F32` where `Fast` was asked for but is not supported.
    pub fn precision(&self) -> Precision {
        self.bert.precision()
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Tensors for a batch: (input ids, token type ids, attention mask), each `[size, len]`.
    pub fn inputs(&self, batch: &Batch) -> Result<(Tensor, Tensor, Tensor)> {
        let shape = (batch.size, batch.len);
        let ids = Tensor::from_slice(&batch.ids, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let mask = Tensor::from_slice(&batch.mask, shape, &self.device)?;
        Ok((ids, types, mask))
    }

    /// The pooled `[CLS]` representation, `[size, hidden]`.
    fn pooled(
        &self,
        ids: &Tensor,
        types: &Tensor,
        mask: &Tensor,
        ctx: Option<&mut TrainCtx>,
    ) -> Result<Tensor> {
        let hidden = self.bert.forward(ids, types, mask, ctx)?;
        // Contiguous: the MKL and CUDA matmuls reject a strided left-hand side.
        let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?.contiguous()?;
        Ok(self.pooler.forward(&cls)?.tanh()?)
    }

    /// Logits `[size, labels]` for inference.
    pub fn logits(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let pooled = self.pooled(ids, types, mask, None)?;
        Ok(self.classifier.forward(&pooled)?)
    }

    /// Logits in training mode: differentiable LayerNorm and seeded dropout throughout,
    /// including on the pooled vector before the classifier.
    pub fn logits_train(
        &self,
        ids: &Tensor,
        types: &Tensor,
        mask: &Tensor,
        ctx: &mut TrainCtx,
    ) -> Result<Tensor> {
        let pooled = self.pooled(ids, types, mask, Some(&mut *ctx))?;
        let p = ctx.hidden_p;
        let pooled = ctx.dropout(&pooled, p)?;
        Ok(self.classifier.forward(&pooled)?)
    }

    /// Sigmoid scores for a batch, one row per post, in batch row order.
    pub fn scores(&self, batch: &Batch) -> Result<Vec<Vec<f32>>> {
        let (ids, types, mask) = self.inputs(batch)?;
        let logits = self.logits(&ids, &types, &mask)?;
        let scores = candle_nn::ops::sigmoid(&logits)?.to_dtype(DType::F32)?;
        Ok(scores.to_vec2()?)
    }

    /// Sigmoid scores for many sequences, batched by length under a token budget, returned in
    /// input order. Batches run one at a time (candle threads) or in parallel across rayon
    /// workers.
    pub fn score_all(
        &self,
        seqs: &[&[u32]],
        pad_id: u32,
        max_tokens: usize,
        max_rows: usize,
        parallel: bool,
    ) -> Result<Vec<Vec<f32>>> {
        use rayon::prelude::*;
        let lengths: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let groups = crate::batch::plan(&lengths, max_tokens, max_rows);
        let run = |group: Vec<usize>| -> Result<(Vec<usize>, Vec<Vec<f32>>)> {
            let b = crate::batch::build(seqs, group, pad_id);
            let rows = self.scores(&b)?;
            Ok((b.indices, rows))
        };
        let results: Vec<_> = if parallel {
            groups.into_par_iter().map(run).collect::<Result<_>>()?
        } else {
            groups.into_iter().map(run).collect::<Result<_>>()?
        };
        let mut out = vec![Vec::new(); seqs.len()];
        for (indices, rows) in results {
            for (i, row) in indices.into_iter().zip(rows) {
                out[i] = row;
            }
        }
        Ok(out)
    }
}

/// Re-initialises every variable deterministically from `seed` (candle's CPU RNG cannot be
/// seeded): BERT-style normal(0, `std`) for matrices and embeddings, ones for LayerNorm
/// weights, zeros for biases.
pub fn init_weights(varmap: &candle_nn::VarMap, seed: u64, std: f64) -> Result<()> {
    use rand::{Rng, SeedableRng};
    let data = varmap.data().lock().expect("varmap lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for name in names {
        let var = &data[name];
        let shape = var.shape().clone();
        let n = shape.elem_count();
        let values: Vec<f32> = if name.ends_with("LayerNorm.weight") || name.ends_with(".gamma") {
            vec![1.0; n]
        } else if name.ends_with("bias") || name.ends_with(".beta") {
            vec![0.0; n]
        } else {
            (0..n)
                .map(|_| {
                    // Box-Muller: one normal sample from two uniforms.
                    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
                    let u2: f64 = rng.random();
                    ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
                })
                .collect()
        };
        var.set(&Tensor::from_vec(values, shape, var.device())?.to_dtype(var.dtype())?)?;
    }
    Ok(())
}
