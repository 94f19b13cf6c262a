//! `patrol consume` against a real `nats-server -js` on a loopback port: two workers share one
//! durable consumer, every message gets exactly one result (duplicates from redelivery are
//! collapsed by the results stream on `Nats-Msg-Id`), a worker killed mid-batch loses nothing,
//! and a message that is not a post gets an error result.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// A `nats-server` with JetStream on a free loopback port, stopped on drop.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Nats {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH (Debian package nats-server; .ci/run installs it)");
        let url = format!("nats://127.0.0.1:{port}");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "nats-server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            url,
            _dir: dir,
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Creates the posts stream and the results stream (which keeps results and errors, and
/// de-duplicates them on `Nats-Msg-Id`).
async fn setup(url: &str) -> jetstream::Context {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    js.create_stream(stream::Config {
        name: "POSTS".into(),
        subjects: vec!["posts".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    js.create_stream(stream::Config {
        name: "RESULTS".into(),
        subjects: vec!["results".into(), "results.>".into()],
        duplicate_window: Duration::from_secs(600),
        ..Default::default()
    })
    .await
    .unwrap();
    js
}

async fn publish(js: &jetstream::Context, payload: Vec<u8>, id: Option<&str>) {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(id) = id {
        headers.insert("Nats-Msg-Id", id);
    }
    js.publish_with_headers("posts", headers, payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Publishes `n` posts with ids `m0`, `m1`, … in the JSON.
async fn publish_posts(js: &jetstream::Context, n: usize) {
    let texts = crate::common::posts();
    let mut acks = Vec::new();
    for i in 0..n {
        let body = json!({"id": format!("m{i}"), "text": texts[i % texts.len()]}).to_string();
        acks.push(js.publish("posts", body.into()).await.unwrap());
        if acks.len() == 500 {
            for a in acks.drain(..) {
                a.await.unwrap();
            }
        }
    }
    for a in acks {
        a.await.unwrap();
    }
}

/// Every message in the results stream: (subject, payload).
async fn results(js: &jetstream::Context) -> Vec<(String, Value)> {
    let mut stream = js.get_stream("RESULTS").await.unwrap();
    let total = stream.info().await.unwrap().state.messages as usize;
    let reader = stream
        .create_consumer(consumer::pull::Config {
            ack_policy: consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        let mut batch = reader.fetch().max_messages(1000).messages().await.unwrap();
        while let Some(m) = batch.next().await {
            let m = m.unwrap();
            out.push((
                m.subject.to_string(),
                serde_json::from_slice(&m.payload).unwrap(),
            ));
        }
    }
    out
}

async fn stream_count(js: &jetstream::Context, name: &str) -> u64 {
    js.get_stream(name)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .messages
}

/// Waits until the results stream holds `n` messages.
async fn wait_for_results(js: &jetstream::Context, n: u64, limit: Duration) {
    let start = Instant::now();
    loop {
        let have = stream_count(js, "RESULTS").await;
        if have >= n {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "only {have} of {n} results after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A worker with `model` (`None`: the embedded model, slower than the placeholder).
fn worker(url: &str, model: Option<&Path>, extra: &[&str]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patrol"));
    command
        .args([
            "consume",
            "--nats",
            url,
            "--stream",
            "POSTS",
            "--subject",
            "posts",
        ])
        .args([
            "--durable",
            "workers",
            "--out-subject",
            "results",
            "--threads",
            "1",
        ])
        .args(extra);
    if let Some(model) = model {
        command.arg("--model").arg(model);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn patrol consume")
}

/// SIGTERM, then the exit status and the worker's summary line.
fn terminate(child: Child) -> (std::process::ExitStatus, String) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status, stderr)
}

/// The error count of a worker's summary line.
fn errors_of(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("patrol: consume scored ")?
                .split("errors ")
                .nth(1)
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"))
}

fn scored(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("patrol: consume scored "))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary in:\n{stderr}"))
}

/// A server with both streams, a placeholder model (fast; delivery is what these tests check),
/// and a runtime for the test's own client.
struct Fixture {
    nats: Nats,
    model: PathBuf,
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let nats = Nats::start();
        let dir = tempfile::tempdir().unwrap();
        let model = crate::common::wordpiece_model(dir.path());
        let rt = runtime();
        let js = rt.block_on(setup(&nats.url));
        Self {
            nats,
            model,
            rt,
            js,
            _dir: dir,
        }
    }
}

#[test]
fn ten_thousand_messages_through_two_workers_one_result_each() {
    let f = Fixture::new();
    let (nats, model, rt, js) = (&f.nats, &f.model, &f.rt, &f.js);
    rt.block_on(async {
        publish_posts(js, 10_000).await;
        // Three messages that are not posts, with their ids in the header.
        publish(js, b"not json".to_vec(), Some("bad-json")).await;
        publish(
            js,
            br#"{"id": 1, "body": "no text field"}"#.to_vec(),
            Some("bad-field"),
        )
        .await;
        publish(js, vec![0xff, 0xfe, b'{'], Some("bad-utf8")).await;
    });
    let workers = [
        worker(&nats.url, Some(model), &["--batch", "64"]),
        worker(&nats.url, Some(model), &["--batch", "64"]),
    ];
    rt.block_on(wait_for_results(js, 10_003, Duration::from_secs(600)));
    let summaries: Vec<_> = workers.into_iter().map(terminate).collect();
    let (mut total, mut failed) = (0, 0);
    for (status, stderr) in &summaries {
        let (n, errors) = (scored(stderr), errors_of(stderr));
        // Exit 1 says the worker met messages it could not read.
        assert_eq!(status.code(), Some(i32::from(errors > 0)), "{stderr}");
        assert!(n > 0, "both workers took messages: {stderr}");
        total += n;
        failed += errors;
    }
    assert!(
        failed >= 3,
        "the three bad messages were counted ({failed})"
    );
    // Redelivery may score a message twice; its result is kept once.
    assert!(total >= 10_000, "{total}");

    let all = rt.block_on(results(js));
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for (subject, payload) in &all {
        match subject.as_str() {
            "results" => {
                let id = payload["id"].as_str().unwrap().to_string();
                assert_eq!(payload["scores"].as_object().unwrap().len(), 3);
                assert!(payload["labels"].is_array());
                *ids.entry(id).or_default() += 1;
            }
            "results.errors" => {
                errors.insert(
                    payload["id"].as_str().unwrap().to_string(),
                    payload["reason"].as_str().unwrap().to_string(),
                );
            }
            other => panic!("unexpected subject {other}"),
        }
    }
    assert_eq!(ids.len(), 10_000);
    assert!(ids.values().all(|&n| n == 1), "one result per id");
    let want: BTreeSet<String> = (0..10_000).map(|i| format!("m{i}")).collect();
    assert_eq!(ids.keys().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors["bad-json"].starts_with("bad JSON"), "{errors:?}");
    assert!(
        errors["bad-field"].contains("missing text field"),
        "{errors:?}"
    );
    assert!(errors["bad-utf8"].contains("UTF-8"), "{errors:?}");
    // Nothing is left unacked.
    assert_eq!(rt.block_on(ack_pending(js)), (0, 0));
}

#[test]
fn a_worker_killed_mid_batch_loses_nothing() {
    let f = Fixture::new();
    let (nats, model, rt, js) = (&f.nats, &f.model, &f.rt, &f.js);
    rt.block_on(publish_posts(js, 3_000));
    // Long batches, many messages in hand, and a short ack wait so redelivery comes quickly.
    let slow = [
        "--batch",
        "256",
        "--max-wait-ms",
        "400",
        "--max-ack-pending",
        "600",
        "--ack-wait-s",
        "2",
    ];
    // The embedded model scores slowly enough on one thread that the kill comes mid-way.
    let mut first = worker(&nats.url, None, &slow);
    rt.block_on(wait_for_results(js, 300, Duration::from_secs(120)));
    first.kill().unwrap(); // SIGKILL: no chance to ack what it holds
    first.wait().unwrap();
    let done_by_first = rt.block_on(stream_count(js, "RESULTS"));
    assert!(
        done_by_first < 3_000,
        "killed before the end ({done_by_first})"
    );
    let unacked = rt.block_on(ack_pending(js)).1;
    assert!(unacked > 0, "the killed worker held unacked messages");
    let second = worker(&nats.url, Some(model), &[]);
    rt.block_on(wait_for_results(js, 3_000, Duration::from_secs(300)));
    let (status, stderr) = terminate(second);
    assert!(status.success(), "{stderr}");
    assert!(scored(&stderr) >= 3_000 - done_by_first, "{stderr}");

    let all = rt.block_on(results(js));
    let ids: BTreeSet<String> = all
        .iter()
        .map(|(_, p)| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 3_000, "one result per id");
    assert_eq!(ids.len(), 3_000);
    // What the killed worker held went to the other one, and all of it is acked.
    assert_eq!(rt.block_on(ack_pending(js)), (0, 0));
}

/// The shared consumer's state, once a worker has created it.
async fn consumer_info(js: &jetstream::Context) -> Option<consumer::Info> {
    let stream = js.get_stream("POSTS").await.unwrap();
    let mut c = stream
        .get_consumer::<consumer::pull::Config>("workers")
        .await
        .ok()?;
    Some(c.info().await.unwrap().clone())
}

/// Messages delivered to the shared consumer and not acked; 0 before the consumer exists.
async fn in_hand(js: &jetstream::Context) -> usize {
    consumer_info(js).await.map_or(0, |i| i.num_ack_pending)
}

/// The shared consumer's messages not yet delivered, and delivered but not acked.
async fn ack_pending(js: &jetstream::Context) -> (u64, usize) {
    let info = consumer_info(js)
        .await
        .expect("the workers created the consumer");
    (info.num_pending, info.num_ack_pending)
}

#[test]
fn sigterm_finishes_the_batch_in_hand_and_acks_it() {
    let f = Fixture::new();
    let (nats, model, rt, js) = (&f.nats, &f.model, &f.rt, &f.js);
    rt.block_on(publish_posts(js, 100));
    // A batch that waits 3 s to fill: the signal comes while all 100 are in hand, unscored.
    let child = worker(
        &nats.url,
        Some(model),
        &["--batch", "512", "--max-wait-ms", "3000", "--keep-fields"],
    );
    let start = Instant::now();
    // The worker creates the consumer once its model is loaded.
    while rt.block_on(in_hand(js)) < 100 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "messages in hand"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        rt.block_on(stream_count(js, "RESULTS")),
        0,
        "nothing scored yet"
    );
    let (status, stderr) = terminate(child);
    assert!(status.success(), "{stderr}");
    assert_eq!(scored(&stderr), 100, "{stderr}");
    assert_eq!(
        rt.block_on(ack_pending(js)),
        (0, 0),
        "all acked before exit"
    );
    let all = rt.block_on(results(js));
    assert_eq!(all.len(), 100);
    // Kept fields travel with the result.
    assert!(all.iter().all(|(_, p)| p["text"].is_string()));
}
