//! The library: both tokenizer kinds, ordering, determinism, hub cache, pickle refusal, evidence.

use patrol::{Classifier, ClassifierOptions};

use crate::common::{json_tokenizer_model, posts, wordpiece_model};

fn assert_close(a: &[patrol::Prediction], b: &[patrol::Prediction], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        for ((lx, sx), (ly, sy)) in x.scores.iter().zip(&y.scores) {
            assert_eq!(lx, ly);
            assert!((sx - sy).abs() <= tol, "{sx} vs {sy}");
        }
    }
}

#[test]
fn both_tokenizer_kinds_classify_in_input_order() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in [
        wordpiece_model(tmp.path()),
        json_tokenizer_model(tmp.path()),
    ] {
        let c = Classifier::from_dir(&dir, ClassifierOptions::default()).unwrap();
        assert_eq!(c.labels(), ["recruitment", "drugs", "serious_crime"]);
        let texts = posts();
        let preds = c.classify(&texts).unwrap();
        assert_eq!(preds.len(), texts.len());
        for p in &preds {
            assert_eq!(p.scores.len(), 3);
            assert!(p.scores.iter().all(|(_, s)| (0.0..=1.0).contains(s)));
        }
        // Each post alone scores as it does inside the batch, so order is restored.
        for (i, t) in texts.iter().enumerate().step_by(7) {
            let alone = c.classify(&[t]).unwrap();
            assert_close(&alone, &preds[i..=i], 1e-5);
        }
        let mut reversed = texts.clone();
        reversed.reverse();
        let mut back = c.classify(&reversed).unwrap();
        back.reverse();
        assert_close(&back, &preds, 1e-5);
        assert!(c.classify::<&str>(&[]).unwrap().is_empty());
    }
}

#[test]
fn the_two_tokenizers_really_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let wp = Classifier::from_dir(wordpiece_model(tmp.path()), Default::default()).unwrap();
    let js = Classifier::from_dir(json_tokenizer_model(tmp.path()), Default::default()).unwrap();
    let text = ["募集 日給 仕事"];
    let a = patrol::testing::Stages::new(&wp)
        .prepare_all(&text)
        .unwrap();
    let b = patrol::testing::Stages::new(&js)
        .prepare_all(&text)
        .unwrap();
    assert_ne!(a[0], b[0]);
    // tokenizer.json: <s> ... </s>; WordPiece: [CLS] ... [SEP] ([CLS] is id 2 in our vocab).
    assert_eq!(b[0][0], 0);
    assert_eq!(a[0][0], 2);
}

#[test]
fn scores_match_across_threads_batching_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = wordpiece_model(tmp.path());
    let texts = posts();
    let one = Classifier::from_dir(&dir, ClassifierOptions::default().with_threads(1)).unwrap();
    let two = Classifier::from_dir(&dir, ClassifierOptions::default().with_threads(2)).unwrap();
    let par = Classifier::from_dir(
        &dir,
        ClassifierOptions::default()
            .with_threads(2)
            .with_parallel_batches(true)
            .with_max_batch_tokens(64),
    )
    .unwrap();
    let a = one.classify(&texts).unwrap();
    assert_close(&a, &two.classify(&texts).unwrap(), 1e-5);
    assert_close(&a, &par.classify(&texts).unwrap(), 1e-5);
    assert_eq!(
        a,
        one.classify(&texts).unwrap(),
        "repeated runs are identical"
    );
}

#[test]
fn classify_is_shareable_across_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let c = std::sync::Arc::new(
        Classifier::from_dir(wordpiece_model(tmp.path()), Default::default()).unwrap(),
    );
    let expected = c.classify(&posts()).unwrap();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.classify(&posts()).unwrap())
        })
        .collect();
    for h in handles {
        assert_close(&h.join().unwrap(), &expected, 1e-5);
    }
}

#[test]
fn pickle_checkpoints_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = wordpiece_model(tmp.path());
    std::fs::rename(dir.join("model.safetensors"), dir.join("pytorch_model.bin")).unwrap();
    let err = Classifier::from_dir(&dir, Default::default())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("pytorch_model.bin") && err.contains("safetensors"),
        "{err}"
    );
}

#[test]
fn hub_ids_resolve_from_a_local_cache_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let cache = tmp.path().join("hub");
    let repo = cache.join("models--example-org--tiny-patrol");
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let snapshot = repo.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), commit).unwrap();
    for f in std::fs::read_dir(&model).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, snapshot.join(f.file_name().unwrap())).unwrap();
    }
    let dir = patrol::testing::hub_fetch_from(&cache, "example-org/tiny-patrol", true).unwrap();
    assert_eq!(dir, snapshot);
    let by_hash =
        patrol::testing::hub_fetch_from(&cache, &format!("example-org/tiny-patrol@{commit}"), true)
            .unwrap();
    assert_eq!(by_hash, snapshot);
    let c = Classifier::from_dir(&dir, Default::default()).unwrap();
    assert_eq!(c.classify(&["テスト"]).unwrap().len(), 1);
    let missing = patrol::testing::hub_fetch_from(&cache, "example-org/absent", true)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("HF_HUB_OFFLINE"), "{missing}");
    // A repo that publishes only a pickle is refused from the cache too.
    std::fs::rename(
        snapshot.join("model.safetensors"),
        snapshot.join("pytorch_model.bin"),
    )
    .unwrap();
    let pickle = patrol::testing::hub_fetch_from(&cache, "example-org/tiny-patrol", true)
        .unwrap_err()
        .to_string();
    assert!(pickle.contains("safetensors"), "{pickle}");
}

#[test]
fn evidence_points_at_words_of_the_original_post() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ClassifierOptions::default()
        .with_evidence(true)
        .with_threshold("recruitment", 0.0)
        .with_threshold("drugs", 1.0)
        .with_threshold("serious_crime", 1.0);
    let c = Classifier::from_dir(wordpiece_model(tmp.path()), opts).unwrap();
    let text = "ﾎﾜｲﾄ案件 即日即金 荷物の受け取り";
    let p = &c.classify(&[text]).unwrap()[0];
    assert_eq!(p.labels, ["recruitment"]);
    assert_eq!(p.evidence.len(), 1);
    let ev = &p.evidence[0];
    assert_eq!(ev.label, "recruitment");
    assert!(ev.words.len() <= 5);
    for w in &ev.words {
        assert_eq!(&text[w.span.0..w.span.1], w.text);
        assert!(w.weight > 0.0);
    }
    // No evidence for posts below every threshold.
    let strict = ClassifierOptions::default()
        .with_evidence(true)
        .with_threshold("recruitment", 1.0)
        .with_threshold("drugs", 1.0)
        .with_threshold("serious_crime", 1.0);
    let c = Classifier::from_dir(wordpiece_model(tmp.path()), strict).unwrap();
    assert!(c.classify(&[text]).unwrap()[0].evidence.is_empty());
}

#[test]
fn unknown_threshold_labels_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = ClassifierOptions::default().with_threshold("nonsense", 0.5);
    assert!(Classifier::from_dir(wordpiece_model(tmp.path()), opts).is_err());
}

#[cfg(feature = "embedded-model")]
#[test]
fn the_embedded_model_loads() {
    let c = Classifier::embedded(Default::default()).unwrap();
    assert_eq!(c.labels().len(), 3);
    assert_eq!(c.classify(&["テスト"]).unwrap().len(), 1);
}

/// The accuracy guard: the default fast path stays within 0.02 of the f32 reference on
/// every score, and within 0.005 of its macro-F1, on a fixed quarter of the test split.
#[cfg(feature = "embedded-model")]
#[test]
fn fast_precision_meets_the_accuracy_guard() {
    use patrol::Precision;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/test.jsonl");
    let examples = patrol::dataset::read_examples(&path).unwrap();
    let subset: Vec<_> = examples.iter().step_by(4).collect();
    let texts: Vec<&str> = subset.iter().map(|e| e.text.as_str()).collect();
    let fast = Classifier::embedded(ClassifierOptions::default()).unwrap();
    let reference =
        Classifier::embedded(ClassifierOptions::default().with_precision(Precision::F32)).unwrap();
    assert_eq!(fast.precision(), Precision::Fast);
    assert_eq!(reference.precision(), Precision::F32);

    let score = |c: &Classifier| -> Vec<Vec<f32>> {
        let p = c.classify(&texts).unwrap();
        p.into_iter()
            .map(|p| p.scores.into_iter().map(|(_, s)| s).collect())
            .collect()
    };
    let (a, b) = (score(&fast), score(&reference));
    let labels = fast.labels().to_vec();
    for (l, name) in labels.iter().enumerate() {
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x[l] - y[l]).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 0.02, "{name}: fast differs from f32 by {worst}");
    }
    let differ = a.iter().zip(&b).any(|(x, y)| x != y);
    assert!(
        differ,
        "the fast path produced the reference's exact scores"
    );

    let gold: Vec<Vec<bool>> = subset
        .iter()
        .map(|e| labels.iter().map(|l| e.labels.contains(l)).collect())
        .collect();
    let styles: Vec<String> = subset.iter().map(|e| e.style.clone()).collect();
    let f1 = |scores: &[Vec<f32>]| {
        patrol::eval::evaluate(&labels, &gold, scores, fast.thresholds(), &styles).macro_f1
    };
    let (fa, fb) = (f1(&a), f1(&b));
    assert!(
        fa > 0.5,
        "the subset should be scored by a trained model: {fa}"
    );
    assert!((fa - fb).abs() <= 0.005, "macro-F1 fast {fa} vs f32 {fb}");
}
