//! The review page: one self-contained HTML file (`review.html`, no network, no external
//! scripts or fonts) with the hits as JSON in a `<script type="application/json">` element. The
//! page's script puts every text into the page as text, never as markup, and the JSON escapes
//! `<`, `>` and `&`, so no post can close the element or inject any.

use serde_json::{json, Value};

use super::{category, group_near_duplicates, ihc, Loaded};

/// The page, with its data placeholder line.
const TEMPLATE: &str = include_str!("review.html");
const PLACEHOLDER: &str =
    r#"<script id="patrol-data" type="application/json">/*PATROL_DATA*/</script>"#;

/// A byte offset of `text` as a UTF-16 offset, as the page's script counts.
fn utf16(text: &str, byte: usize) -> usize {
    text[..byte].encode_utf16().count()
}

/// The page's data: counts, labels, categories and the hits with their groups.
pub fn data(loaded: &Loaded, labels: &[String], model: &str, truncate_to: usize) -> Value {
    let groups = group_near_duplicates(&loaded.hits.iter().map(|h| &h.text).collect::<Vec<_>>());
    let mut sizes = std::collections::HashMap::new();
    for g in &groups {
        *sizes.entry(*g).or_insert(0usize) += 1;
    }
    let hits: Vec<Value> = loaded
        .hits
        .iter()
        .zip(&groups)
        .map(|(h, g)| {
            let evidence: Vec<Value> = h
                .evidence
                .iter()
                .map(|(label, words)| {
                    let spans: Vec<Value> = words
                        .iter()
                        .map(|(_, (s, e))| json!([utf16(&h.text, *s), utf16(&h.text, *e)]))
                        .collect();
                    json!({"label": label, "spans": spans})
                })
                .collect();
            let scores: serde_json::Map<String, Value> = h
                .scores
                .iter()
                .map(|(l, s)| (l.clone(), json!(s)))
                .collect();
            json!({
                "id": h.id, "url": h.url, "time": h.time, "text": h.text,
                "labels": h.labels, "scores": scores, "evidence": evidence,
                "missing": h.missing, "group": g, "group_size": sizes[g],
                "ihc": ihc::csv_line(&ihc::row(h, truncate_to)),
            })
        })
        .collect();
    let flagged: serde_json::Map<String, Value> = labels
        .iter()
        .map(|l| {
            let n = loaded
                .flagged
                .iter()
                .find(|(x, _)| x == l)
                .map_or(0, |(_, n)| *n);
            (l.clone(), json!(n))
        })
        .collect();
    let categories: serde_json::Map<String, Value> = labels
        .iter()
        .map(|l| (l.clone(), json!(category(l))))
        .collect();
    json!({
        "title": "patrol review",
        "generated": now_utc(),
        "model": model,
        "labels": labels,
        "categories": categories,
        "counts": {
            "records": loaded.scored + loaded.errors,
            "scored": loaded.scored,
            "errors": loaded.errors,
            "flagged": flagged,
            "hits": loaded.hits.len(),
            "groups": sizes.len(),
        },
        "ihc_header": ihc::csv_line(&ihc::HEADER.map(String::from)),
        "hits": hits,
    })
}

/// JSON that is safe inside a `<script>` element: `<`, `>` and `&` as `\u` escapes.
fn script_safe(value: &Value) -> String {
    let json = value.to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The whole page for `data`.
pub fn page(data: &Value) -> String {
    TEMPLATE.replacen(
        PLACEHOLDER,
        &format!(
            r#"<script id="patrol-data" type="application/json">{}</script>"#,
            script_safe(data)
        ),
        1,
    )
}

/// The current time as RFC 3339 UTC, from the system clock.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_text_can_close_the_data_element() {
        let v =
            json!({"text": "</script><script>alert(1)</script> & \"><img src=x onerror=alert(1)>"});
        let s = script_safe(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
        assert!(TEMPLATE.contains(PLACEHOLDER));
    }

    #[test]
    fn offsets_count_utf16_units() {
        let t = "🍨a荷物";
        assert_eq!(utf16(t, "🍨a".len()), 3);
    }
}
