//! Metrics for multi-label classification, shared by `patrol eval` and training: per-label
//! precision/recall/F1, PR-AUC and ROC-AUC, macro and micro F1, benign false-positive rate,
//! per-style accuracy, and threshold selection on a validation split.

use std::collections::BTreeMap;

use serde::Serialize;

/// Metrics of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelMetrics {
    /// TP / (TP + FP); 0 when nothing is predicted.
    pub precision: f64,
    /// TP / (TP + FN); 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Area under the precision-recall curve (average precision).
    pub pr_auc: f64,
    /// Area under the ROC curve (ties count half).
    pub roc_auc: f64,
    /// The decision threshold used.
    pub threshold: f64,
    /// Gold positives.
    pub support: usize,
}

/// Metrics of one style tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StyleMetrics {
    /// Examples.
    pub n: usize,
    /// Share with the exact gold label set.
    pub accuracy: f64,
    /// Share with any predicted label.
    pub flag_rate: f64,
}

/// The report `patrol eval --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Examples.
    pub n: usize,
    /// Mean of the per-label F1.
    pub macro_f1: f64,
    /// F1 over all label decisions pooled.
    pub micro_f1: f64,
    /// Share of gold-benign examples with any predicted label.
    pub benign_fpr: f64,
    /// Per-label metrics.
    pub labels: BTreeMap<String, LabelMetrics>,
    /// Per-style metrics.
    pub by_style: BTreeMap<String, StyleMetrics>,
}

fn f1(tp: usize, fp: usize, fn_: usize) -> (f64, f64, f64) {
    let p = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let r = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    let f = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
    (p, r, f)
}

/// Average precision: the mean of precision at each positive, scores sorted descending
/// (tied scores are taken as one step).
pub fn pr_auc(scores: &[f32], gold: &[bool]) -> f64 {
    let positives = gold.iter().filter(|g| **g).count();
    if positives == 0 {
        return 0.0;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap) = (0usize, 0usize, 0.0);
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        let (mut step_tp, mut step_fp) = (0, 0);
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            if gold[order[j]] {
                step_tp += 1;
            } else {
                step_fp += 1;
            }
            j += 1;
        }
        tp += step_tp;
        fp += step_fp;
        ap += step_tp as f64 * tp as f64 / (tp + fp) as f64;
        i = j;
    }
    ap / positives as f64
}

/// ROC-AUC by the rank-sum (Mann-Whitney) formula, ties counting half; 0.5 when one class is
/// missing.
pub fn roc_auc(scores: &[f32], gold: &[bool]) -> f64 {
    let pos = gold.iter().filter(|g| **g).count();
    let neg = gold.len() - pos;
    if pos == 0 || neg == 0 {
        return 0.5;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // 1-based ranks i+1..=j
        rank_sum += (i..j).filter(|&k| gold[order[k]]).count() as f64 * avg_rank;
        i = j;
    }
    (rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64
}

/// Computes every metric. `gold[i][l]` and `scores[i][l]` are per example and label.
pub fn evaluate(
    labels: &[String],
    gold: &[Vec<bool>],
    scores: &[Vec<f32>],
    thresholds: &[f32],
    styles: &[String],
) -> EvalReport {
    let n = gold.len();
    let pred: Vec<Vec<bool>> = scores
        .iter()
        .map(|row| row.iter().zip(thresholds).map(|(s, t)| s >= t).collect())
        .collect();
    let mut per_label = BTreeMap::new();
    let (mut all_tp, mut all_fp, mut all_fn) = (0, 0, 0);
    let mut f1_sum = 0.0;
    for (l, name) in labels.iter().enumerate() {
        let (mut tp, mut fp, mut fn_) = (0, 0, 0);
        for i in 0..n {
            match (pred[i][l], gold[i][l]) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        all_tp += tp;
        all_fp += fp;
        all_fn += fn_;
        let (precision, recall, f) = f1(tp, fp, fn_);
        f1_sum += f;
        let col: Vec<f32> = scores.iter().map(|r| r[l]).collect();
        let g: Vec<bool> = gold.iter().map(|r| r[l]).collect();
        per_label.insert(
            name.clone(),
            LabelMetrics {
                precision,
                recall,
                f1: f,
                pr_auc: pr_auc(&col, &g),
                roc_auc: roc_auc(&col, &g),
                threshold: thresholds[l] as f64,
                support: tp + fn_,
            },
        );
    }
    let benign: Vec<usize> = (0..n).filter(|&i| gold[i].iter().all(|g| !g)).collect();
    let benign_fp = benign
        .iter()
        .filter(|&&i| pred[i].iter().any(|p| *p))
        .count();
    let mut by_style: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for i in 0..n {
        let style = styles.get(i).map(String::as_str).unwrap_or("");
        let entry = by_style.entry(style.to_string()).or_default();
        entry.0 += 1;
        entry.1 += (pred[i] == gold[i]) as usize;
        entry.2 += pred[i].iter().any(|p| *p) as usize;
    }
    EvalReport {
        n,
        macro_f1: if labels.is_empty() {
            0.0
        } else {
            f1_sum / labels.len() as f64
        },
        micro_f1: f1(all_tp, all_fp, all_fn).2,
        benign_fpr: if benign.is_empty() {
            0.0
        } else {
            benign_fp as f64 / benign.len() as f64
        },
        labels: per_label,
        by_style: by_style
            .into_iter()
            .map(|(s, (n, ok, flagged))| {
                (
                    s,
                    StyleMetrics {
                        n,
                        accuracy: ok as f64 / n as f64,
                        flag_rate: flagged as f64 / n as f64,
                    },
                )
            })
            .collect(),
    }
}

/// One candidate threshold of one label: flag when score ≥ `threshold`.
struct Candidate {
    threshold: f32,
    f1: f64,
    benign_fp: usize,
}

/// Every distinct score of `label` as a threshold (plus one above the maximum), with the F1 and
/// benign false positives it gives; O(n log n).
fn candidates(
    gold: &[Vec<bool>],
    scores: &[Vec<f32>],
    benign: &[bool],
    label: usize,
) -> Vec<Candidate> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b][label].total_cmp(&scores[a][label]));
    let positives = gold.iter().filter(|g| g[label]).count();
    let top = order.first().map_or(1.0, |&i| scores[i][label]);
    let mut out = vec![Candidate {
        threshold: top + 1e-6,
        f1: 0.0,
        benign_fp: 0,
    }];
    let (mut tp, mut fp, mut bfp) = (0, 0, 0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]][label];
        while i < order.len() && scores[order[i]][label] == t {
            let e = order[i];
            if gold[e][label] {
                tp += 1;
            } else {
                fp += 1;
            }
            bfp += benign[e] as usize;
            i += 1;
        }
        out.push(Candidate {
            threshold: t,
            f1: f1(tp, fp, positives - tp).2,
            benign_fp: bfp,
        });
    }
    out
}

/// Per-label thresholds chosen on a validation split: each maximises its label's F1, subject
/// to the benign false-positive rate (share of benign posts with any label) staying within
/// `max_benign_fpr` where that is reachable. The constraint is met by a Lagrangian search: each
/// label maximises `F1 - λ · its benign FP share`, and the smallest λ that meets the budget wins.
pub fn choose_thresholds(gold: &[Vec<bool>], scores: &[Vec<f32>], max_benign_fpr: f64) -> Vec<f32> {
    let n_labels = scores.first().map_or(0, Vec::len);
    let benign: Vec<bool> = gold.iter().map(|g| g.iter().all(|x| !x)).collect();
    let n_benign = benign.iter().filter(|b| **b).count().max(1) as f64;
    let cands: Vec<Vec<Candidate>> = (0..n_labels)
        .map(|l| candidates(gold, scores, &benign, l))
        .collect();
    let pick = |lambda: f64| -> Vec<f32> {
        cands
            .iter()
            .map(|c| {
                let value = |x: &Candidate| x.f1 - lambda * x.benign_fp as f64 / n_benign;
                // Candidates run from the highest threshold down; keep the first (highest) best.
                c.iter()
                    .fold(None::<&Candidate>, |best, x| match best {
                        Some(b) if value(b) >= value(x) => Some(b),
                        _ => Some(x),
                    })
                    .map_or(0.5, |b| b.threshold)
            })
            .collect()
    };
    let fpr = |t: &[f32]| {
        let flagged = (0..gold.len())
            .filter(|&i| benign[i] && (0..n_labels).any(|l| scores[i][l] >= t[l]))
            .count();
        flagged as f64 / n_benign
    };
    let free = pick(0.0);
    if fpr(&free) <= max_benign_fpr {
        return free;
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    while fpr(&pick(hi)) > max_benign_fpr && hi < 1e9 {
        hi *= 2.0;
    }
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if fpr(&pick(mid)) > max_benign_fpr {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    pick(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_metrics() {
        // Four examples, two labels; thresholds 0.5.
        let labels = vec!["a".to_string(), "b".to_string()];
        let gold = vec![
            vec![true, false],
            vec![true, true],
            vec![false, false],
            vec![false, false],
        ];
        let scores = vec![
            vec![0.9, 0.1],
            vec![0.4, 0.8],
            vec![0.6, 0.2],
            vec![0.1, 0.3],
        ];
        let styles: Vec<String> = ["x", "x", "y", "y"].iter().map(|s| s.to_string()).collect();
        let r = evaluate(&labels, &gold, &scores, &[0.5, 0.5], &styles);
        let a = &r.labels["a"];
        // a: TP=1 (ex0), FP=1 (ex2), FN=1 (ex1): P=R=F1=0.5.
        assert_eq!((a.precision, a.recall, a.f1, a.support), (0.5, 0.5, 0.5, 2));
        // a's ranking: 0.9(+) 0.6(-) 0.4(+) 0.1(-): AP = (1/1 + 2/3)/2; AUC = 3/4.
        assert!((a.pr_auc - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert!((a.roc_auc - 0.75).abs() < 1e-12);
        let b = &r.labels["b"];
        assert_eq!((b.precision, b.recall, b.f1), (1.0, 1.0, 1.0));
        assert!((r.macro_f1 - 0.75).abs() < 1e-12);
        // Micro: TP=2, FP=1, FN=1 → P=R=2/3.
        assert!((r.micro_f1 - 2.0 / 3.0).abs() < 1e-12);
        // Benign examples 2 and 3: example 2 is flagged.
        assert_eq!(r.benign_fpr, 0.5);
        assert_eq!(r.by_style["x"].n, 2);
        assert_eq!(r.by_style["x"].accuracy, 0.5); // ex0 right, ex1 wrong
        assert_eq!(r.by_style["y"].flag_rate, 0.5);
    }

    #[test]
    fn roc_auc_counts_ties_half() {
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), 0.5);
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, false]), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.1], &[true, true]), 0.5);
    }

    #[test]
    fn thresholds_respect_the_benign_fpr_budget() {
        // Label 0 separates perfectly except one benign example at 0.7.
        let gold = vec![
            vec![true],
            vec![true],
            vec![false],
            vec![false],
            vec![false],
        ];
        let scores = vec![vec![0.9], vec![0.65], vec![0.7], vec![0.1], vec![0.2]];
        let free = choose_thresholds(&gold, &scores, 1.0);
        assert!(free[0] <= 0.65, "{free:?}");
        let strict = choose_thresholds(&gold, &scores, 0.0);
        assert!(strict[0] > 0.7 && strict[0] <= 0.9, "{strict:?}");
    }
}
