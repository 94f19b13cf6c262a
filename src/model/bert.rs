//! The BERT encoder, in Candle, with Hugging Face's tensor names.
//!
//! It mirrors candle-transformers' `BertModel` (whose `Config` it reads). Inference runs either
//! the reference layers (candle's own operations, fused LayerNorm and softmax) or, by default
//! ([`Precision::Fast`]), the fused kernels of [`super::kernels`] with one query/key/value
//! projection per layer. The reference layers take a [`Mode`], so training composes them with
//! its own LayerNorm, softmax and dropout without any training state living here.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{embedding, linear, Embedding, Init, Linear, VarBuilder};
pub use candle_transformers::models::bert::{Config, HiddenAct};

use super::kernels::{BiasGelu, BiasResidualNorm, SplitHeads};
use crate::error::Result;

/// How inference computes the encoder layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[non_exhaustive]
pub enum Precision {
    /// Fused CPU kernels (`src/model/kernels.rs`): one pass each for bias + GELU (approximate erf,
    /// error under 3e-6) and bias + residual + LayerNorm, and one fused query/key/value
    /// projection. On other devices it is the same as `F32`.
    #[default]
    Fast,
    /// candle's own operations with exact `erf`: the reference that training uses.
    F32,
}

/// Where dropout applies in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// Hidden states: embeddings, attention output, feed-forward output.
    Hidden,
    /// Attention probabilities.
    Attention,
}

/// The steps where training differs from inference. [`Inference`] is the identity here;
/// training supplies its own (differentiable LayerNorm, seeded dropout).
pub trait Mode {
    /// LayerNorm of `x`.
    fn norm(&mut self, norm: &LayerNorm, x: &Tensor) -> Result<Tensor>;
    /// Softmax over the last dimension.
    fn softmax(&mut self, x: &Tensor) -> Result<Tensor>;
    /// Dropout at `site` (identity in inference).
    fn dropout(&mut self, x: Tensor, site: Site) -> Result<Tensor>;
}

/// Inference: candle's fused LayerNorm and softmax kernels, no dropout.
pub struct Inference;

impl Mode for Inference {
    fn norm(&mut self, norm: &LayerNorm, x: &Tensor) -> Result<Tensor> {
        norm.fused(x)
    }
    fn softmax(&mut self, x: &Tensor) -> Result<Tensor> {
        Ok(candle_nn::ops::softmax_last_dim(x)?)
    }
    fn dropout(&mut self, x: Tensor, _: Site) -> Result<Tensor> {
        Ok(x)
    }
}

/// LayerNorm with HF names (`weight`, `bias`).
pub struct LayerNorm {
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

    /// candle's fused kernel (no backward pass); the op-by-op form for strided input.
    pub fn fused(&self, x: &Tensor) -> Result<Tensor> {
        if !x.is_contiguous() {
            return self.differentiable(x);
        }
        Ok(candle_nn::ops::layer_norm(
            x,
            &self.weight,
            &self.bias,
            self.eps as f32,
        )?)
    }

    /// Built from differentiable operations, for training.
    pub fn differentiable(&self, x: &Tensor) -> Result<Tensor> {
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

    /// Hidden states `[size, len, hidden]` for inference. `mask` is `[size, len]` (1 = token).
    pub fn forward(&self, ids: &Tensor, types: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let x = self.embed(ids, types, &mut Inference)?;
        let bias = mask_bias(mask)?;
        if let Some(fast) = &self.fast {
            return self.forward_fast(fast, x, &bias);
        }
        (0..self.layers.len()).try_fold(x, |x, i| self.layer(i, &x, &bias, &mut Inference))
    }

    /// The embeddings' output `[size, len, hidden]`.
    pub fn embed(&self, ids: &Tensor, types: &Tensor, mode: &mut impl Mode) -> Result<Tensor> {
        let len = ids.dim(1)?;
        let positions = Tensor::arange(0u32, len as u32, ids.device())?;
        let e = &self.embeddings;
        let x = e
            .word
            .forward(ids)?
            .add(&e.token_type.forward(types)?)?
            .broadcast_add(&e.position.forward(&positions)?)?;
        let x = mode.norm(&e.norm, &x)?;
        mode.dropout(x, Site::Hidden)
    }

    /// Encoder layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
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

    /// Reference layer `i` over `x`, with the additive mask `bias` of [`mask_bias`].
    pub fn layer(
        &self,
        i: usize,
        x: &Tensor,
        bias: &Tensor,
        mode: &mut impl Mode,
    ) -> Result<Tensor> {
        let l = &self.layers[i];
        let (size, len, hidden) = x.dims3()?;
        let q = self.heads(l.query.forward(x)?, size, len)?;
        let k = self.heads(l.key.forward(x)?, size, len)?;
        let v = self.heads(l.value.forward(x)?, size, len)?;
        let scores = (q.matmul(&k.t()?)? / (self.head_dim as f64).sqrt())?.broadcast_add(bias)?;
        let probs = mode.softmax(&scores)?;
        let probs = mode.dropout(probs, Site::Attention)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((size, len, hidden))?;
        let attended = mode.dropout(l.attention_out.forward(&context)?, Site::Hidden)?;
        let a = mode.norm(&l.attention_norm, &(attended + x)?)?;
        let inter = l.intermediate.forward(&a)?;
        let inter = match self.act {
            HiddenAct::Gelu => inter.gelu_erf()?,
            HiddenAct::GeluApproximate => inter.gelu()?,
            HiddenAct::Relu => inter.relu()?,
        };
        let out = mode.dropout(l.output.forward(&inter)?, Site::Hidden)?;
        mode.norm(&l.output_norm, &(out + a)?)
    }
}

/// The additive attention mask: 0 for tokens, a large negative number for padding;
/// `[size, 1, 1, len]` from a `[size, len]` mask.
pub fn mask_bias(mask: &Tensor) -> Result<Tensor> {
    let (size, len) = mask.dims2()?;
    Ok(((mask.to_dtype(DType::F32)? - 1.0)? * 1e9)?.reshape((size, 1, 1, len))?)
}

/// A BERT configuration with GELU, two token types and BERT's usual defaults.
#[cfg(any(feature = "train", feature = "testing"))]
pub fn config(
    vocab_size: usize,
    hidden: usize,
    layers: usize,
    heads: usize,
    ffn: usize,
    max_positions: usize,
) -> Config {
    Config {
        vocab_size,
        hidden_size: hidden,
        num_hidden_layers: layers,
        num_attention_heads: heads,
        intermediate_size: ffn,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: 0.1,
        max_position_embeddings: max_positions,
        type_vocab_size: 2,
        initializer_range: 0.02,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
        position_embedding_type: Default::default(),
        use_cache: false,
        classifier_dropout: None,
        model_type: Some("bert".into()),
    }
}
