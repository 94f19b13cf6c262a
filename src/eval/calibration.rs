//! Calibration: whether a score of 0.8 means about 80 %. The expected calibration error (ECE)
//! of one label's scores; a temperature that rescales its logits (`sigmoid(logit / T)`); and
//! Platt scaling, which also shifts them. Both are fitted by minimising the negative
//! log-likelihood on a held-out split, and both keep the order of scores, so labels stay the
//! same once the thresholds are mapped with them.

/// Equal-width bins over 0..1 in [`ece`].
pub const ECE_BINS: usize = 15;

/// `sigmoid(logit(score) / t)`.
pub fn scale(score: f32, t: f64) -> f32 {
    let p = (score as f64).clamp(1e-7, 1.0 - 1e-7);
    let logit = (p / (1.0 - p)).ln();
    (1.0 / (1.0 + (-logit / t).exp())) as f32
}

/// Expected calibration error over [`ECE_BINS`] equal-width bins: the mean, weighted by bin
/// size, of |mean score - share of positives| in each bin.
pub fn ece(scores: &[f32], truth: &[bool]) -> f64 {
    let mut sum = [0.0f64; ECE_BINS];
    let mut pos = [0usize; ECE_BINS];
    let mut n = [0usize; ECE_BINS];
    for (&s, &t) in scores.iter().zip(truth) {
        let b = ((s as f64 * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        sum[b] += s as f64;
        pos[b] += usize::from(t);
        n[b] += 1;
    }
    let total = scores.len().max(1) as f64;
    (0..ECE_BINS)
        .filter(|&b| n[b] > 0)
        .map(|b| {
            let k = n[b] as f64;
            k / total * (sum[b] / k - pos[b] as f64 / k).abs()
        })
        .sum()
}

fn nll(scores: &[f32], truth: &[bool], t: f64) -> f64 {
    scores
        .iter()
        .zip(truth)
        .map(|(&s, &y)| {
            let p = (scale(s, t) as f64).clamp(1e-7, 1.0 - 1e-7);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum()
}

/// The temperature in 1/20..20 that minimises the negative log-likelihood (golden-section
/// search on its logarithm).
pub fn fit_temperature(scores: &[f32], truth: &[bool]) -> f64 {
    let f = |log_t: f64| nll(scores, truth, log_t.exp());
    let (mut a, mut b) = ((0.05f64).ln(), 20f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..80 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if f(c) < f(d) {
            b = d;
        } else {
            a = c;
        }
    }
    ((a + b) / 2.0).exp()
}

/// Platt scaling, `sigmoid(a * logit(score) + b)`: a slope and a shift of the logits, fitted by
/// Newton's method on the log-likelihood with a unit ridge towards `a = 1, b = 0` (separable
/// scores would otherwise send the slope to infinity). The temperature is the case `b = 0`,
/// `a = 1 / T`.
pub fn fit_platt(scores: &[f32], truth: &[bool]) -> (f64, f64) {
    let logits: Vec<f64> = scores
        .iter()
        .map(|&s| {
            let p = (s as f64).clamp(1e-7, 1.0 - 1e-7);
            (p / (1.0 - p)).ln()
        })
        .collect();
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        // Gradient and Hessian of the negative log-likelihood plus the ridge.
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (a - 1.0, b, 1.0, 0.0, 1.0);
        for (&x, &y) in logits.iter().zip(truth) {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let r = p - f64::from(u8::from(y));
            let w = p * (1.0 - p);
            ga += r * x;
            gb += r;
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        // Damped: no step longer than 1 in either parameter.
        let step = 1.0f64.max(da.abs()).max(db.abs());
        let (da, db) = (da / step, db / step);
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
}

/// `sigmoid(a * logit(score) + b)`.
pub fn platt(score: f32, (a, b): (f64, f64)) -> f32 {
    let p = (score as f64).clamp(1e-7, 1.0 - 1e-7);
    let logit = (p / (1.0 - p)).ln();
    (1.0 / (1.0 + (-(a * logit + b)).exp())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_scores_get_a_temperature_above_one_and_a_lower_ece() {
        // Scores of 0.99 and 0.01 that are right only 70 % of the time.
        let mut scores = Vec::new();
        let mut truth = Vec::new();
        for i in 0..1000 {
            let positive = i % 2 == 0;
            let right = i % 10 < 7;
            scores.push(if positive == right { 0.99 } else { 0.01 });
            truth.push(positive);
        }
        let before = ece(&scores, &truth);
        let t = fit_temperature(&scores, &truth);
        assert!(t > 1.0, "{t}");
        let scaled: Vec<f32> = scores.iter().map(|&s| scale(s, t)).collect();
        let after = ece(&scaled, &truth);
        assert!(after < before / 5.0, "{before} -> {after}");
        // Order is kept.
        assert!(scale(0.9, t) > scale(0.8, t));
        // Platt scaling, which can also shift, calibrates these at least as well.
        let ab = fit_platt(&scores, &truth);
        let by_ab: Vec<f32> = scores.iter().map(|&s| platt(s, ab)).collect();
        assert!(ece(&by_ab, &truth) < before / 5.0, "{ab:?}");
    }

    #[test]
    fn platt_scaling_fixes_shifted_scores() {
        // Positives score about 0.99, negatives spread up to 0.97: a shift, not a slope.
        let (mut scores, mut truth) = (Vec::new(), Vec::new());
        for i in 0..2000 {
            let positive = i % 4 == 0;
            let s = if positive {
                0.985 + (i % 7) as f32 * 0.002
            } else {
                0.5 + (i % 48) as f32 * 0.01
            };
            scores.push(s);
            truth.push(positive);
        }
        let params = fit_platt(&scores, &truth);
        let scaled: Vec<f32> = scores.iter().map(|&s| platt(s, params)).collect();
        assert!(ece(&scaled, &truth) < ece(&scores, &truth) / 2.0);
    }
}
