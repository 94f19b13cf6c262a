//! Fresh weights for a model built from a `VarMap` (training from scratch, the placeholder).

use std::collections::HashMap;

use candle_core::Tensor;
use candle_nn::VarMap;

use crate::error::Result;

/// Re-initialises every variable deterministically from `seed` (candle's CPU RNG cannot be
/// seeded): BERT-style normal(0, `std`) for matrices and embeddings, ones for LayerNorm
/// weights, zeros for biases.
pub fn init_weights(varmap: &VarMap, seed: u64, std: f64) -> Result<()> {
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

/// The variables of `varmap` as named tensors, for saving.
pub fn tensors_of(varmap: &VarMap) -> HashMap<String, Tensor> {
    varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
}
