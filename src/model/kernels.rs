//! Fused CPU kernels for the fast inference path ([`super::bert::Precision::Fast`]).
//!
//! candle runs a BERT layer as a chain of separate passes: bias add, GELU through scalar `erff`,
//! residual add, LayerNorm, and a copy per attention head split. On this project's 2-core
//! machine those passes took about 40 % of a scan (BENCHMARKS.md). These kernels do each
//! chain in one pass over the data:
//!
//! - [`BiasGelu`]: `gelu(y + bias)`, with an erf approximation that vectorises (absolute error
//!   under 3e-6 of libm's `erff` in f32 arithmetic; unit-tested below);
//! - [`BiasResidualNorm`]: `LayerNorm(y + bias + residual)`;
//! - [`SplitHeads`]: the fused query/key/value projection plus its bias, split into three
//!   contiguous `[size, heads, len, head_dim]` blocks, with the query pre-scaled by
//!   `1 / sqrt(head_dim)`.
//!
//! Each kernel is compiled twice, for AVX2+FMA and for the baseline target, and picks one at run
//! time. Rows are spread across rayon's workers.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape};
use rayon::prelude::*;

/// Rows per rayon task: small enough to balance two cores, large enough to amortise a task.
const MIN_ROWS_PER_TASK: usize = 32;

/// erf by Abramowitz and Stegun 7.1.28 (absolute error at most 3e-7 in exact arithmetic, under
/// 3e-6 in f32):
/// no exponential and no branch, so a loop over it vectorises.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let p = 1.0
        + a * (0.070_523_08
            + a * (0.042_282_01
                + a * (0.009_270_527
                    + a * (0.000_152_014_3 + a * (0.000_276_567_2 + a * 0.000_043_063_8)))));
    let p2 = p * p;
    let p4 = p2 * p2;
    let p8 = p4 * p4;
    let p16 = p8 * p8;
    (1.0 - 1.0 / p16).copysign(x)
}

/// GELU with the erf form (BERT's `gelu`), through [`erf`].
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Runs `$body` compiled for AVX2+FMA when the CPU has them, else for the baseline target.
macro_rules! dispatch {
    ($name:ident ( $($arg:ident : $ty:ty),* ) $body:block) => {
        fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide($($arg: $ty),*) { body($($arg),*) }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU supports the features `wide` was compiled for.
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

dispatch!(bias_gelu_row(out: &mut [f32], y: &[f32], bias: &[f32]) {
    for ((o, &v), &b) in out.iter_mut().zip(y).zip(bias) {
        *o = gelu(v + b);
    }
});

dispatch!(bias_residual_norm_row(
    out: &mut [f32],
    y: &[f32],
    residual: &[f32],
    p: &NormParams
) {
    // Eight partial sums, so that the reductions vectorise without reassociating floats.
    let mut sum = [0f32; 8];
    for ((o, (&v, &r)), &b) in out.iter_mut().zip(y.iter().zip(residual)).zip(p.bias.iter()) {
        *o = v + b + r;
    }
    let chunks = out.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for i in 0..8 {
            sum[i] += c[i];
        }
    }
    let n = out.len() as f32;
    let mean = (sum.iter().sum::<f32>() + tail) / n;
    let mut sq = [0f32; 8];
    let chunks = out.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
    for c in chunks {
        for i in 0..8 {
            let d = c[i] - mean;
            sq[i] += d * d;
        }
    }
    let var = (sq.iter().sum::<f32>() + tail) / n;
    let inv = 1.0 / (var + p.eps).sqrt();
    for ((o, &g), &b) in out.iter_mut().zip(p.gamma.iter()).zip(p.beta.iter()) {
        *o = (*o - mean) * inv * g + b;
    }
});

/// The contiguous f32 data behind a storage and layout, or an error naming the kernel.
fn contiguous<'a>(name: &str, s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{name}: input must be contiguous"),
    }
}

/// The last dimension of a layout, checked against the expected width.
fn width(name: &str, l: &Layout, expected: usize) -> candle_core::Result<usize> {
    let n = l.dims().last().copied().unwrap_or(0);
    if n != expected || n == 0 {
        candle_core::bail!("{name}: last dimension {n}, expected {expected}");
    }
    Ok(n)
}

/// Output rows computed in parallel by `f(out_row, row_index)`.
fn map_rows(len: usize, n: usize, f: impl Fn(&mut [f32], usize) + Sync) -> Vec<f32> {
    let mut out = vec![0f32; len];
    out.par_chunks_mut(n)
        .with_min_len(MIN_ROWS_PER_TASK)
        .enumerate()
        .for_each(|(i, row)| f(row, i));
    out
}

/// `gelu(y + bias)` over the last dimension; the bias is the op's own data.
pub struct BiasGelu {
    bias: Arc<[f32]>,
}

impl BiasGelu {
    /// A kernel for one layer's intermediate bias.
    pub fn new(bias: Vec<f32>) -> Self {
        Self { bias: bias.into() }
    }
}

impl CustomOp1 for BiasGelu {
    fn name(&self) -> &'static str {
        "bias-gelu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = contiguous(self.name(), s, l)?;
        let n = width(self.name(), l, self.bias.len())?;
        let out = map_rows(y.len(), n, |row, i| {
            bias_gelu_row(row, &y[i * n..(i + 1) * n], &self.bias)
        });
        Ok((CpuStorage::F32(out), l.shape().clone()))
    }
}

/// LayerNorm parameters plus the bias of the projection in front of it.
pub struct NormParams {
    bias: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

/// `LayerNorm(y + bias + residual)` over the last dimension; `y` is the op's left input and the
/// residual its right one.
pub struct BiasResidualNorm {
    params: Arc<NormParams>,
}

impl BiasResidualNorm {
    /// A kernel for one projection bias and the LayerNorm after it.
    pub fn new(bias: Vec<f32>, gamma: Vec<f32>, beta: Vec<f32>, eps: f64) -> Self {
        let params = NormParams {
            bias,
            gamma,
            beta,
            eps: eps as f32,
        };
        Self {
            params: Arc::new(params),
        }
    }
}

impl CustomOp2 for BiasResidualNorm {
    fn name(&self) -> &'static str {
        "bias-residual-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = contiguous(self.name(), s1, l1)?;
        let r = contiguous(self.name(), s2, l2)?;
        let n = width(self.name(), l1, self.params.bias.len())?;
        if y.len() != r.len() {
            candle_core::bail!("{}: residual shape {:?} differs", self.name(), l2.dims());
        }
        let p = &self.params;
        let out = map_rows(y.len(), n, |row, i| {
            bias_residual_norm_row(row, &y[i * n..(i + 1) * n], &r[i * n..(i + 1) * n], p)
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Splits a fused query/key/value projection `[size * len, 3 * hidden]` into
/// `[3, size, heads, len, head_dim]`, adding the bias and scaling the query block.
pub struct SplitHeads {
    bias: Arc<[f32]>,
    heads: usize,
    head_dim: usize,
    query_scale: f32,
}

impl SplitHeads {
    /// A kernel for one layer's fused bias (query, key, value concatenated).
    pub fn new(bias: Vec<f32>, heads: usize, head_dim: usize) -> Self {
        Self {
            bias: bias.into(),
            heads,
            head_dim,
            query_scale: 1.0 / (head_dim as f32).sqrt(),
        }
    }

    /// The op for a batch of `size` rows of `len` tokens.
    pub fn for_batch(&self, size: usize, len: usize) -> SplitHeadsBatch<'_> {
        SplitHeadsBatch {
            op: self,
            size,
            len,
        }
    }
}

/// [`SplitHeads`] bound to one batch shape.
pub struct SplitHeadsBatch<'a> {
    op: &'a SplitHeads,
    size: usize,
    len: usize,
}

impl CustomOp1 for SplitHeadsBatch<'_> {
    fn name(&self) -> &'static str {
        "split-heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let SplitHeads {
            bias,
            heads,
            head_dim,
            query_scale,
        } = self.op;
        let (heads, d) = (*heads, *head_dim);
        let (size, len) = (self.size, self.len);
        let y = contiguous(self.name(), s, l)?;
        let n = width(self.name(), l, bias.len())?;
        let hidden = heads * d;
        if n != 3 * hidden || y.len() != size * len * n {
            candle_core::bail!("{}: input {:?} for {size}x{len}", self.name(), l.dims());
        }
        // One output row of head_dim values per (part, row, head, position).
        let out = map_rows(3 * size * heads * len * d, d, |dst, i| {
            let pos = i % len;
            let head = (i / len) % heads;
            let row = (i / (len * heads)) % size;
            let part = i / (len * heads * size);
            let col = part * hidden + head * d;
            let src = &y[(row * len + pos) * n + col..][..d];
            let b = &bias[col..col + d];
            let scale = if part == 0 { *query_scale } else { 1.0 };
            for ((o, &v), &bb) in dst.iter_mut().zip(src).zip(b) {
                *o = (v + bb) * scale;
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((3, size, heads, len, d))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn erf_matches_libm_within_3e_6() {
        let worst = (-60_000..=60_000)
            .map(|i| i as f32 * 1e-4)
            .map(|x| (erf(x) - libm_erf(x)).abs())
            .fold(0f32, f32::max);
        assert!(worst < 3e-6, "worst absolute error {worst}");
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erf(1e30), 1.0);
        assert_eq!(erf(-1e30), -1.0);
        assert!(erf(f32::NAN).is_nan());
    }

    fn libm_erf(x: f32) -> f32 {
        // candle's exact GELU uses this erf; compare through it.
        let t = Tensor::new(&[x * std::f32::consts::SQRT_2], &Device::Cpu).unwrap();
        let g = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap()[0];
        // gelu(z) = z/2 (1 + erf(z/sqrt 2)), so erf(x) = 2 gelu(z)/z - 1 for z = x sqrt 2.
        if x == 0.0 {
            0.0
        } else {
            2.0 * g / (x * std::f32::consts::SQRT_2) - 1.0
        }
    }

    #[test]
    fn fused_kernels_match_candle_ops() {
        let dev = Device::Cpu;
        let (m, n) = (37, 24);
        let y = Tensor::randn(0f32, 2.0, (m, n), &dev).unwrap();
        let r = Tensor::randn(0f32, 1.0, (m, n), &dev).unwrap();
        let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - 1.0).collect();
        let gamma: Vec<f32> = (0..n).map(|i| 1.0 + i as f32 * 0.01).collect();
        let beta: Vec<f32> = (0..n).map(|i| i as f32 * -0.02).collect();
        let b = Tensor::new(bias.as_slice(), &dev).unwrap();
        let g = Tensor::new(gamma.as_slice(), &dev).unwrap();
        let be = Tensor::new(beta.as_slice(), &dev).unwrap();

        let fast = y.apply_op1_no_bwd(&BiasGelu::new(bias.clone())).unwrap();
        let reference = y.broadcast_add(&b).unwrap().gelu_erf().unwrap();
        assert_close(&fast, &reference, 1e-5);

        let op = BiasResidualNorm::new(bias.clone(), gamma, beta, 1e-12);
        let fast = y.apply_op2_no_bwd(&r, &op).unwrap();
        let sum = (y.broadcast_add(&b).unwrap() + &r).unwrap();
        let reference = candle_nn::ops::layer_norm(&sum, &g, &be, 1e-12).unwrap();
        assert_close(&fast, &reference, 1e-4);

        // Two heads of width 4, two rows of three tokens: hidden 8, fused width 24.
        let (size, len, heads, d) = (2, 3, 2, 4);
        let qkv = Tensor::randn(0f32, 1.0, (size * len, 3 * heads * d), &dev).unwrap();
        let split = SplitHeads::new(bias, heads, d);
        let fast = qkv.apply_op1_no_bwd(&split.for_batch(size, len)).unwrap();
        let with_bias = qkv.broadcast_add(&b).unwrap();
        for part in 0..3 {
            let block = with_bias
                .narrow(1, part * heads * d, heads * d)
                .unwrap()
                .reshape((size, len, heads, d))
                .unwrap()
                .transpose(1, 2)
                .unwrap();
            let scale = if part == 0 { 0.5 } else { 1.0 };
            assert_close(&fast.get(part).unwrap(), &(block * scale).unwrap(), 1e-6);
        }
    }

    fn assert_close(a: &Tensor, b: &Tensor, tol: f32) {
        assert_eq!(a.dims(), b.dims());
        let diff = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff <= tol, "max difference {diff} over {tol}");
    }
}
