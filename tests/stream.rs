//! Streaming, lossless accounting on a generated faulty dump, and resumable scans.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use patrol::stream::{classify_iter, Stream, StreamOptions};
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
    };
    let inputs: Vec<(usize, Result<String, String>)> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                i,
                if i % 50 == 49 {
                    Err(format!("bad {i}"))
                } else {
                    Ok(t.clone())
                },
            )
        })
        .collect();
    let out: Vec<_> = classify_iter(c.clone(), options, inputs).collect();
    assert_eq!(out.len(), 300);
    for (k, (i, r)) in out.into_iter().enumerate() {
        assert_eq!(i, k, "input order");
        match r {
            Ok(p) => {
                for ((_, a), (_, b)) in p.scores.iter().zip(&expected[i].scores) {
                    assert!((a - b).abs() < 1e-5);
                }
            }
            Err(e) => assert_eq!(e, format!("bad {i}")),
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
        },
    );
    let tx = s.sender();
    s.close();
    let feeder = std::thread::spawn(move || {
        for i in 0..50 {
            tx.send((i, Ok("テスト".into()))).unwrap();
        }
    });
    let mut got = Vec::new();
    for (i, _) in s.receiver().iter() {
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

fn gen_dump(path: &std::path::Path, lines: u64) -> patrol::gen::DumpStats {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let stats = patrol::gen::write_dump(&mut f, lines, 11).unwrap();
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
    let stats = patrol::gen::write_dump(&mut raw, 60_000, 3).unwrap();
    let bytes = if name.ends_with(".gz") {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    } else {
        raw
    };
    std::fs::write(&dump, bytes).unwrap();
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
    let mut child = scan(false).spawn().unwrap();
    // Kill it part-way: after a checkpoint exists and some output is written.
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let written = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        if ckpt.exists() && written > 0 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the scan finished before it could be killed"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = ids_of(&out).len();
    assert!(
        partial < stats.good_ids.len(),
        "killed part-way ({partial})"
    );
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
