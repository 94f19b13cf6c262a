//! Criterion benches of the hot path on a fixed set of 2,000 varied posts (the first 2,000 of
//! `datasets/test.jsonl`) with the embedded default model, on the machine's cores (2 in CI):
//! normalise, segment, prepare (normalise + segment + tokenize), one forward pass per batch size, end to end, and the threading
//! strategy (batches in parallel across rayon workers vs one batch at a time), and the fast path
//! against the f32 reference. Like the CLI, it sets `CANDLE_NUM_THREADS=1` unless set, and uses
//! mimalloc.
//!
//! Run: `cargo bench --bench engine`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use patrol::testing::{segment, SegmentScratch, Stages};
use patrol::{Classifier, ClassifierOptions, Precision};

// As the `patrol` binary does.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn posts() -> Vec<String> {
    let text =
        std::fs::read_to_string("datasets/test.jsonl").expect("run from the repository root");
    text.lines()
        .take(2000)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    // As the CLI does for scoring, before the first candle operation.
    Classifier::prefer_worker_threads();
    println!("{}", patrol::testing::cpu_description());
    let posts = posts();
    let classifier = Classifier::embedded(ClassifierOptions::default()).unwrap();
    let stages = Stages::new(&classifier);
    let normalized: Vec<String> = posts.iter().map(|p| stages.normalize(p)).collect();
    let mut g = c.benchmark_group("stages");
    g.sample_size(10)
        .throughput(Throughput::Elements(posts.len() as u64));
    g.bench_function("normalize", |b| {
        b.iter(|| {
            posts
                .iter()
                .map(|p| stages.normalize(p).len())
                .sum::<usize>()
        })
    });
    g.bench_function("segment", |b| {
        let mut scratch = SegmentScratch::default();
        b.iter(|| {
            normalized
                .iter()
                .map(|p| segment(p, &mut scratch).unwrap())
                .sum::<usize>()
        })
    });
    g.bench_function("prepare", |b| {
        let mut scratch = SegmentScratch::default();
        b.iter(|| {
            posts
                .iter()
                .map(|p| stages.prepare(p, &mut scratch).unwrap().len())
                .sum::<usize>()
        })
    });
    g.bench_function("prepare_parallel", |b| {
        b.iter(|| stages.prepare_all(&posts).unwrap().len())
    });
    g.finish();

    let prepared = stages.prepare_all(&posts).unwrap();
    let mut g = c.benchmark_group("forward");
    g.sample_size(10);
    for size in [1usize, 8, 32, 128] {
        let seqs: Vec<&[u32]> = prepared.iter().take(size).map(Vec::as_slice).collect();
        g.throughput(Throughput::Elements(size as u64));
        g.bench_with_input(BenchmarkId::from_parameter(size), &seqs, |b, seqs| {
            b.iter(|| stages.score_batch(seqs).unwrap().len())
        });
    }
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    let posts = posts();
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10)
        .throughput(Throughput::Elements(posts.len() as u64));
    for (name, parallel, precision) in [
        ("one_batch_at_a_time", false, Precision::Fast),
        ("parallel_batches", true, Precision::Fast),
        ("parallel_batches_f32", true, Precision::F32),
    ] {
        let options = ClassifierOptions::default()
            .with_parallel_batches(parallel)
            .with_precision(precision);
        let classifier = Classifier::embedded(options).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| classifier.classify(&posts).unwrap().len())
        });
    }
    g.finish();
}

criterion_group!(benches, stages, end_to_end);
criterion_main!(benches);
