//! Replays posts into the streaming engine at fixed arrival rates and prints, per rate, the
//! p50, p99 and max latency per post (arrival to prediction) and the throughput reached.
//! Default model, the machine's cores, `--max-batch 32 --max-wait-ms 20` (the CLI defaults).
//!
//! Run: `cargo bench --bench stream_latency` (about 10 s per rate; `PATROL_BENCH_SECONDS=n` to change).

use std::sync::Arc;
use std::time::{Duration, Instant};

use patrol::run::stream::{Stream, StreamOptions};
use patrol::{Classifier, ClassifierOptions};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    // As the CLI does for scoring.
    Classifier::prefer_worker_threads();
    println!("{}", patrol::testing::cpu_description());
    let posts: Vec<String> = std::fs::read_to_string("datasets/test.jsonl")
        .expect("run from the repository root")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let seconds: f64 = std::env::var("PATROL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let classifier = Arc::new(Classifier::embedded(ClassifierOptions::default()).unwrap());
    println!("| rate (posts/s) | sent | p50 ms | p99 ms | max ms | throughput (posts/s) |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for rate in [50.0, 200.0, 1000.0] {
        let options = StreamOptions {
            max_batch: 32,
            max_wait: Duration::from_millis(20),
            capacity: 4096,
            ..Default::default()
        };
        let mut stream: Stream<Instant, ()> = Stream::new(classifier.clone(), options);
        let tx = stream.sender();
        stream.close();
        let n = (rate * seconds) as usize;
        let texts = posts.clone();
        let start = Instant::now();
        let feeder = std::thread::spawn(move || {
            for i in 0..n {
                let due = start + Duration::from_secs_f64(i as f64 / rate);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                tx.send(Ok((Instant::now(), texts[i % texts.len()].clone().into())))
                    .unwrap();
            }
        });
        let mut latencies: Vec<f64> = stream
            .receiver()
            .iter()
            .map(|out| match out {
                Ok((sent, _)) => sent.elapsed().as_secs_f64() * 1e3,
                Err(()) => unreachable!("no input is an error"),
            })
            .collect();
        let elapsed = start.elapsed().as_secs_f64();
        feeder.join().unwrap();
        stream.finish().unwrap();
        latencies.sort_by(f64::total_cmp);
        println!(
            "| {rate:.0} | {n} | {:.1} | {:.1} | {:.1} | {:.0} |",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().unwrap(),
            n as f64 / elapsed
        );
    }
}
