//! A deterministic generator of post dumps with faults, for accounting tests and benchmarks:
//! 1 % of the lines are malformed (bad JSON, missing text field, invalid UTF-8, NUL bytes, empty
//! text, lines of 1 MB and more), some valid lines carry a BOM or CRLF ending, and the last line
//! is truncated (no newline, cut JSON).

use std::io::Write;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// Counts of what a dump holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Lines written.
    pub lines: u64,
    /// Lines that must become error records.
    pub bad: u64,
    /// Ids of the good lines, in order.
    pub good_ids: Vec<String>,
}

const PHRASES: [&str; 16] = [
    "今日はいい天気",
    "荷物の受け取りだけで日給3万",
    "畑の野菜を手渡しします",
    "アイス食べたい",
    "詳細はDMで",
    "ﾎﾜｲﾄ案件あります",
    "新作のゲームが楽しい",
    "駅前のカフェで勉強中",
    "引越しの手伝い募集、時給1200円",
    "🥦あります 都内手押し",
    "課題が殺しに来てる",
    "テレグラムで連絡ください",
    "猫がかわいい🐈",
    "海外で簡単な事務、渡航費負担",
    "バイト終わった〜",
    "口座買い取ります",
];

/// Kinds of malformed line, cycled through.
const BAD_KINDS: [&str; 6] = ["json", "missing", "utf8", "nul", "empty", "huge"];

/// Writes `n` lines to `out`; the same `seed` gives the same bytes.
pub fn write_dump(out: &mut dyn Write, n: u64, seed: u64) -> std::io::Result<DumpStats> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut stats = DumpStats::default();
    // At most a few 1 MB lines, so a 10^5-line dump stays small.
    let mut huge_left = 1 + n / 50_000;
    let mut bad_i = 0usize;
    for i in 0..n {
        let id = format!("g{i}");
        let last = i + 1 == n;
        let text: String = (0..rng.random_range(1..4))
            .map(|_| *PHRASES.choose(&mut rng).expect("non-empty"))
            .collect::<Vec<_>>()
            .join(" ");
        let good = serde_json::json!({"id": id, "text": text}).to_string();
        if last && n > 1 {
            // A truncated final line: cut JSON, no newline.
            out.write_all(&good.as_bytes()[..good.len() / 2])?;
            stats.bad += 1;
        } else if rng.random_bool(0.01) {
            let mut kind = BAD_KINDS[bad_i % BAD_KINDS.len()];
            bad_i += 1;
            if kind == "huge" {
                if huge_left == 0 {
                    kind = "json";
                } else {
                    huge_left -= 1;
                }
            }
            match kind {
                "json" => out.write_all(format!("{{\"id\":\"{id}\",\"text\":").as_bytes())?,
                "missing" => {
                    out.write_all(format!("{{\"id\":\"{id}\",\"body\":\"{text}\"}}").as_bytes())?
                }
                "utf8" => {
                    out.write_all(format!("{{\"id\":\"{id}\",\"text\":\"").as_bytes())?;
                    out.write_all(&[0xff, 0xfe, 0x80])?;
                    out.write_all(b"\"}")?;
                }
                "nul" => {
                    out.write_all(format!("{{\"id\":\"{id}\",\"text\":\"a\0b\"}}").as_bytes())?
                }
                "empty" => {
                    out.write_all(format!("{{\"id\":\"{id}\",\"text\":\"\"}}").as_bytes())?
                }
                _ => {
                    let big = "長".repeat((1 << 20) / 3 + 16);
                    out.write_all(format!("{{\"id\":\"{id}\",\"text\":\"{big}\"}}").as_bytes())?;
                }
            }
            out.write_all(b"\n")?;
            stats.bad += 1;
        } else {
            match rng.random_range(0..100) {
                0 => out.write_all(format!("\u{feff}{good}\n").as_bytes())?,
                1 => out.write_all(format!("{good}\r\n").as_bytes())?,
                _ => out.write_all(format!("{good}\n").as_bytes())?,
            }
            stats.good_ids.push(id);
        }
        stats.lines += 1;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_counts_its_faults() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let sa = write_dump(&mut a, 3000, 9).unwrap();
        let sb = write_dump(&mut b, 3000, 9).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_eq!(sa.lines, 3000);
        assert_eq!(sa.bad + sa.good_ids.len() as u64, 3000);
        assert!(sa.bad > 10 && sa.bad < 80, "{}", sa.bad);
        assert!(!a.ends_with(b"\n"), "the last line is truncated");
    }
}
