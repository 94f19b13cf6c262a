//! Training a tiny model for a few steps: the loss falls, the run is reproducible, and the output
//! directory loads in the engine with no conversion.

use patrol::train::{train, TrainConfig};

fn tiny_config(out: &std::path::Path, vocab: &str) -> (TrainConfig, String) {
    let text = format!(
        r#"
output = "{}"
[data]
train = "datasets/train.jsonl"
valid = "datasets/valid.jsonl"
limit = 96
[model]
name = "tiny-test"
{vocab}
vocab_size = 3000
hidden = 32
layers = 1
heads = 2
ffn = 64
max_length = 48
[train]
seed = 5
epochs = 4
patience = 4
batch_size = 16
learning_rate = 2e-3
weight_decay = 0.0
warmup_ratio = 0.1
augment_rate = 0.3
max_pos_weight = 5.0
max_benign_fpr = 0.02
half = false
"#,
        out.display()
    );
    let cfg: TrainConfig = toml::from_str(&text).unwrap();
    (cfg, text)
}

/// A one-thread pool (reproducible gemm reductions) and a tiny model trained in it under
/// `dir/name`.
fn one_thread_tiny_model(
    dir: &std::path::Path,
    name: &str,
) -> (rayon::ThreadPool, std::path::PathBuf) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let out = dir.join(name);
    let (cfg, text) = tiny_config(&out, "");
    pool.install(|| train(&cfg, &text, &mut |_| {})).unwrap();
    (pool, out)
}

#[test]
fn a_tiny_run_learns_reproduces_and_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let (cfg, text) = tiny_config(&tmp.path().join("a"), "");
    // One worker thread: multi-threaded gemm reductions differ in the last bits from run to run.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = pool.install(|| train(&cfg, &text, &mut |_| {})).unwrap();
    assert_eq!(a.epochs.len(), 4);
    let first = a.epochs.first().unwrap().train_loss;
    let last = a.epochs.last().unwrap().train_loss;
    assert!(last < first, "loss should fall: {first} -> {last}");
    // The output is an engine model directory, with the config and the log beside it.
    for f in [
        "config.json",
        "patrol.json",
        "model.safetensors",
        "vocab.txt",
        "train.toml",
        "train_log.jsonl",
    ] {
        assert!(cfg.output.join(f).is_file(), "{f} missing");
    }
    let c = patrol::Classifier::from_dir(&cfg.output, Default::default()).unwrap();
    assert!(!c.is_untrained());
    assert_eq!(c.classify(&["荷物の受け取り"]).unwrap().len(), 1);
    // Same seed and vocabulary, same run.
    let pinned = format!("vocab = \"{}\"", cfg.output.join("vocab.txt").display());
    let (cfg_b, text_b) = tiny_config(&tmp.path().join("b"), &pinned);
    let b = pool
        .install(|| train(&cfg_b, &text_b, &mut |_| {}))
        .unwrap();
    for (x, y) in a.epochs.iter().zip(&b.epochs) {
        assert!(
            (x.train_loss - y.train_loss).abs() < 1e-6,
            "{} vs {}",
            x.train_loss,
            y.train_loss
        );
        assert!(
            (x.valid_macro_f1 - y.valid_macro_f1).abs() <= 0.005,
            "{x:?} vs {y:?}"
        );
    }
}

#[test]
fn fine_tuning_loads_the_base_and_keeps_frozen_layers_fixed() {
    let tmp = tempfile::tempdir().unwrap();
    let (pool, base) = one_thread_tiny_model(tmp.path(), "base");
    // Fine-tune the trained tiny model with its one encoder layer (and embeddings) frozen.
    let tuned = tmp.path().join("tuned");
    let extra = format!("base = \"{}\"\nfreeze_layers = 1", base.display());
    let (cfg, text) = tiny_config(&tuned, &extra);
    let run = pool.install(|| train(&cfg, &text, &mut |_| {})).unwrap();
    assert!(run.best.is_some());
    let load = |dir: &std::path::Path| {
        candle_core::safetensors::load(dir.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap()
    };
    let (before, after) = (load(&base), load(&tuned));
    let differs = |name: &str| {
        let diff = (&before[name] - &after[name]).unwrap().abs().unwrap();
        diff.max_all().unwrap().to_scalar::<f32>().unwrap() > 0.0
    };
    let mut frozen = 0;
    for name in before.keys() {
        if name.contains("embeddings.") || name.contains("encoder.layer.0.") {
            assert!(!differs(name), "frozen {name} changed");
            frozen += 1;
        }
    }
    assert!(frozen > 10, "only {frozen} frozen tensors found");
    assert!(differs("classifier.weight"), "the head did not train");
    assert!(
        differs("bert.pooler.dense.weight"),
        "the pooler did not train"
    );
}

#[test]
fn distillation_trains_on_the_transfer_set_and_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let (pool, teacher) = one_thread_tiny_model(tmp.path(), "teacher");
    let unlabelled = tmp.path().join("unlabelled.txt");
    std::fs::write(
        &unlabelled,
        "今日はいい天気\n\n駅前のパン屋が新しくなった\n週末は映画を見る\n宿題が終わらない\nおはよう\n",
    )
    .unwrap();
    let student = tmp.path().join("student");
    let (_, base_text) = tiny_config(&student, "");
    let text = format!(
        "{base_text}\n[distill]\nteacher = \"{}\"\ngold_weight = 0.5\ntemperature = 2.0\n\
         unlabelled = [\"{}\"]\naugmented_copies = 1\n",
        teacher.display(),
        unlabelled.display()
    );
    let cfg: TrainConfig = toml::from_str(&text).unwrap();
    let summary = pool.install(|| train(&cfg, &text, &mut |_| {})).unwrap();
    // 96 training posts, one augmented copy of each and 5 unlabelled lines: 197 posts in batches
    // of 16 is 13 steps an epoch (6 without the transfer set's additions).
    assert_eq!(summary.epochs[0].steps, 13);
    assert!(summary.epochs.iter().all(|e| e.train_loss.is_finite()));
    let copied = std::fs::read_to_string(student.join("train.toml")).unwrap();
    assert!(copied.contains("[distill]"));
    let c = patrol::Classifier::from_dir(&student, Default::default()).unwrap();
    assert_eq!(c.classify(&["荷物の受け取り"]).unwrap().len(), 1);
}
