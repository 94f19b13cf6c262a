//! An int8 lever, measured: candle's quantized matmul (`QMatMul`, activations kept in f32)
//! against the f32 matmul of `candle_nn::Linear`, on the student's three linear shapes for a
//! batch of 32 posts of 47 tokens (1,504 rows), one thread each.
//!
//! Run on an idle machine: `CANDLE_NUM_THREADS=1 RAYON_NUM_THREADS=1 cargo run --release --example quantized_matmul`
//!
//! On this project's AVX2 machine (no AVX-512 or AVX-VNNI) every quantized type was slower than
//! f32 (BENCHMARKS.md), so int8 weights are not one of patrol's precisions.

use std::time::Instant;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

fn main() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    let reps = 20;
    for (m, k, n) in [(1504, 256, 256), (1504, 256, 1024), (1504, 1024, 256)] {
        let w = Tensor::randn(0f32, 0.05, (n, k), &dev)?;
        let x = Tensor::randn(0f32, 1.0, (m, k), &dev)?;
        let linear = candle_nn::Linear::new(w.clone(), None);
        let flops = 2.0 * (m * k * n) as f64;
        let time = |f: &dyn Fn() -> candle_core::Result<Tensor>| -> candle_core::Result<f64> {
            f()?;
            let t = Instant::now();
            for _ in 0..reps {
                f()?;
            }
            Ok(t.elapsed().as_secs_f64() / reps as f64)
        };
        let f32_s = time(&|| linear.forward(&x))?;
        println!(
            "{m}x{k}x{n} f32: {:.2} ms, {:.1} GFLOP/s",
            f32_s * 1e3,
            flops / f32_s / 1e9
        );
        for dtype in [
            GgmlDType::Q8_0,
            GgmlDType::Q6K,
            GgmlDType::Q4K,
            GgmlDType::F16,
        ] {
            let q = QMatMul::from_qtensor(QTensor::quantize(&w, dtype)?)?;
            let s = time(&|| q.forward(&x))?;
            let diff = (q.forward(&x)? - linear.forward(&x)?)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            println!(
                "{m}x{k}x{n} {dtype:?}: {:.2} ms, {:.1} GFLOP/s, {:.2}x f32, max |diff| {diff:.4}",
                s * 1e3,
                flops / s / 1e9,
                f32_s / s
            );
        }
    }
    Ok(())
}
