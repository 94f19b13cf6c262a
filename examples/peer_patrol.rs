//! patrol's side of the peer benchmark (`benches/peers/`): encodes a JSONL file of posts with a
//! model's own tokeniser, writes the token ids for the peers (so every engine scores the same
//! ids), then times patrol on them and prints one JSON object on stdout.
//!
//! Run: `cargo run --release --example peer_patrol -- MODEL_DIR|embedded POSTS.jsonl IDS_OUT.jsonl [BATCH]`
//!
//! Timings, all on the machine's rayon threads (set `RAYON_NUM_THREADS`):
//! - `encode`: normalise, segment and tokenise every post (parallel);
//! - `batches`: the peers' protocol: length-sorted batches of `BATCH` posts, scored one at a time,
//!   with each batch's latency;
//! - `engine`: the engine's default path (`Classifier::classify`: encode, token-budget batches
//!   scored in parallel), end to end from text to predictions.
//!
//! Both run at the default precision (`fast`) and again at `f32`, the reference; `scores` are the
//! reference's, for the peers' agreement check, and `scores_fast` the default's.

use std::io::Write;
use std::time::Instant;

use patrol::testing::Stages;
use patrol::{Classifier, ClassifierOptions, Precision};

// As the `patrol` binary does.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> patrol::Result<()> {
    // As the CLI does for scoring (set CANDLE_NUM_THREADS to override).
    Classifier::prefer_worker_threads();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: peer_patrol MODEL_DIR|embedded POSTS.jsonl IDS_OUT.jsonl [BATCH]");
        std::process::exit(2);
    }
    let batch: usize = args
        .get(3)
        .map_or(32, |b| b.parse().expect("BATCH is a number"));
    let load = |precision| {
        let options = ClassifierOptions::default().with_precision(precision);
        if args[0] == "embedded" {
            Classifier::embedded(options)
        } else {
            Classifier::from_dir(&args[0], options)
        }
    };
    let classifier = load(Precision::Fast)?;
    let reference = load(Precision::F32)?;
    let body = std::fs::read_to_string(&args[1]).map_err(|e| patrol::Error::io(&args[1], e))?;
    let posts: Vec<String> = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSONL");
            v["text"].as_str().expect("a text field").to_string()
        })
        .collect();
    let stages = Stages::new(&classifier);

    let t = Instant::now();
    let encoded = stages.prepare_all(&posts)?;
    let encode_s = t.elapsed().as_secs_f64();
    let mut ids_out = std::io::BufWriter::new(
        std::fs::File::create(&args[2]).map_err(|e| patrol::Error::io(&args[2], e))?,
    );
    for e in &encoded {
        writeln!(ids_out, "{}", serde_json::to_string(e).expect("ids"))
            .map_err(|e| patrol::Error::io(&args[2], e))?;
    }
    ids_out
        .flush()
        .map_err(|e| patrol::Error::io(&args[2], e))?;

    let seqs: Vec<&[u32]> = encoded.iter().map(Vec::as_slice).collect();
    let (batches_s, latencies, scores_fast) = time_batches(&classifier, &seqs, batch)?;
    let (batches_f32_s, latencies_f32, scores) = time_batches(&reference, &seqs, batch)?;
    let engine_s = time_engine(&classifier, &posts)?;
    let engine_f32_s = time_engine(&reference, &posts)?;

    let report = serde_json::json!({
        "posts": posts.len(),
        "cpu": patrol::testing::cpu_description(),
        "tokens": encoded.iter().map(Vec::len).sum::<usize>(),
        "threads": rayon::current_num_threads(),
        "encode_s": encode_s,
        "batches_s": batches_s,
        "batch_ms": latencies,
        "engine_s": engine_s,
        "batches_f32_s": batches_f32_s,
        "batch_ms_f32": latencies_f32,
        "engine_f32_s": engine_f32_s,
        "labels": classifier.labels(),
        "scores": scores,
        "scores_fast": scores_fast,
    });
    println!("{report}");
    Ok(())
}

/// The peers' protocol: length-sorted batches of `batch` rows, one at a time. Returns the total
/// seconds, each batch's milliseconds, and the scores in input order.
fn time_batches(
    classifier: &Classifier,
    seqs: &[&[u32]],
    batch: usize,
) -> patrol::Result<(f64, Vec<f64>, Vec<Vec<f32>>)> {
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| seqs[i].len());
    let stages = Stages::new(classifier);
    let mut scores = vec![Vec::new(); seqs.len()];
    let mut latencies = Vec::new();
    let t = Instant::now();
    for group in order.chunks(batch) {
        let rows: Vec<&[u32]> = group.iter().map(|&i| seqs[i]).collect();
        let start = Instant::now();
        let scored = stages.score_batch(&rows)?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
        for (&i, row) in group.iter().zip(scored) {
            scores[i] = row;
        }
    }
    Ok((t.elapsed().as_secs_f64(), latencies, scores))
}

/// Seconds for the engine's default path, text to predictions.
fn time_engine(classifier: &Classifier, posts: &[String]) -> patrol::Result<f64> {
    let t = Instant::now();
    let predictions = classifier.classify(posts)?;
    assert_eq!(predictions.len(), posts.len());
    Ok(t.elapsed().as_secs_f64())
}
