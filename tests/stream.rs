//! Streaming, lossless accounting on a generated faulty dump, and resumable scans.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use patrol::run::stream::{classify_iter, Post, Stream, StreamOptions};
use patrol::Classifier;
use serde_json::Value;

use crate::common::wordpiece_model;

fn ids_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn the_stream_api_keeps_order_and_matches_batch_scores() {
    let tmp = tempfile::tempdir().unwrap();
    let c =
        Arc::new(Classifier::from_dir(wordpiece_model(tmp.path()), Default::default()).unwrap());
    let texts: Vec<String> = (0..300)
        .map(|i| format!("投稿{i} {}", "あ".repeat(i % 17)))
        .collect();
    let expected = c.classify(&texts).unwrap();
    let options = StreamOptions {
        max_batch: 7,
        max_wait: Duration::from_millis(3),
        capacity: 4,
        // More scorers than cores, so batches finish out of order and must be put back.
        in_flight: 3,
        observer: None,
    };
    let inputs: Vec<Result<(usize, Post), String>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 50 == 49 {
                Err(format!("bad {i}"))
            } else {
                Ok((i, Post::new(t.clone())))
            }
        })
        .collect();
    let out: Vec<_> = classify_iter(c.clone(), options, inputs).collect();
    assert_eq!(out.len(), 300);
    for (k, r) in out.into_iter().enumerate() {
        match r {
            Ok((i, p)) => {
                assert_eq!(i, k, "input order");
                for ((_, a), (_, b)) in p.scores.iter().zip(&expected[i].scores) {
                    assert!((a - b).abs() < 1e-5);
                }
            }
            Err(e) => assert_eq!(e, format!("bad {k}"), "errors keep their place"),
        }
    }
    // The channel form, with a slow consumer and a tiny capacity: nothing is lost.
    let mut s: Stream<usize, ()> = Stream::new(
        c,
        StreamOptions {
            max_batch: 4,
            max_wait: Duration::from_millis(1),
            capacity: 2,
            in_flight: 2,
            observer: None,
        },
    );
    let tx = s.sender();
    s.close();
    let feeder = std::thread::spawn(move || {
        for i in 0..50 {
            tx.send(Ok((i, "テスト".into()))).unwrap();
        }
    });
    let mut got = Vec::new();
    for (i, _) in s.receiver().iter().flatten() {
        std::thread::sleep(Duration::from_millis(1));
        got.push(i);
    }
    feeder.join().unwrap();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    s.finish().unwrap();
}

/// `patrol scan --quiet` of `dump` with `model`, writing predictions to `out` and errors to `errs`.
fn scan_command(
    model: &std::path::Path,
    dump: &std::path::Path,
    out: &std::path::Path,
    errs: &std::path::Path,
) -> Command {
    let mut cmd = Command::cargo_bin("patrol").unwrap();
    cmd.args(["scan", "--quiet", "--model"])
        .arg(model)
        .arg(dump)
        .arg("--output")
        .arg(out)
        .arg("--errors")
        .arg(errs);
    cmd
}

fn gen_dump(path: &std::path::Path, lines: u64) -> patrol::testing::DumpStats {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let stats = patrol::testing::write_dump(&mut f, lines, 11).unwrap();
    f.flush().unwrap();
    stats
}

fn count_lines(path: &std::path::Path) -> usize {
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .lines()
        .count()
}

#[test]
fn a_faulty_dump_of_100k_lines_loses_nothing_in_scan_and_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let dump = tmp.path().join("dump.jsonl");
    let stats = gen_dump(&dump, 100_000);
    let (out, errs) = (tmp.path().join("out.jsonl"), tmp.path().join("err.jsonl"));
    let status = scan_command(&model, &dump, &out, &errs).status().unwrap();
    assert_eq!(status.code(), Some(1));
    let ids = ids_of(&out);
    assert_eq!(ids, stats.good_ids, "every good id exactly once, in order");
    assert_eq!(count_lines(&errs) as u64, stats.bad);
    assert_eq!(ids.len() as u64 + stats.bad, 100_000);

    // The same dump through `patrol stream` on stdin.
    let (sout, serrs) = (tmp.path().join("sout.jsonl"), tmp.path().join("serr.jsonl"));
    let status = Command::cargo_bin("patrol")
        .unwrap()
        .args([
            "stream",
            "--model",
            model.to_str().unwrap(),
            "--errors",
            serrs.to_str().unwrap(),
        ])
        .stdin(std::fs::File::open(&dump).unwrap())
        .stdout(std::fs::File::create(&sout).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert_eq!(ids_of(&sout), stats.good_ids);
    assert_eq!(count_lines(&serrs) as u64, stats.bad);
}

#[test]
fn sigterm_drains_what_was_read_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let mut child = Command::cargo_bin("patrol")
        .unwrap()
        .args([
            "stream",
            "--model",
            model.to_str().unwrap(),
            "--max-wait-ms",
            "5",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for i in 0..25 {
        writeln!(stdin, "{{\"id\":\"s{i}\",\"text\":\"テスト{i}\"}}").unwrap();
    }
    stdin.flush().unwrap();
    // Wait until the last record is out, then signal with stdin still open.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    while seen.len() < 25 {
        line.clear();
        out.read_line(&mut line).unwrap();
        seen.push(
            serde_json::from_str::<Value>(&line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let pid = child.id() as i32;
    unsafe_kill(pid);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(seen, (0..25).map(|i| format!("s{i}")).collect::<Vec<_>>());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.trim().is_empty(), "nothing written twice: {rest}");
    drop(stdin);
}

fn unsafe_kill(pid: i32) {
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

fn resume_case(name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let dump = tmp.path().join(name);
    let mut raw = Vec::new();
    let stats = patrol::testing::write_dump(&mut raw, 60_000, 3).unwrap();
    let bytes = if name.ends_with(".gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    } else {
        raw
    };
    let (out, errs, ckpt) = (
        tmp.path().join("out.jsonl"),
        tmp.path().join("err.jsonl"),
        tmp.path().join("scan.ckpt"),
    );
    let scan = |resume: bool| {
        let mut cmd = scan_command(&model, &dump, &out, &errs);
        cmd.args(["--threads", "1"])
            .args([
                "--checkpoint",
                ckpt.to_str().unwrap(),
                "--checkpoint-every",
                "2000",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    // The first run reads a named pipe at the dump's path that holds only the first third of
    // the dump and stays open, so the scan cannot finish: it is killed while waiting for more,
    // after its checkpoints, whatever the machine's speed.
    let fifo = Command::new("mkfifo").arg(&dump).status().unwrap();
    assert!(fifo.success(), "mkfifo");
    let mut child = scan(false).spawn().unwrap();
    let (killed_tx, killed_rx) = std::sync::mpsc::channel::<()>();
    let head = bytes[..bytes.len() / 3].to_vec();
    let pipe = dump.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&pipe).unwrap();
        let _ = f.write_all(&head); // the reader may already be gone
        let _ = killed_rx.recv(); // keep the pipe open until the scan is killed
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while !(ckpt.exists() && std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 0) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan ended although its input was still open"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint after 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    killed_tx.send(()).unwrap();
    writer.join().unwrap();
    // SIGKILL can cut the output mid-line; every whole line is a record from the dump.
    let killed = std::fs::read_to_string(&out).unwrap();
    let whole: Vec<&str> = killed
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .collect();
    let good: std::collections::HashSet<&str> = stats.good_ids.iter().map(String::as_str).collect();
    for line in &whole {
        let record = serde_json::from_str::<Value>(line).unwrap();
        assert!(good.contains(record["id"].as_str().unwrap()), "{line}");
    }
    assert!(
        whole.len() < stats.good_ids.len(),
        "killed part-way ({})",
        whole.len()
    );
    // The resumed run reads the whole dump, as a file, at the same path.
    std::fs::remove_file(&dump).unwrap();
    std::fs::write(&dump, &bytes).unwrap();
    let status = scan(true).status().unwrap();
    assert_eq!(status.code(), Some(1), "the dump has malformed lines");
    assert_eq!(ids_of(&out), stats.good_ids, "no duplicate and no gap");
    assert_eq!(count_lines(&errs) as u64, stats.bad);
}

#[test]
fn a_killed_scan_resumes_without_loss_or_repeat_plain() {
    resume_case("dump.jsonl");
}

#[test]
fn a_killed_scan_resumes_without_loss_or_repeat_gzip() {
    resume_case("dump.jsonl.gz");
}
