//! The `patrol` binary end to end: formats, compression, accounting, flags, exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use crate::common::wordpiece_model;

fn patrol() -> Command {
    Command::cargo_bin("patrol").unwrap()
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `patrol scan` with a tiny model; returns (exit code, output records, error records).
fn scan(model: &Path, args: &[&str], stdin: Option<&[u8]>) -> (i32, Vec<Value>, Vec<Value>) {
    let mut cmd = patrol();
    cmd.arg("scan")
        .arg("--model")
        .arg(model)
        .arg("--quiet")
        .args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(data) = stdin {
        let mut s = child.stdin.take().unwrap();
        s.write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let errors = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap(), lines(&out.stdout), errors)
}

#[test]
fn every_record_is_scored_or_reported_and_order_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let mut dump: Vec<u8> = Vec::new();
    dump.extend("\u{feff}{\"id\":\"a\",\"text\":\"BOMつきの行\"}\n".as_bytes()); // 1 ok (BOM)
    dump.extend(b"{\"id\":\"b\",\"text\":\"CRLF\xe3\x81\xae\xe8\xa1\x8c\"}\r\n"); // 2 ok (CRLF)
    dump.extend(b"{not json}\n"); // 3 bad JSON
    dump.extend(b"{\"id\":\"c\",\"body\":\"no text\"}\n"); // 4 missing text
    dump.extend(b"{\"id\":\"d\",\"text\":\"bad \xff utf8\"}\n"); // 5 invalid UTF-8
    dump.extend(b"{\"id\":\"e\",\"text\":\"nul \\u0000 inside\"}\n"); // 6 NUL in text
    dump.extend(b"{\"id\":\"f\",\"text\":\"nul\x00raw\"}\n"); // 7 raw NUL byte
    dump.extend(b"{\"id\":\"g\",\"text\":\"   \"}\n"); // 8 empty text
    dump.extend(format!("{{\"id\":\"h\",\"text\":\"{}\"}}\n", "長".repeat(400)).as_bytes()); // 9 too long
    dump.extend(b"{\"id\":\"i\",\"text\":\"\xe6\x99\xae\xe9\x80\x9a\"}\n"); // 10 ok
    dump.extend(b"\n"); // 11 empty line
    dump.extend(b"{\"id\":\"j\",\"text\":\"trunc"); // 12 truncated final line
    let input = tmp.path().join("dump.jsonl");
    std::fs::write(&input, &dump).unwrap();
    let errors_file = tmp.path().join("errors.jsonl");
    let (code, out, _) = scan(
        &model,
        &[
            input.to_str().unwrap(),
            "--max-line-bytes",
            "1000",
            "--errors",
            errors_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 1, "some records failed");
    let ids: Vec<&str> = out.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "i"]);
    let errors = lines(&std::fs::read(&errors_file).unwrap());
    let bad_lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(bad_lines, [3, 4, 5, 6, 7, 8, 9, 11, 12]);
    assert_eq!(
        out.len() + errors.len(),
        12,
        "records in = outputs + errors"
    );
    for e in &errors {
        assert!(e["file"].as_str().unwrap().ends_with("dump.jsonl"));
        assert!(!e["reason"].as_str().unwrap().is_empty());
    }
    let reasons: Vec<&str> = errors
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(reasons[0].contains("bad JSON"));
    assert!(reasons[1].contains("missing text field"));
    assert!(reasons[2].contains("UTF-8"));
    assert!(reasons[3].contains("NUL") && reasons[4].contains("NUL"));
    assert!(reasons[5].contains("empty"));
    assert!(reasons[6].contains("max-line-bytes"));
    for r in &out {
        assert_eq!(r["scores"].as_object().unwrap().len(), 3);
        assert!(r["labels"].is_array() && r["evidence"].is_array());
    }
}

#[test]
fn formats_and_compression() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let d = tmp.path();
    std::fs::write(
        d.join("p.csv"),
        "id,text\nx1,\"荷物, 受け取り\"\nx2,こんにちは\n",
    )
    .unwrap();
    std::fs::write(d.join("p.tsv"), "text\tid\n募集です\tt1\n").unwrap();
    std::fs::write(d.join("p.txt"), "一行目\n二行目\n").unwrap();
    let jsonl = "{\"post\":{\"body\":\"入れ子\",\"no\":7}}\n{\"post\":{\"body\":\"二つ目\"}}\n";
    std::fs::write(d.join("nested.jsonl"), jsonl).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all("{\"id\":1,\"text\":\"圧縮\"}\n".as_bytes())
        .unwrap();
    std::fs::write(d.join("c.jsonl.gz"), gz.finish().unwrap()).unwrap();
    let zst = zstd::encode_all("{\"id\":2,\"text\":\"zstd圧縮\"}\n".as_bytes(), 3).unwrap();
    std::fs::write(d.join("c.jsonl.zst"), zst).unwrap();

    let ids = |out: &[Value]| out.iter().map(|r| r["id"].clone()).collect::<Vec<_>>();
    let (code, out, _) = scan(&model, &[d.join("p.csv").to_str().unwrap()], None);
    assert_eq!(
        (code, ids(&out)),
        (0, vec![Value::from("x1"), Value::from("x2")])
    );
    let (_, out, _) = scan(&model, &[d.join("p.tsv").to_str().unwrap()], None);
    assert_eq!(ids(&out), [Value::from("t1")]);
    // Plain text: the id is the line number.
    let (_, out, _) = scan(&model, &[d.join("p.txt").to_str().unwrap()], None);
    assert_eq!(ids(&out), [Value::from(1), Value::from(2)]);
    let (_, out, _) = scan(
        &model,
        &[
            d.join("nested.jsonl").to_str().unwrap(),
            "--text-field",
            "post.body",
            "--id-field",
            "post.no",
        ],
        None,
    );
    assert_eq!(ids(&out), [Value::from(7), Value::from(2)]);
    // Several files in one scan, compressed ones included, in order.
    let (code, out, _) = scan(
        &model,
        &[
            d.join("c.jsonl.gz").to_str().unwrap(),
            d.join("c.jsonl.zst").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!((code, ids(&out)), (0, vec![Value::from(1), Value::from(2)]));
    // stdin, with --format overriding the default JSONL.
    let (_, out, _) = scan(
        &model,
        &["--format", "text", "-"],
        Some("標準入力\n".as_bytes()),
    );
    assert_eq!(ids(&out), [Value::from(1)]);
}

#[test]
fn only_flagged_thresholds_and_kept_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = b"{\"id\":1,\"text\":\"one\",\"user\":\"u1\"}\n{\"id\":2,\"text\":\"two\"}\n";
    let (code, out, _) = scan(
        &model,
        &[
            "--only-flagged",
            "--threshold",
            "recruitment=1.0",
            "--threshold",
            "drugs=1.0",
            "--threshold",
            "serious_crime=1.0",
        ],
        Some(input),
    );
    assert_eq!((code, out.len()), (0, 0));
    let (_, out, _) = scan(
        &model,
        &["--only-flagged", "--threshold", "drugs=0", "--keep-fields"],
        Some(input),
    );
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|r| r["labels"]
        .as_array()
        .unwrap()
        .contains(&Value::from("drugs"))));
    assert_eq!(out[0]["user"], "u1");
    let (code, _, _) = scan(&model, &["--threshold", "drugs=2"], Some(input));
    assert_eq!(code, 2, "an invalid threshold is a usage error");
}

#[test]
fn explain_adds_evidence_with_spans() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let text = "荷物の受け取りで日給5万";
    let input = format!("{{\"id\":1,\"text\":\"{text}\"}}\n");
    let (_, out, _) = scan(
        &model,
        &["--explain", "--threshold", "recruitment=0"],
        Some(input.as_bytes()),
    );
    let ev = out[0]["evidence"].as_array().unwrap();
    assert_eq!(ev[0]["label"], "recruitment");
    for w in ev[0]["words"].as_array().unwrap() {
        let (s, e) = (
            w["span"][0].as_u64().unwrap() as usize,
            w["span"][1].as_u64().unwrap() as usize,
        );
        assert_eq!(&text[s..e], w["text"].as_str().unwrap());
    }
}

#[test]
fn fatal_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let (code, out, _) = scan(
        &model,
        &[tmp.path().join("absent.jsonl").to_str().unwrap()],
        None,
    );
    assert_eq!((code, out.len()), (2, 0));
    let status = patrol()
        .args([
            "scan",
            "--model",
            tmp.path().join("no-model").to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("no-model"));
}

#[test]
fn a_broken_pipe_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = tmp.path().join("many.txt");
    std::fs::write(&input, "投稿です\n".repeat(20000)).unwrap();
    let mut child = patrol()
        .args([
            "scan",
            "--quiet",
            "--model",
            model.to_str().unwrap(),
            input.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    use std::io::Read;
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn summary_marks_an_untrained_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let out = patrol()
        .args(["scan", "--model", model.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .unwrap()
                .write_all("{\"text\":\"x\"}\n".as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UNTRAINED"), "{err}");
    assert!(err.contains("read 1 posts, scored 1, errors 0"), "{err}");
}

#[test]
fn eval_json_has_exactly_the_documented_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = tmp.path().join("gold.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"1\",\"text\":\"荷物の受け取り\",\"labels\":[\"recruitment\"],\"style\":\"plain\"}\n{\"id\":\"2\",\"text\":\"アイス\",\"labels\":[]}\n",
    )
    .unwrap();
    for extra in [
        vec!["--model", model.to_str().unwrap()],
        vec!["--keyword-baseline"],
    ] {
        let out = patrol()
            .args(["eval", "--input", input.to_str().unwrap(), "--json"])
            .args(&extra)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "n",
                "macro_f1",
                "micro_f1",
                "benign_fpr",
                "labels",
                "by_style"
            ]
        );
        let label_keys: Vec<&String> = v["labels"]["drugs"].as_object().unwrap().keys().collect();
        assert_eq!(
            label_keys,
            [
                "precision",
                "recall",
                "f1",
                "pr_auc",
                "roc_auc",
                "threshold",
                "support"
            ]
        );
        let style_keys: Vec<&String> = v["by_style"]["plain"].as_object().unwrap().keys().collect();
        assert_eq!(style_keys, ["n", "accuracy", "flag_rate"]);
        assert_eq!(v["n"], 2);
    }
}
