//! `patrol serve` on an ephemeral loopback port: answers equal to the library's, every refusal
//! provoked (401, 413, 422, 429), cancelled texts when a client goes away, and SIGTERM with
//! requests in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use patrol::{Classifier, ClassifierOptions};
use serde_json::{json, Value};

/// A running `patrol serve` with the embedded model.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_patrol"))
            .args(["serve", "--port", "0", "--threads", "2"])
            .args(args)
            .env_remove("PATROL_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn patrol serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if let Some(addr) = line.split("http://").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve printed its address");
        Self { child, addr }
    }

    fn request(&self, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Response {
        request(&self.addr, method, path, headers, body)
    }

    fn classify(&self, body: &Value) -> Response {
        self.request("POST", "/v1/classify", &[], body.to_string().as_bytes())
    }

    fn metric(&self, name: &str) -> f64 {
        let text = self.request("GET", "/metrics", &[], b"").body;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("metric {name} in:\n{text}"))
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        wait_for(&mut self.child, Duration::from_secs(30))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(start.elapsed() < limit, "serve did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// The error message of an error answer.
    fn error(&self) -> String {
        self.json()["error"].as_str().unwrap().to_string()
    }
}

/// One HTTP/1.1 request on its own connection.
fn request(addr: &str, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // A body over the limit may be refused before it is all sent.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

fn texts() -> Vec<String> {
    let mut v = crate::common::posts();
    v.truncate(32);
    v
}

/// Asserts two answers agree: the same labels and evidence words, scores within 1e-5 (texts
/// batched with different neighbours may differ in the last rounding digit).
fn assert_same(got: &Value, want: &[Value]) {
    let got = got.as_array().expect("an array of answers");
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g["labels"], w["labels"], "labels of {i}");
        for (label, score) in w["scores"].as_object().unwrap() {
            let d = g["scores"][label].as_f64().unwrap() - score.as_f64().unwrap();
            assert!(d.abs() < 1e-5, "{label} of {i}: {g} vs {w}");
        }
        let words = |v: &Value| -> Vec<(String, Value, Value)> {
            v["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| {
                    let label = e["label"].as_str().unwrap().to_string();
                    e["words"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(move |w| (label.clone(), w["text"].clone(), w["span"].clone()))
                })
                .collect()
        };
        assert_eq!(words(g), words(w), "evidence of {i}");
    }
}

/// The answer the server should give, from the library with the same model.
fn expected(classifier: &Classifier, texts: &[String]) -> Vec<Value> {
    classifier
        .classify(texts)
        .unwrap()
        .iter()
        .map(|p| Value::Object(patrol::run::prediction_fields(p)))
        .collect()
}

#[test]
fn answers_equal_the_library_in_input_order() {
    let server = Server::start(&[]);
    let texts = texts();
    let plain = Classifier::embedded(ClassifierOptions::default().with_threads(2)).unwrap();
    let got = server.classify(&json!({ "inputs": texts }));
    assert_eq!(got.status, 200, "{}", got.body);
    assert_same(&got.json(), &expected(&plain, &texts));

    // One string is one answer.
    let one = server.classify(&json!({ "inputs": texts[0] }));
    assert_same(&one.json(), &expected(&plain, &texts[..1]));

    // Thresholds and evidence per request, as the library gives them with the same options.
    let explained = Classifier::embedded(
        ClassifierOptions::default()
            .with_threads(2)
            .with_evidence(true)
            .with_threshold("recruitment", 0.3)
            .with_threshold("drugs", 0.2),
    )
    .unwrap();
    let body = json!({"inputs": texts, "explain": true,
                      "thresholds": {"recruitment": 0.3, "drugs": 0.2}});
    let got = server.classify(&body).json();
    let want = expected(&explained, &texts);
    assert_same(&got, &want);
    assert!(
        want.iter()
            .any(|p| !p["evidence"].as_array().unwrap().is_empty()),
        "some text carries evidence"
    );

    // Concurrent requests are merged into shared batches and still get their own answers.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let addr = server.addr.clone();
            let mine: Vec<String> = texts.iter().skip(i).take(3 + i).cloned().collect();
            std::thread::spawn(move || {
                let body = json!({ "inputs": mine }).to_string();
                (
                    mine,
                    request(&addr, "POST", "/v1/classify", &[], body.as_bytes()),
                )
            })
        })
        .collect();
    for h in handles {
        let (mine, got) = h.join().unwrap();
        assert_same(&got.json(), &expected(&plain, &mine));
    }
    assert_eq!(
        server.metric("patrol_texts_total"),
        (32 + 1 + 32 + (0..8).map(|i| 3 + i).sum::<usize>()) as f64
    );

    let info = server.request("GET", "/info", &[], b"").json();
    assert_eq!(
        info["labels"],
        json!(["recruitment", "drugs", "serious_crime"])
    );
    assert_eq!(info["max_length"], json!(plain.max_length()));
    let health = server.request("GET", "/health", &[], b"");
    assert_eq!(health.status, 200);
    let openapi = server.request("GET", "/openapi.json", &[], b"").json();
    for path in [
        "/v1/classify",
        "/health",
        "/info",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} in the OpenAPI document"
        );
    }
}

#[test]
fn refusals_name_what_is_wrong() {
    let server = Server::start(&["--max-body-bytes", "2000", "--max-texts-per-request", "4"]);
    let cases: [(&[u8], &str); 9] = [
        (b"{\"inputs\": [\"a\",", "body: not valid JSON"),
        (b"[\"a\"]", "body: expected a JSON object"),
        (b"{\"input\": [\"a\"]}", "input: unknown field"),
        (b"{}", "inputs: missing"),
        (
            b"{\"inputs\": [\"ok\", 3]}",
            "inputs[1]: expected a string, got a number",
        ),
        (b"{\"inputs\": [\"ok\", \"  \"]}", "inputs[1]: empty text"),
        (
            b"{\"inputs\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            "inputs: 5 texts, more than the limit of 4",
        ),
        (
            b"{\"inputs\": \"a\", \"explain\": 1}",
            "explain: expected true or false",
        ),
        (
            b"{\"inputs\": \"a\", \"thresholds\": {\"weapons\": 0.5}}",
            "thresholds.weapons: unknown label",
        ),
    ];
    for (body, message) in cases {
        let got = server.request("POST", "/v1/classify", &[], body);
        assert_eq!(got.status, 422, "{}", String::from_utf8_lossy(body));
        assert!(
            got.error().starts_with(message),
            "{:?} for {}",
            got.error(),
            String::from_utf8_lossy(body)
        );
    }
    let big = json!({ "inputs": ["あ".repeat(1000)] }).to_string();
    let got = server.request("POST", "/v1/classify", &[], big.as_bytes());
    assert_eq!(got.status, 413, "{}", got.body);
    assert_eq!(got.json()["error_type"], "payload_too_large");
    let got = server.request("GET", "/nowhere", &[], b"");
    assert_eq!(got.status, 404);
    assert_eq!(
        server.metric("patrol_texts_total"),
        0.0,
        "nothing refused was scored"
    );
    assert!(server
        .request("GET", "/metrics", &[], b"")
        .body
        .contains("patrol_requests_total{route=\"/v1/classify\",status=\"422\"} 9"));
}

#[test]
fn an_api_key_guards_every_route_but_health() {
    let server = Server::start(&["--api-key", "k3y-for-tests"]);
    let body = json!({"inputs": ["今日のアイスおいしい"]}).to_string();
    for (path, method, b) in [
        ("/v1/classify", "POST", body.as_bytes()),
        ("/info", "GET", &b""[..]),
        ("/metrics", "GET", &b""[..]),
        ("/openapi.json", "GET", &b""[..]),
    ] {
        for headers in [
            &[][..],
            &["Authorization: Bearer wrong"][..],
            &["Authorization: k3y-for-tests"][..],
        ] {
            let got = server.request(method, path, headers, b);
            assert_eq!(got.status, 401, "{path} {headers:?}");
            assert_eq!(got.header("www-authenticate"), Some("Bearer"));
        }
        let got = server.request(method, path, &["Authorization: Bearer k3y-for-tests"], b);
        assert_eq!(got.status, 200, "{path}: {}", got.body);
    }
    assert_eq!(server.request("GET", "/health", &[], b"").status, 200);
}

#[test]
fn a_full_queue_answers_429_and_a_client_that_leaves_cancels_its_texts() {
    // One request at a time, and a batch that waits 1.5 s to fill: the second request meets a
    // full queue.
    let server = Server::start(&[
        "--max-concurrent-requests",
        "1",
        "--max-wait-ms",
        "1500",
        "--max-batch",
        "64",
    ]);
    let addr = server.addr.clone();
    let first = std::thread::spawn(move || {
        request(
            &addr,
            "POST",
            "/v1/classify",
            &[],
            br#"{"inputs": ["a", "b"]}"#,
        )
    });
    std::thread::sleep(Duration::from_millis(400));
    let second = server.classify(&json!({"inputs": ["c"]}));
    assert_eq!(second.status, 429, "{}", second.body);
    assert_eq!(second.header("retry-after"), Some("1"));
    let first = first.join().unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json().as_array().unwrap().len(), 2);

    // A client that sends three texts and leaves: they are dropped unscored.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let body = br#"{"inputs": ["x", "y", "z"]}"#;
    write!(
        stream,
        "POST /v1/classify HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stream.shutdown(Shutdown::Both).unwrap();
    drop(stream);
    let start = Instant::now();
    while server.metric("patrol_texts_cancelled_total") < 3.0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "texts were not cancelled"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.metric("patrol_texts_total"), 2.0);
    assert_eq!(server.metric("patrol_queue_depth"), 0.0);
}

#[test]
fn sigterm_answers_every_accepted_request_then_exits_0() {
    let mut server = Server::start(&["--max-wait-ms", "800", "--max-batch", "256"]);
    let texts = texts();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let addr = server.addr.clone();
            let mine: Vec<String> = texts.iter().skip(i * 5).take(5).cloned().collect();
            std::thread::spawn(move || {
                let body = json!({ "inputs": mine }).to_string();
                (
                    mine.len(),
                    request(&addr, "POST", "/v1/classify", &[], body.as_bytes()),
                )
            })
        })
        .collect();
    // Every request is in the batcher's wait when the signal comes.
    std::thread::sleep(Duration::from_millis(300));
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    for h in handles {
        let (n, got) = h.join().unwrap();
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json().as_array().unwrap().len(), n);
    }
    assert!(
        TcpStream::connect(&server.addr).is_err(),
        "no longer accepting"
    );
}
