//! Dataset rules and counts: the validation test asserts [`check`] finds nothing, and
//! `patrol dataset stats` prints [`counts_table`] for `DATA_CARD.md`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use super::{is_hard_negative, shingle, Example, NEGATIVE_STYLES, POSITIVE_STYLES};
use crate::lexicon;
use crate::model::DEFAULT_LABELS;
use crate::text::Normalizer;

const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Measured shares and counts, plus every rule that failed.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Broken rules, one line each; empty when the dataset is valid.
    pub violations: Vec<String>,
    /// Named figures (counts and shares) behind the rules.
    pub figures: BTreeMap<String, f64>,
}

fn count(all: &[&Example], f: impl Fn(&Example) -> bool) -> usize {
    all.iter().filter(|e| f(e)).count()
}

fn has_label(e: &Example, l: &str) -> bool {
    e.labels.iter().any(|x| x == l)
}

/// True when a post shows obfuscation: an obfuscated style or augmented variant, a ◯ mask, or
/// text the normaliser changes (half-width kana, full-width letters, spaced letters, ...).
pub fn is_obfuscated(e: &Example, n: &Normalizer) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<String>().to_lowercase();
    e.style == "obfuscated"
        || e.source.starts_with("augment:")
        || e.text.contains(['◯', '〇', '●', '○'])
        || squash(&n.normalize_str(&e.text)) != squash(&e.text)
}

/// Checks every rule of the dataset issue over the three splits (train, valid, test).
pub fn check(splits: &[Vec<Example>; 3]) -> Report {
    let mut r = Report::default();
    let all: Vec<&Example> = splits.iter().flatten().collect();
    let n = Normalizer::default();
    let fail = |r: &mut Report, msg: String| r.violations.push(msg);

    // Schema.
    let mut ids = HashSet::new();
    for (split, examples) in SPLITS.iter().zip(splits) {
        for e in examples {
            if !ids.insert(e.id.as_str()) {
                fail(&mut r, format!("{split}: duplicate id {}", e.id));
            }
            if e.text.trim().is_empty() {
                fail(&mut r, format!("{split}: {} has empty text", e.id));
            }
            if let Some(l) = e
                .labels
                .iter()
                .find(|l| !DEFAULT_LABELS.contains(&l.as_str()))
            {
                fail(&mut r, format!("{split}: {} has unknown label {l}", e.id));
            }
            let positive = POSITIVE_STYLES.contains(&e.style.as_str());
            let negative = NEGATIVE_STYLES.contains(&e.style.as_str());
            if !positive && !negative {
                fail(
                    &mut r,
                    format!("{split}: {} has unknown style {:?}", e.id, e.style),
                );
            } else if positive == e.is_benign() {
                fail(
                    &mut r,
                    format!(
                        "{split}: {} style {} does not match labels {:?}",
                        e.id, e.style, e.labels
                    ),
                );
            }
            let source_ok = e.source == "written"
                || e.source.starts_with("template:")
                || e.source.starts_with("augment:");
            if !source_ok {
                fail(
                    &mut r,
                    format!("{split}: {} has unknown source {:?}", e.id, e.source),
                );
            }
        }
    }

    // No normalised duplicates across splits.
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut cross_dups = 0;
    for (s, examples) in splits.iter().enumerate() {
        for e in examples {
            if let Some(&o) = owner.get(&n.normalize_str(&e.text)) {
                if o != s {
                    cross_dups += 1;
                }
            } else {
                owner.insert(n.normalize_str(&e.text), s);
            }
        }
    }
    if cross_dups > 0 {
        fail(
            &mut r,
            format!("{cross_dups} normalised texts appear in more than one split"),
        );
    }

    // Minimums.
    let figures = [
        (
            "recruitment",
            count(&all, |e| has_label(e, "recruitment")),
            3000,
        ),
        ("drugs", count(&all, |e| has_label(e, "drugs")), 2000),
        (
            "serious_crime",
            count(&all, |e| has_label(e, "serious_crime")),
            1200,
        ),
        ("multi_label", count(&all, |e| e.labels.len() > 1), 400),
        ("benign", count(&all, |e| e.is_benign()), 7000),
        ("hard_negatives", count(&all, is_hard_negative), 4000),
        ("written", count(&all, |e| e.source == "written"), 4000),
        ("test", splits[2].len(), 1500),
    ];
    for (name, value, min) in figures {
        r.figures.insert(format!("count.{name}"), value as f64);
        if value < min {
            fail(&mut r, format!("{name}: {value} examples, minimum {min}"));
        }
    }
    for style in NEGATIVE_STYLES {
        let hard = count(&all, |e| e.style == style && is_hard_negative(e));
        if hard < 100 {
            fail(
                &mut r,
                format!("hard negatives of style {style}: {hard}, want at least 100"),
            );
        }
    }
    for style in POSITIVE_STYLES.iter().chain(NEGATIVE_STYLES.iter()) {
        let in_test = splits[2].iter().filter(|e| e.style == *style).count();
        if in_test < 60 {
            fail(
                &mut r,
                format!("test has {in_test} examples of style {style}, minimum 60"),
            );
        }
    }

    // Hardness shares.
    let share = |r: &mut Report, name: &str, num: usize, den: usize, min: f64| {
        let v = num as f64 / den.max(1) as f64;
        r.figures.insert(format!("share.{name}"), v);
        if v < min {
            r.violations.push(format!(
                "{name}: {:.1} %, minimum {:.0} %",
                v * 100.0,
                min * 100.0
            ));
        }
    };
    let recruit: Vec<&Example> = all
        .iter()
        .copied()
        .filter(|e| has_label(e, "recruitment"))
        .collect();
    let no_obvious = count(&recruit, |e| {
        !lexicon::words(lexicon::OBVIOUS).any(|w| e.text.contains(w))
    });
    share(
        &mut r,
        "recruitment_without_obvious_words",
        no_obvious,
        recruit.len(),
        0.25,
    );
    let hard: Vec<&Example> = all
        .iter()
        .copied()
        .filter(|e| is_hard_negative(e))
        .collect();
    let with_words = count(&hard, |e| {
        lexicon::words(lexicon::OBVIOUS | lexicon::SLANG).any(|w| e.text.contains(w))
    });
    share(
        &mut r,
        "hard_negatives_with_signal_words",
        with_words,
        hard.len(),
        0.25,
    );
    let positives: Vec<&Example> = all.iter().copied().filter(|e| !e.is_benign()).collect();
    let obfuscated = count(&positives, |e| is_obfuscated(e, &n));
    share(
        &mut r,
        "positives_obfuscated",
        obfuscated,
        positives.len(),
        0.30,
    );
    let benign_signal = count(&all, |e| e.is_benign() && lexicon::has_signal_word(&e.text));
    r.figures.insert(
        "count.benign_with_signal_words".into(),
        benign_signal as f64,
    );

    // Near duplicates between splits: 5-gram Jaccard ≥ 0.8 with any post of an earlier split.
    let sets: Vec<Vec<HashSet<u64>>> = splits
        .iter()
        .map(|s| {
            s.iter()
                .map(|e| shingle::shingles(&n.normalize_str(&e.text), 5))
                .collect()
        })
        .collect();
    let mut near = 0;
    let mut checked = 0;
    for later in 1..3 {
        let earlier: Vec<HashSet<u64>> = sets[..later].iter().flatten().cloned().collect();
        let best = shingle::best_matches(&sets[later], &earlier, 5000);
        near += best.iter().filter(|(j, _)| *j >= 0.8).count();
        checked += best.len();
    }
    let rate = near as f64 / checked.max(1) as f64;
    r.figures
        .insert("share.near_duplicates_between_splits".into(), rate);
    if rate >= 0.01 {
        fail(
            &mut r,
            format!(
                "near-duplicate rate between splits {:.2} %, maximum 1 %",
                rate * 100.0
            ),
        );
    }
    r
}

fn label_set(e: &Example) -> String {
    if e.is_benign() {
        "benign".into()
    } else {
        e.labels.join("+")
    }
}

fn source_kind(e: &Example) -> String {
    match e.source.split(':').next() {
        Some("augment") => format!("augment:{}", e.source.split(':').nth(1).unwrap_or("?")),
        Some(kind) => kind.to_string(),
        None => "?".into(),
    }
}

/// Markdown tables of counts per label set, style and source, per split, plus the hardness
/// figures; `DATA_CARD.md` carries this output verbatim.
pub fn counts_table(splits: &[Vec<Example>; 3]) -> String {
    let mut out = String::new();
    let table = |out: &mut String, title: &str, key: &dyn Fn(&Example) -> String| {
        let mut rows: BTreeMap<String, [usize; 3]> = BTreeMap::new();
        for (s, examples) in splits.iter().enumerate() {
            for e in examples {
                rows.entry(key(e)).or_default()[s] += 1;
            }
        }
        let _ = writeln!(
            out,
            "| {title} | train | valid | test | total |\n| --- | ---: | ---: | ---: | ---: |"
        );
        let mut totals = [0usize; 3];
        for (k, v) in &rows {
            let _ = writeln!(
                out,
                "| {k} | {} | {} | {} | {} |",
                v[0],
                v[1],
                v[2],
                v.iter().sum::<usize>()
            );
            for i in 0..3 {
                totals[i] += v[i];
            }
        }
        let _ = writeln!(
            out,
            "| **all** | {} | {} | {} | {} |\n",
            totals[0],
            totals[1],
            totals[2],
            totals.iter().sum::<usize>()
        );
    };
    table(&mut out, "label set", &label_set);
    table(&mut out, "style", &|e| e.style.clone());
    table(&mut out, "source", &source_kind);
    let report = check(splits);
    let _ = writeln!(out, "| figure | value |\n| --- | ---: |");
    for (k, v) in &report.figures {
        if k.starts_with("share.") {
            let _ = writeln!(out, "| {k} | {:.1} % |", v * 100.0);
        } else {
            let _ = writeln!(out, "| {k} | {v} |");
        }
    }
    if report.violations.is_empty() {
        let _ = writeln!(out, "\nAll dataset rules hold.");
    } else {
        let _ = writeln!(out, "\nRule violations:");
        for v in &report.violations {
            let _ = writeln!(out, "- {v}");
        }
    }
    out
}
