//! The training forward pass, composed from the model's layers: differentiable LayerNorm,
//! dropout from the run's seeded generator, and frozen lower layers that run as in inference
//! with their output detached.

use candle_core::Tensor;
use rand::rngs::StdRng;
use rand::Rng;

use crate::error::Result;
use crate::model::bert::{mask_bias, Inference, LayerNorm, Mode, Site};
use crate::model::BertClassifier;

/// Dropout rates and the generator for their masks.
pub struct Dropout {
    /// The run's generator (candle's CPU RNG cannot be seeded).
    pub rng: StdRng,
    /// On hidden states (embeddings, attention output, feed-forward output, pooled).
    pub hidden_p: f64,
    /// On attention probabilities.
    pub attention_p: f64,
}

impl Dropout {
    /// Inverted dropout with a mask drawn from the run's generator.
    fn apply(&mut self, x: &Tensor, p: f64) -> Result<Tensor> {
        if p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - p;
        let scale = (1.0 / keep) as f32;
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| {
                if self.rng.random_bool(keep) {
                    scale
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        Ok(x.mul(&mask)?)
    }
}

impl Mode for Dropout {
    fn norm(&mut self, norm: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        norm.differentiable(x)
    }
    fn softmax(&mut self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax(x, candle_core::D::Minus1)?)
    }
    fn dropout(&mut self, x: Tensor, site: Site) -> Result<Tensor> {
        let p = match site {
            Site::Hidden => self.hidden_p,
            Site::Attention => self.attention_p,
        };
        self.apply(&x, p)
    }
}

/// Logits `[posts, labels]` in training mode. The embeddings and the first `frozen` layers
/// run as in inference and their output is detached, so no gradient is computed below it.
pub fn logits(
    model: &BertClassifier,
    (ids, types, mask): (&Tensor, &Tensor, &Tensor),
    frozen: usize,
    dropout: &mut Dropout,
) -> Result<Tensor> {
    let bert = model.bert();
    let bias = mask_bias(mask)?;
    let mut x = if frozen == 0 {
        bert.embed(ids, types, dropout)?
    } else {
        bert.embed(ids, types, &mut Inference)?
    };
    for i in 0..bert.num_layers() {
        if i < frozen {
            x = bert.layer(i, &x, &bias, &mut Inference)?;
            if i + 1 == frozen {
                x = x.detach();
            }
        } else {
            x = bert.layer(i, &x, &bias, dropout)?;
        }
    }
    let pooled = model.pool(&x)?;
    let p = dropout.hidden_p;
    let pooled = dropout.apply(&pooled, p)?;
    model.classify(&pooled)
}

/// Mean BCE with logits and per-label positive weights; targets may be soft.
pub fn bce_loss(logits: &Tensor, targets: &Tensor, pos_weight: &Tensor) -> Result<Tensor> {
    // (1 - y) x + (1 + (w - 1) y) softplus(-x), with softplus(-x) = relu(-x) + log(1 + e^-|x|).
    let softplus_neg = (logits.neg()?.relu()? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let weight = (targets.broadcast_mul(&(pos_weight - 1.0)?)? + 1.0)?;
    let loss = ((targets.ones_like()? - targets)?.mul(logits)? + weight.mul(&softplus_neg)?)?;
    Ok(loss.mean_all()?)
}
