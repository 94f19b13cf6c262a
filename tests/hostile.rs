//! Hostile input without data loss: each case is a repro of a defect a hostile-input pass found,
//! with the behaviour it must have now.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use crate::common::wordpiece_model;

fn patrol(args: &[&str]) -> Output {
    Command::cargo_bin("patrol")
        .unwrap()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn records(bytes: &[u8]) -> Vec<Value> {
    text(bytes)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `patrol scan --quiet --model MODEL ARGS...`.
fn quiet_scan(model: &Path, args: &[&str]) -> Output {
    let mut all = vec!["scan", "--quiet", "--model", p(model)];
    all.extend_from_slice(args);
    patrol(&all)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A dump of `n` good JSONL posts.
fn dump(dir: &Path, name: &str, n: usize) -> PathBuf {
    let path = dir.join(name);
    let body: String = (0..n)
        .map(|i| format!("{{\"id\":\"d{i}\",\"text\":\"投稿{i} 荷物の受け取り\"}}\n"))
        .collect();
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn an_output_that_is_the_input_or_another_output_is_refused_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = dump(tmp.path(), "x.jsonl", 300);
    let before = std::fs::read(&input).unwrap();
    let link = tmp.path().join("link.jsonl");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let other = tmp.path().join("o.jsonl");
    let m = p(&model);
    for args in [
        vec!["scan", "--model", m, p(&input), "-o", p(&input)],
        vec!["scan", "--model", m, p(&input), "--errors", p(&link)],
        vec!["scan", "--model", m, p(&input), "--checkpoint", p(&input)],
        vec![
            "scan",
            "--model",
            m,
            p(&input),
            "-o",
            p(&other),
            "--errors",
            p(&other),
        ],
        vec![
            "scan",
            "--model",
            m,
            p(&input),
            "--checkpoint",
            p(&other),
            "-o",
            p(&other),
        ],
    ] {
        let out = patrol(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("destroy the input") || err.contains("same file"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&input).unwrap(),
            before,
            "the input is intact"
        );
        assert!(!other.exists(), "nothing was opened for writing");
    }
}

#[test]
fn an_unclosed_quote_is_one_error_and_reading_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    // TSV: quotes are ordinary characters unless asked for.
    let tsv = tmp.path().join("q.tsv");
    std::fs::write(&tsv, "id\ttext\nt1\t\"quoted start\nt2\tb\nt3\tc\n").unwrap();
    let out = quiet_scan(&model, &[p(&tsv)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(records(&out.stdout).len(), 3);
    // With --quote, or in CSV, the quote running to the end is one error naming its line.
    for (name, body, extra) in [
        (
            "q2.tsv",
            "id\ttext\nt1\t\"quoted start\nt2\tb\nt3\tc\n",
            vec!["--quote"],
        ),
        ("q.csv", "id,text\nt1,\"quoted start\nt2,b\nt3,c\n", vec![]),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, body).unwrap();
        let mut args = vec!["scan", "--quiet", "--model", p(&model), p(&path)];
        args.extend(extra);
        let out = patrol(&args);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let ids: Vec<String> = records(&out.stdout)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["t2", "t3"], "{name}");
        let errors = records(&out.stderr);
        assert_eq!(errors.len(), 1, "{name}");
        assert_eq!(errors[0]["line"], 2);
        assert!(errors[0]["reason"]
            .as_str()
            .unwrap()
            .contains("end of the input"));
    }
    // A quote may not run past --max-line-bytes either: 1,999 rows, one bad, 1,998 records.
    let csv = tmp.path().join("big.csv");
    let mut body = String::from("id,text\n");
    for i in 1..2000 {
        if i == 5 {
            body.push_str(&format!("r{i},\"open {i}\n"));
        } else {
            body.push_str(&format!("r{i},ok {i}\n"));
        }
    }
    std::fs::write(&csv, body).unwrap();
    let out = quiet_scan(&model, &["--max-line-bytes", "1000", p(&csv)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records(&out.stdout).len(), 1998);
    let errors = records(&out.stderr);
    assert_eq!((errors.len(), errors[0]["line"].as_u64()), (1, Some(6)));
    // A quoted field over several lines is still one record.
    let ok = tmp.path().join("m.csv");
    std::fs::write(&ok, "id,text\nm1,\"two\nlines\"\nm2,\"a \"\"q\"\" b\"\n").unwrap();
    let out = quiet_scan(&model, &[p(&ok)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(records(&out.stdout).len(), 2);
}

#[test]
fn csv_rows_and_headers_are_bounded_and_quoted_briefly() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let row = tmp.path().join("row.csv");
    std::fs::write(
        &row,
        format!("id,text\nr1,{}\nr2,ok\n", "あ".repeat(400_000)),
    )
    .unwrap();
    let out = quiet_scan(&model, &["--max-line-bytes", "10000", p(&row)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(records(&out.stdout).len(), 1);
    assert!(records(&out.stderr)[0]["reason"]
        .as_str()
        .unwrap()
        .contains("max-line-bytes"));
    let header = tmp.path().join("header.csv");
    std::fs::write(&header, format!("{},text\nr1,ok\n", "h".repeat(2_000_000))).unwrap();
    let out = quiet_scan(&model, &[p(&header)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.len() < 2000, "the header is not printed whole");
}

/// Writes a checkpointed scan of `input` into `out`, `errs` and `ckpt`.
fn checkpointed(model: &Path, input: &Path, out: &Path, ckpt: &Path, resume: bool) -> Output {
    let mut args = vec![
        "scan",
        "--quiet",
        "--model",
        p(model),
        p(input),
        "-o",
        p(out),
        "--checkpoint",
        p(ckpt),
        "--checkpoint-every",
        "50",
    ];
    if resume {
        args.push("--resume");
    }
    patrol(&args)
}

#[test]
fn resume_refuses_cut_outputs_changed_inputs_bad_checkpoints_and_a_second_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = dump(tmp.path(), "in.jsonl", 200);
    let (out, ckpt) = (tmp.path().join("out.jsonl"), tmp.path().join("scan.ckpt"));
    assert_eq!(
        checkpointed(&model, &input, &out, &ckpt, false)
            .status
            .code(),
        Some(0)
    );
    let full = std::fs::read(&out).unwrap();
    // Resuming a finished scan appends nothing.
    assert_eq!(
        checkpointed(&model, &input, &out, &ckpt, true)
            .status
            .code(),
        Some(0)
    );
    assert_eq!(std::fs::read(&out).unwrap(), full);
    // An output cut after the checkpoint: refused, and left as it is (no NUL gap).
    std::fs::OpenOptions::new()
        .write(true)
        .open(&out)
        .unwrap()
        .set_len(500)
        .unwrap();
    let r = checkpointed(&model, &input, &out, &ckpt, true);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("shorter than"),
        "{}",
        text(&r.stderr)
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 500);
    assert!(!std::fs::read(&out).unwrap().contains(&0));
    // An input regenerated under the same name: refused.
    std::fs::write(&out, &full).unwrap();
    let mut changed = std::fs::read(&input).unwrap();
    changed[10] = b'X';
    std::fs::write(&input, &changed).unwrap();
    let r = checkpointed(&model, &input, &out, &ckpt, true);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("changed since the checkpoint"),
        "{}",
        text(&r.stderr)
    );
    // A crafted checkpoint pointing past the inputs: refused, not a silent exit 0.
    let mut c: Value = serde_json::from_slice(&std::fs::read(&ckpt).unwrap()).unwrap();
    c["file_index"] = Value::from(7);
    std::fs::write(&ckpt, c.to_string()).unwrap();
    let r = checkpointed(&model, &input, &out, &ckpt, true);
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).contains("past the"), "{}", text(&r.stderr));
    // Two scans on one checkpoint: the second is refused while the first holds the lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(tmp.path().join("scan.ckpt.lock"))
        .unwrap();
    lock.lock().unwrap();
    let r = checkpointed(&model, &input, &out, &ckpt, false);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("another scan"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn follow_reads_a_truncated_or_replaced_file_from_its_start() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let f = dump(tmp.path(), "f.jsonl", 100);
    let mut child = Command::cargo_bin("patrol")
        .unwrap()
        .args(["stream", "--model", p(&model), "--follow", p(&f)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let take = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(120))
                    .expect("an output record")
            })
            .collect()
    };
    assert_eq!(take(100).len(), 100);
    // Truncate, then write 20 new posts.
    std::fs::File::create(&f).unwrap();
    let mut w = std::fs::OpenOptions::new().append(true).open(&f).unwrap();
    for i in 0..20 {
        writeln!(w, "{{\"id\":\"n{i}\",\"text\":\"新しい投稿{i}\"}}").unwrap();
    }
    drop(w);
    let new = take(20);
    assert!(new.iter().all(|l| l.contains("\"id\":\"n")), "{new:?}");
    // Replace the file (rotation): the new file is read from its start.
    let rotated = tmp.path().join("next.jsonl");
    std::fs::write(&rotated, "{\"id\":\"r0\",\"text\":\"ローテーション後\"}\n").unwrap();
    std::fs::rename(&rotated, &f).unwrap();
    assert!(take(1)[0].contains("\"id\":\"r0\""));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.contains("was truncated") && err.contains("was replaced"),
        "{err}"
    );
}

#[test]
fn a_mistyped_model_path_is_missing_and_never_a_hub_id() {
    let out = patrol(&["scan", "--model", "models/patrol-ja-smal", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no such model directory"), "{err}");
    assert!(
        !err.contains("could not be fetched"),
        "no Hub request: {err}"
    );
}

/// A copy of the placeholder model with `edit` applied to its `config.json`.
fn broken_model(dir: &Path, name: &str, edit: impl Fn(&mut Value)) -> PathBuf {
    let src = wordpiece_model(&dir.join(format!("src-{name}")));
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let e = entry.unwrap();
        std::fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    let path = out.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, config.to_string()).unwrap();
    out
}

#[test]
fn a_broken_model_fails_when_it_loads_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let input = dump(tmp.path(), "in.jsonl", 3);
    // (field set, value, field the error names)
    let cases = [
        ("num_attention_heads", 0, "num_attention_heads"),
        ("num_attention_heads", 3, "hidden_size"),
        ("num_hidden_layers", 0, "num_hidden_layers"),
        ("num_hidden_layers", 2, "num_hidden_layers"),
        ("vocab_size", 10, "vocab_size"),
    ];
    for (set, value, field) in cases {
        let name = format!("{set}-{value}");
        let model = broken_model(tmp.path(), &name, move |c| c[set] = value.into());
        let out = patrol(&["scan", "--model", p(&model), p(&input)]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = text(&out.stderr);
        assert!(
            err.contains(field) && err.contains("config.json"),
            "{name}: {err}"
        );
    }
    // A missing patrol.json is a warning that says which thresholds are used.
    let model = broken_model(tmp.path(), "nopatrol", |_| {});
    std::fs::remove_file(model.join("patrol.json")).unwrap();
    let out = quiet_scan(&model, &[p(&input)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("thresholds 0.5"),
        "{}",
        text(&out.stderr)
    );
    // An invalid tokenizer.json beside vocab.txt is an error, not ignored.
    let model = broken_model(tmp.path(), "badjson", |_| {});
    std::fs::write(model.join("tokenizer.json"), "{ not json").unwrap();
    let out = patrol(&["scan", "--model", p(&model), p(&input)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tokenizer.json"));
    // A FIFO as model.safetensors is named for what it is.
    let model = broken_model(tmp.path(), "fifo", |_| {});
    std::fs::remove_file(model.join("model.safetensors")).unwrap();
    assert!(Command::new("mkfifo")
        .arg(model.join("model.safetensors"))
        .status()
        .unwrap()
        .success());
    let out = patrol(&["scan", "--model", p(&model), p(&input)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("a FIFO"),
        "{}",
        text(&out.stderr)
    );
    // --max-length below 8 is refused.
    let good = wordpiece_model(&tmp.path().join("good"));
    let out = patrol(&["scan", "--model", p(&good), "--max-length", "4", p(&input)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("below 8"));
}

#[test]
fn an_unwritable_stderr_is_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let input = dump(tmp.path(), "in.jsonl", 3);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::cargo_bin("patrol")
        .unwrap()
        .args(["scan", "--model", p(&model), p(&input), "-o", "/dev/null"])
        .stderr(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "no panic (101)");
}

#[test]
fn japanese_legacy_encodings_are_read_when_named_or_sniffed() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let jsonl = "{\"id\":\"a\",\"text\":\"闇バイトの募集に注意\"}\n{\"id\":\"b\",\"text\":\"野菜あります\"}\n";
    let csv = "id,text\na,闇バイトの募集に注意\nb,野菜あります\n";
    let plain = "闇バイトの募集に注意\n野菜あります\n";
    let encodings: [(&str, &'static encoding_rs::Encoding); 2] = [
        ("cp932", encoding_rs::SHIFT_JIS),
        ("euc-jp", encoding_rs::EUC_JP),
    ];
    let reference = |name: &str, body: &str| {
        let path = tmp.path().join(format!("ref-{name}"));
        std::fs::write(&path, body).unwrap();
        let out = quiet_scan(&model, &[p(&path)]);
        records(&out.stdout)
    };
    for (ext, body) in [("jsonl", jsonl), ("csv", csv), ("txt", plain)] {
        let expected = reference(&format!("x.{ext}"), body);
        assert_eq!(expected.len(), 2);
        for (name, enc) in encodings {
            let (bytes, _, _) = enc.encode(body);
            for gz in [false, true] {
                let file = tmp
                    .path()
                    .join(format!("{name}-{gz}.{ext}{}", if gz { ".gz" } else { "" }));
                let data = if gz {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&bytes).unwrap();
                    e.finish().unwrap()
                } else {
                    bytes.to_vec()
                };
                std::fs::write(&file, data).unwrap();
                for chosen in [name, "auto"] {
                    let out = quiet_scan(&model, &["--encoding", chosen, p(&file)]);
                    assert_eq!(out.status.code(), Some(0), "{file:?} {chosen}");
                    assert_eq!(records(&out.stdout), expected, "{file:?} {chosen}");
                }
            }
            // Without --encoding, the error suggests one.
            let file = tmp.path().join(format!("{name}-false.{ext}"));
            let out = quiet_scan(&model, &[p(&file)]);
            let err = text(&out.stderr);
            assert!(err.contains(&format!("--encoding {name}")), "{err}");
        }
        // UTF-16 with a BOM.
        let mut utf16 = vec![0xFF, 0xFE];
        for u in body.encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let file = tmp.path().join(format!("u16.{ext}"));
        std::fs::write(&file, utf16).unwrap();
        let out = quiet_scan(&model, &["--encoding", "utf-16", p(&file)]);
        assert_eq!(records(&out.stdout), expected, "utf-16 {ext}");
    }
}

#[test]
fn ids_keep_their_text_and_bad_ids_and_bad_gzip_tails_are_reported_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let model = wordpiece_model(tmp.path());
    let path = tmp.path().join("ids.jsonl");
    std::fs::write(
        &path,
        "{\"id\":123456789012345678901234567890,\"text\":\"a\"}\n\
         {\"id\":123456789012345678901234567891,\"text\":\"b\"}\n\
         {\"id\":null,\"text\":\"c\"}\n{\"id\":{\"x\":1},\"text\":\"d\"}\n{\"id\":true,\"text\":\"e\"}\n",
    )
    .unwrap();
    let out = quiet_scan(&model, &[p(&path)]);
    assert_eq!(out.status.code(), Some(1));
    let ids: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split("\"scores\"").next().unwrap().to_string())
        .collect();
    assert_eq!(ids[0], "{\"id\":123456789012345678901234567890,");
    assert_eq!(ids[1], "{\"id\":123456789012345678901234567891,");
    let errors = records(&out.stderr);
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(errors
        .iter()
        .all(|e| e["reason"].as_str().unwrap().contains("id field")));
    // Trailing garbage after a complete gzip stream is attributed to the last line.
    let gz = tmp.path().join("tail.jsonl.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b"{\"id\":\"g1\",\"text\":\"x\"}\n{\"id\":\"g2\",\"text\":\"y\"}\n")
        .unwrap();
    let mut bytes = e.finish().unwrap();
    let n = bytes.len();
    bytes[n - 8] ^= 0xFF; // break the CRC
    std::fs::write(&gz, &bytes).unwrap();
    let out = quiet_scan(&model, &[p(&gz)]);
    let errors = records(&out.stderr);
    assert_eq!(errors.len(), 1, "{}", text(&out.stderr));
    assert!(
        errors[0]["line"].as_u64().unwrap() <= 2,
        "no phantom line 3: {errors:?}"
    );
}
