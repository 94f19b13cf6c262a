//! The committed dataset obeys every rule of its issue, and DATA_CARD.md shows its real counts.

use std::path::Path;

#[test]
fn the_dataset_obeys_its_rules() {
    let splits = patrol::dataset::read_splits(Path::new("datasets")).unwrap();
    let report = patrol::dataset::check(&splits);
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}

#[test]
fn the_data_card_carries_the_counts_the_stats_command_prints() {
    let splits = patrol::dataset::read_splits(Path::new("datasets")).unwrap();
    let table = patrol::dataset::counts_table(&splits);
    let card = std::fs::read_to_string("datasets/DATA_CARD.md").unwrap();
    assert!(
        card.contains(&table),
        "DATA_CARD.md is out of date: run `patrol dataset stats` and paste its output"
    );
}

#[test]
fn the_sample_is_unlabelled_and_small() {
    let text = std::fs::read_to_string("datasets/sample.jsonl").unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!((150..=250).contains(&rows.len()));
    for r in rows {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "text"]);
    }
}

#[test]
fn the_checker_catches_broken_rules() {
    let ex = |id: &str, text: &str, labels: &[&str], style: &str| patrol::dataset::Example {
        id: id.into(),
        text: text.into(),
        labels: labels.iter().map(|s| s.to_string()).collect(),
        style: style.into(),
        source: "written".into(),
        kind: String::new(),
    };
    let splits = [
        vec![
            ex("1", "同じ文", &[], "everyday"),
            ex("2", "x", &["bogus"], "plain"),
        ],
        vec![ex("3", "同じ文", &[], "everyday")],
        vec![ex("1", "y", &[], "nonsense-style")],
    ];
    let v = patrol::dataset::check(&splits).violations.join("\n");
    for needle in [
        "duplicate id",
        "unknown label",
        "unknown style",
        "more than one split",
        "minimum 3000",
        "minimum 60",
    ] {
        assert!(v.contains(needle), "missing {needle:?} in\n{v}");
    }
}
