//! `patrol report`: the IHC CSV (order, columns, BOM, CP932), the review page's escaping, and
//! the page itself in headless Chromium at 10,000 and 100,000 hits.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

fn patrol() -> Command {
    Command::new(env!("CARGO_BIN_EXE_patrol"))
}

/// One scan output record, as `patrol scan --keep-fields --explain --job-ad` writes it.
fn record(
    id: &str,
    text: &str,
    scores: [f64; 3],
    evidence: &[(&str, &str)],
    missing: &[&str],
) -> Value {
    let names = ["recruitment", "drugs", "serious_crime"];
    let labels: Vec<&str> = names
        .iter()
        .zip(scores)
        .filter(|(_, s)| *s >= 0.5)
        .map(|(l, _)| *l)
        .collect();
    let evidence: Vec<Value> = evidence
        .iter()
        .map(|(label, word)| {
            let start = text.find(word).expect("evidence word in text");
            json!({"label": label, "words": [{"text": word, "weight": 0.3, "span": [start, start + word.len()]}]})
        })
        .collect();
    json!({
        "id": id,
        "scores": {"recruitment": scores[0], "drugs": scores[1], "serious_crime": scores[2]},
        "labels": labels,
        "evidence": evidence,
        "job_ad": {"missing": missing, "present": {}, "anonymous_contact": true},
        "text": text,
        "url": format!("https://example.com/p/{id}"),
        "created_at": "2026-12-01T10:00:00+09:00",
    })
}

fn write_jsonl(path: &Path, records: &[Value]) {
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, body).unwrap();
}

fn report(args: &[&str]) {
    let out = patrol().arg("report").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ihc_csv_rows_sort_by_score_within_category_in_utf8_bom_or_cp932() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.jsonl");
    write_jsonl(
        &scan,
        &[
            record(
                "d1",
                "都内手押し🥦 在庫あり",
                [0.1, 0.91, 0.0],
                &[("drugs", "手押し")],
                &[],
            ),
            record("benign", "今日のアイスおいしい", [0.1, 0.1, 0.1], &[], &[]),
            record(
                "r1",
                "荷物受け取るだけ 日給5万 テレグラムで",
                [0.95, 0.0, 0.0],
                &[("recruitment", "日給")],
                &["name", "address", "contact"],
            ),
            record(
                "r2",
                &format!("即日即金 {}", "長文".repeat(150)),
                [0.99, 0.7, 0.0],
                &[("recruitment", "即金")],
                &[],
            ),
            record(
                "s1",
                "明日駅で刺す",
                [0.0, 0.0, 0.97],
                &[("serious_crime", "刺す")],
                &[],
            ),
        ],
    );
    let csv = dir.path().join("ihc.csv");
    report(&[
        scan.to_str().unwrap(),
        "--ihc",
        csv.to_str().unwrap(),
        "--truncate",
        "20",
    ]);
    let bytes = std::fs::read(&csv).unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "a BOM");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rows.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        patrol::report::ihc::HEADER,
        "the documented columns"
    );
    let rows: Vec<Vec<String>> = rows
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        ids,
        ["r2", "r1", "d1", "s1"],
        "by category, then score; benign left out"
    );
    assert_eq!(rows[0][0], "犯罪実行者募集情報");
    assert_eq!(rows[0][1], "違法情報（薬物）", "its other label");
    assert_eq!(rows[0][5], "0.990");
    assert_eq!(rows[0][6], "即金");
    assert_eq!(rows[0][8].chars().count(), 21, "20 characters and …");
    assert_eq!(rows[1][7], "氏名・名称／住所／連絡先");
    assert_eq!(rows[1][3], "https://example.com/p/r1");
    assert_eq!(rows[2][0], "違法情報（薬物）");
    assert_eq!(rows[3][0], "重要犯罪密接関連情報");
    assert!(text.contains("\r\n"), "CRLF line ends for Excel");

    // CP932: the same rows, and the emoji it lacks as '?'.
    let sjis = dir.path().join("ihc-sjis.csv");
    report(&[
        scan.to_str().unwrap(),
        "--ihc",
        sjis.to_str().unwrap(),
        "--encoding",
        "cp932",
    ]);
    let raw = std::fs::read(&sjis).unwrap();
    let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&raw);
    assert!(!bad);
    assert!(decoded.starts_with("分類,"));
    assert!(decoded.contains("都内手押し? 在庫あり"), "{decoded}");
}

#[test]
fn the_review_page_carries_hostile_text_only_as_escaped_data() {
    let dir = tempfile::tempdir().unwrap();
    let scan = dir.path().join("scan.jsonl");
    let hostile = r#"</script><script>alert(1)</script>"><img src=x onerror=alert(1)> 手押し"#;
    write_jsonl(
        &scan,
        &[record(
            "x",
            hostile,
            [0.0, 0.9, 0.0],
            &[("drugs", "手押し")],
            &[],
        )],
    );
    let page = dir.path().join("report.html");
    report(&[scan.to_str().unwrap(), "--html", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    let start = html
        .find(r#"<script id="patrol-data" type="application/json">"#)
        .unwrap();
    let body = &html[start..];
    let data = &body[body.find('>').unwrap() + 1..body.find("</script>").unwrap()];
    assert!(
        !data.contains('<') && !data.contains('>'),
        "no markup in the data"
    );
    let parsed: Value = serde_json::from_str(data).unwrap();
    assert_eq!(parsed["hits"][0]["text"], hostile);
    assert!(
        !html.contains("<img"),
        "the attack is not in the page as markup"
    );
    // No resource from outside: the only addresses are the post's own (as data) and the SVG
    // namespace; a content policy forbids any fetch.
    let outside = html
        .replace("https://example.com/p/x", "")
        .replace("http://www.w3.org/2000/svg", "");
    for needle in ["http://", "https://", "src=\"//", "@import"] {
        assert!(!outside.contains(needle), "no external resource: {needle}");
    }
    assert!(
        html.contains("default-src 'none'"),
        "a content security policy"
    );
}

/// Headless Chromium's DOM of `page` after its script ran, with `fragment` as the URL hash.
fn chromium_dom(page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=20000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("chromium on PATH (Debian package chromium; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text of the element with `id`.
fn by_id<'d>(dom: &'d str, id: &str) -> &'d str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id}"));
    let rest = &dom[at..];
    let open = rest.find('>').unwrap() + 1;
    &rest[open..open + rest[open..].find('<').unwrap()]
}

const WORDS: [&str; 24] = [
    "今日",
    "駅前",
    "新しい",
    "カフェ",
    "雨",
    "週末",
    "映画",
    "ラーメン",
    "公園",
    "猫",
    "仕事",
    "帰り",
    "電車",
    "遅延",
    "夕飯",
    "散歩",
    "本屋",
    "コンビニ",
    "友達",
    "旅行",
    "温泉",
    "写真",
    "花火",
    "海",
];

/// `n` hits: campaigns of three reposts that differ only in numbers and emoji, single posts made
/// of varied words, and hostile texts. Returns the records and, for `labels=drugs&min=0.5`, the
/// hits and the groups that pass.
fn hits(n: usize) -> (Vec<Value>, usize, usize) {
    let mut records = Vec::with_capacity(n);
    let (mut passing, mut passing_groups) = (0, 0);
    let mut seed = 7u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let campaigns = n / 10;
    for c in 0..campaigns {
        let drugs = c % 2 == 0;
        let scores = if drugs {
            [0.1, 0.9, 0.0]
        } else {
            [0.8, 0.2, 0.0]
        };
        let words: Vec<&str> = (0..10).map(|_| WORDS[(next() % 24) as usize]).collect();
        for r in 0..3 {
            // Letters identical across the three reposts; numbers and emoji differ.
            let text = format!(
                "🥦{}手押し{}{} 在庫{}g {}",
                ["", "🔥", "✨"][r],
                words.join(""),
                c,
                r + 1,
                next() % 1000
            );
            records.push(record(
                &format!("c{c}-{r}"),
                &text,
                scores,
                &[("drugs", "手押し")],
                &[],
            ));
        }
        if drugs {
            passing += 3;
            passing_groups += 1;
        }
    }
    let mut i = 0;
    while records.len() < n {
        let words: Vec<&str> = (0..14).map(|_| WORDS[(next() % 24) as usize]).collect();
        let hostile = if i % 100 == 0 {
            r#"<script>alert(1)</script>"><img src=x onerror=alert(1)>"#
        } else {
            ""
        };
        let drugs = i % 3 == 0;
        let scores = if drugs {
            [0.0, 0.6 + (i % 29) as f64 / 100.0, 0.0]
        } else {
            [0.0, 0.0, 0.95]
        };
        let text = format!("{hostile}{}{i}", words.join("の"));
        records.push(record(&format!("s{i}"), &text, scores, &[], &[]));
        if drugs {
            passing += 1;
            passing_groups += 1;
        }
        i += 1;
    }
    (records, passing, passing_groups)
}

fn page_for(dir: &Path, n: usize) -> (std::path::PathBuf, usize, usize) {
    let (records, passing, groups) = hits(n);
    let scan = dir.join("scan.jsonl");
    write_jsonl(&scan, &records);
    let errors = dir.join("errors.jsonl");
    std::fs::write(
        &errors,
        "{\"file\":\"-\",\"line\":3,\"reason\":\"bad JSON\"}\n".repeat(7),
    )
    .unwrap();
    let page = dir.join("report.html");
    report(&[
        scan.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    (page, passing, groups)
}

#[test]
fn the_review_page_in_chromium_filters_groups_highlights_and_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let (page, passing, groups) = page_for(dir.path(), 10_000);

    let dom = chromium_dom(&page, "#labels=drugs&min=0.5&group=0");
    assert!(dom.contains("data-ready=\"1\""), "the page rendered");
    assert_eq!(by_id(&dom, "count-records"), "10007");
    assert_eq!(by_id(&dom, "count-errors"), "7", "failed records are shown");
    assert_eq!(by_id(&dom, "count-shown"), passing.to_string());
    assert_eq!(dom.matches("class=\"hit").count(), 50, "one page of rows");
    // The evidence word is marked, after an emoji (UTF-16 offsets); campaigns score highest.
    assert!(dom.contains(">手押し</mark>"), "evidence highlighted");
    assert!(dom.contains("class=\"ev\""));

    let grouped = chromium_dom(&page, "#labels=drugs&min=0.5");
    assert_eq!(
        by_id(&grouped, "count-shown"),
        groups.to_string(),
        "one row per campaign"
    );
    assert!(
        grouped.contains("data-group-size=\"3\""),
        "campaigns of three are grouped"
    );

    // Hostile texts render as text: no element comes from them.
    let hostile = chromium_dom(&page, "#labels=drugs&min=0.5&group=0&q=onerror");
    assert!(
        hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "shown as text"
    );
    assert!(!hostile.contains("<img"), "no image element");
    assert_eq!(
        hostile.matches("<script").count(),
        2,
        "only the page's own script elements"
    );
}

#[test]
fn the_review_page_stays_usable_at_100000_hits() {
    let dir = tempfile::tempdir().unwrap();
    let (page, passing, _) = page_for(dir.path(), 100_000);
    let dom = chromium_dom(&page, "#labels=drugs&min=0.5&group=0&page=3");
    assert!(dom.contains("data-ready=\"1\""), "the page rendered");
    assert_eq!(by_id(&dom, "count-shown"), passing.to_string());
    assert_eq!(
        dom.matches("class=\"hit").count(),
        50,
        "rows only for the page shown"
    );
}
