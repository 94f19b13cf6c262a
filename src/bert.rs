//! Stage 6a: the BERT encoder, in Candle, with Hugging Face's tensor names.
//!
//! It mirrors candle-transformers' `BertModel` (whose `Config` it reads) with two differences
//! that training needs: candle-nn's fused LayerNorm kernel has no backward pass, so training
//! uses a LayerNorm built from differentiable ops; and candle-transformers' internal dropout is a
//! no-op, so dropout here is real and follows the run's seed (candle's CPU RNG cannot be seeded).
//! Inference uses the fused LayerNorm and softmax kernels, and by default ([`Precision::Fast`])
//! the fused kernels of [`crate::kernels`] with one query/key/value projection per layer.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Init, Linear, VarBuilder};
pub use candle_transformers::models::bert::{Config, HiddenAct};
use rand::rngs::StdRng;
use rand::Rng;

use crate::error::Result;
use crate::kernels::{BiasGelu, BiasResidualNorm, SplitHeads};

/// How inference computes the encoder layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Precision {
    /// Fused CPU kernels ([`crate::kernels`]): one pass each for bias + GELU (approximate erf,
    /// error under 3e-6) and bias + residual + LayerNorm, and one fused query/key/value
    /// projection. On other devices it is the same as `F32`.
    #[default]
    Fast,
    /// candle's own operations with exact `erf`: the reference that training uses.
    F32,
}

/// Training state threaded through the forward pass: the seeded generator and dropout rates.
pub struct TrainCtx {
    /// The run's generator for dropout masks.
    pub rng: StdRng,
    /// Dropout on hidden states (embeddings, attention output, feed-forward output, pooled).
    pub hidden_p: f64,
    /// Dropout on attention probabilities.
    pub attention_p: f64,
    /// Frozen embeddings and lower layers (fine-tuning): they run as in inference, and their
    /// output is detached so that no gradient is computed below it.
    pub frozen_layers: usize,
}

impl TrainCtx {
    /// Inverted dropout with a mask drawn from the run's generator.
    pub fn dropout(&mut self, x: &Tensor, p: f64) -> Result<Tensor> {
        if p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - p;
        let scale = (1.0 / keep) as f32;
        let n = x.elem_count();
        let mask: Vec<f32> = (0..n)
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

fn dropout(ctx: &mut Option<&mut TrainCtx>, x: Tensor, attention: bool) -> Result<Tensor> {
    match ctx {
        Some(c) => {
            let p = if attention { c.attention_p } else { c.hidden_p };
            c.dropout(&x, p)
        }
        None => Ok(x),
    }
}

/// LayerNorm with HF names (`weight`, `bias`).
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn load(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(size, "weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(size, "bias", Init::Const(0.0))?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train && x.is_contiguous() {
            return Ok(candle_nn::ops::layer_norm(
                x,
                &self.weight,
                &self.bias,
                self.eps as f32,
            )?);
        }
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        Ok(normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }
}

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A layer's weights arranged for [`Precision::Fast`].
struct FastLayer {
    /// Query, key and value weights stacked: `[3 * hidden, hidden]`.
    qkv: Tensor,
    split: SplitHeads,
    attention_out: Tensor,
    attention_norm: BiasResidualNorm,
    intermediate: Tensor,
    gelu: BiasGelu,
    output: Tensor,
    output_norm: BiasResidualNorm,
}

impl FastLayer {
    fn new(l: &Layer, heads: usize, head_dim: usize) -> Result<Self> {
        let bias = |x: &Linear| -> Result<Vec<f32>> {
            Ok(match x.bias() {
                Some(b) => b.to_dtype(DType::F32)?.to_vec1()?,
                None => vec![0.0; x.weight().dim(0)?],
            })
        };
        let vec = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.to_dtype(DType::F32)?.to_vec1()?) };
        let norm = |x: &Linear, n: &LayerNorm| -> Result<BiasResidualNorm> {
            Ok(BiasResidualNorm::new(
                bias(x)?,
                vec(&n.weight)?,
                vec(&n.bias)?,
                n.eps,
            ))
        };
        let qkv_bias = [bias(&l.query)?, bias(&l.key)?, bias(&l.value)?].concat();
        Ok(Self {
            qkv: Tensor::cat(&[l.query.weight(), l.key.weight(), l.value.weight()], 0)?,
            split: SplitHeads::new(qkv_bias, heads, head_dim),
            attention_out: l.attention_out.weight().clone(),
            attention_norm: norm(&l.attention_out, &l.attention_norm)?,
            intermediate: l.intermediate.weight().clone(),
            gelu: BiasGelu::new(bias(&l.intermediate)?),
            output: l.output.weight().clone(),
            output_norm: norm(&l.output, &l.output_norm)?,
        })
    }
}

/// The encoder: embeddings and a stack of post-LN transformer layers.
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    act: HiddenAct,
    /// The layers for [`Precision::Fast`], when it is on.
    fast: Option<Vec<FastLayer>>,
}

impl Layer {
    fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let h = c.hidden_size;
        let att = vb.pp("attention");
        Ok(Self {
            query: linear(h, h, att.pp("self").pp("query"))?,
            key: linear(h, h, att.pp("self").pp("key"))?,
            value: linear(h, h, att.pp("self").pp("value"))?,
            attention_out: linear(h, h, att.pp("output").pp("dense"))?,
            attention_norm: LayerNorm::load(h, c.layer_norm_eps, att.pp("output").pp("LayerNorm"))?,
            intermediate: linear(h, c.intermediate_size, vb.pp("intermediate").pp("dense"))?,
            output: linear(c.intermediate_size, h, vb.pp("output").pp("dense"))?,
            output_norm: LayerNorm::load(h, c.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
        })
    }
}

impl Bert {
    /// Loads (or, from a `VarMap`, creates) the encoder under `vb` (e.g. `bert.`).
    pub fn load(vb: VarBuilder, c: &Config) -> Result<Self> {
        let e = vb.pp("embeddings");
        let embeddings = Embeddings {
            word: embedding(c.vocab_size, c.hidden_size, e.pp("word_embeddings"))?,
            position: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                e.pp("position_embeddings"),
            )?,
            token_type: embedding(
                c.type_vocab_size,
                c.hidden_size,
                e.pp("token_type_embeddings"),
            )?,
            norm: LayerNorm::load(c.hidden_size, c.layer_norm_eps, e.pp("LayerNorm"))?,
        };
        let layers = (0..c.num_hidden_layers)
            .map(|i| Layer::load(vb.pp("encoder").pp("layer").pp(i), c))
            .collect::<Result<_>>()?;
        Ok(Self {
            embeddings,
            layers,
            heads: c.num_attention_heads,
            head_dim: c.hidden_size / c.num_attention_heads,
            act: c.hidden_act,
            fast: None,
        })
    }

    /// Chooses how inference runs. `Fast` needs the CPU, f32 weights and the erf GELU; otherwise
    /// it stays on the reference path, which [`Bert::precision`] then reports.
    pub fn set_precision(&mut self, precision: Precision) -> Result<()> {
        let supported = |l: &Layer| {
            l.query.weight().device().is_cpu() && l.query.weight().dtype() == DType::F32
        };
        self.fast = if precision == Precision::Fast
            && self.act == HiddenAct::Gelu
            && self.layers.iter().all(supported)
        {
            let layers = self.layers.iter();
            Some(
                layers
                    .map(|l| FastLayer::new(l, self.heads, self.head_dim))
                    .collect::<Result<_>>()?,
            )
        } else {
            None
        };
        Ok(())
    }

    /// The precision inference runs at.
    pub fn precision(&self) -> Precision {
        if self.fast.is_some() {
            Precision::Fast
        } else {
            Precision::F32
        }
    }

    /// Hidden states `[size, len, hidden]`. `mask` is `[size, len]` (1 = token); `ctx` turns on
    /// training mode (differentiable LayerNorm, seeded dropout).
    pub fn forward(
        &self,
        ids: &Tensor,
        types: &Tensor,
        mask: &Tensor,
        mut ctx: Option<&mut TrainCtx>,
    ) -> Result<Tensor> {
        let frozen = ctx.as_ref().map_or(0, |c| c.frozen_layers);
        let train = ctx.is_some() && frozen == 0;
        let (size, len) = ids.dims2()?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let e = &self.embeddings;
        let x = e
            .word
            .forward(ids)?
            .add(&e.token_type.forward(types)?)?
            .broadcast_add(&e.position.forward(&positions)?)?;
        let x = e.norm.forward(&x, train)?;
        let x = if train {
            dropout(&mut ctx, x, false)?
        } else {
            x
        };
        // Additive mask: 0 for tokens, a large negative number for padding; [size, 1, 1, len].
        let bias = ((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((size, 1, 1, len))?;
        if let (None, Some(fast)) = (&ctx, &self.fast) {
            return self.forward_fast(fast, x, &bias);
        }
        let mut x = x;
        for (i, layer) in self.layers.iter().enumerate() {
            if i < frozen {
                x = self.layer(layer, &x, &bias, &mut None)?;
                if i + 1 == frozen {
                    x = x.detach();
                }
            } else {
                x = self.layer(layer, &x, &bias, &mut ctx)?;
            }
        }
        Ok(x)
    }

    /// The layers through the fused kernels; `x` is the embeddings' output.
    fn forward_fast(&self, fast: &[FastLayer], x: Tensor, bias: &Tensor) -> Result<Tensor> {
        let (size, len, hidden) = x.dims3()?;
        let mut x = x.reshape((size * len, hidden))?;
        for f in fast {
            let parts = x
                .matmul(&f.qkv.t()?)?
                .apply_op1_no_bwd(&f.split.for_batch(size, len))?;
            let (q, k, v) = (parts.get(0)?, parts.get(1)?, parts.get(2)?);
            let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((size * len, hidden))?;
            let a = context
                .matmul(&f.attention_out.t()?)?
                .apply_op2_no_bwd(&x, &f.attention_norm)?;
            let inter = a.matmul(&f.intermediate.t()?)?.apply_op1_no_bwd(&f.gelu)?;
            x = inter
                .matmul(&f.output.t()?)?
                .apply_op2_no_bwd(&a, &f.output_norm)?;
        }
        Ok(x.reshape((size, len, hidden))?)
    }

    fn heads(&self, x: Tensor, size: usize, len: usize) -> Result<Tensor> {
        Ok(x.reshape((size, len, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()?)
    }

    fn layer(
        &self,
        l: &Layer,
        x: &Tensor,
        bias: &Tensor,
        ctx: &mut Option<&mut TrainCtx>,
    ) -> Result<Tensor> {
        let train = ctx.is_some();
        let (size, len, hidden) = x.dims3()?;
        let q = self.heads(l.query.forward(x)?, size, len)?;
        let k = self.heads(l.key.forward(x)?, size, len)?;
        let v = self.heads(l.value.forward(x)?, size, len)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?.broadcast_add(bias)?;
        let probs = if train {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let probs = dropout(ctx, probs, true)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((size, len, hidden))?;
        let attended = dropout(ctx, l.attention_out.forward(&context)?, false)?;
        let a = l.attention_norm.forward(&(attended + x)?, train)?;
        let inter = l.intermediate.forward(&a)?;
        let inter = match self.act {
            HiddenAct::Gelu => inter.gelu_erf()?,
            HiddenAct::GeluApproximate => inter.gelu()?,
            HiddenAct::Relu => inter.relu()?,
        };
        let out = dropout(ctx, l.output.forward(&inter)?, false)?;
        l.output_norm.forward(&(out + a)?, train)
    }
}
