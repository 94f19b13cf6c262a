//! `patrol dataset build`: written posts → dedup → near-duplicate groups → augmented variants →
//! group-stratified splits. Deterministic for a given seed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::augment::Transform;
use super::provenance::{excluded_references, read_exclusions, read_references};
use super::{read_examples, shingle, write_examples, Example, NEGATIVE_STYLES, POSITIVE_STYLES};
use crate::error::{Error, Result};
use crate::model::DEFAULT_LABELS;
use crate::text::Normalizer;

/// Options for building the splits.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Folders of written posts (`*.jsonl` with `text`, `labels`, `style`), read in order.
    pub raw_dirs: Vec<PathBuf>,
    /// Output folder for `train.jsonl`, `valid.jsonl`, `test.jsonl`.
    pub out_dir: PathBuf,
    /// Seed for augmentation and splitting.
    pub seed: u64,
    /// Share of groups in valid and in test (each).
    pub holdout: f64,
    /// Posts whose 5-gram Jaccard reaches this are grouped (kept in one split).
    pub group_jaccard: f64,
    /// `REFERENCES.md`: the pages behind each batch.
    pub references: PathBuf,
    /// The pages of the independent evaluation set; a batch whose references name one is
    /// refused.
    pub excluded: PathBuf,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            raw_dirs: vec![
                "datasets/raw/written".into(),
                "datasets/raw/grounded".into(),
            ],
            out_dir: "datasets".into(),
            seed: 20261129,
            holdout: 0.15,
            group_jaccard: 0.5,
            references: "datasets/raw/REFERENCES.md".into(),
            excluded: "../shared/eval-sources.txt".into(),
        }
    }
}

#[derive(serde::Deserialize)]
struct RawPost {
    text: String,
    labels: Vec<String>,
    style: String,
    #[serde(default)]
    kind: String,
}

/// Refuses to go on when any batch's references name an excluded page.
pub fn check_exclusions(opts: &BuildOptions) -> Result<usize> {
    if !opts.excluded.is_file() {
        return Err(Error::parse(
            &opts.excluded,
            "the exclusion list is missing: pass the list of evaluation pages with --excluded",
        ));
    }
    let references = read_references(&opts.references)?;
    let hits = excluded_references(&references, &read_exclusions(&opts.excluded)?);
    if let Some((batch, page)) = hits.first() {
        return Err(Error::parse(
            &opts.references,
            format!(
                "batch {batch} names {page}, a page of the independent evaluation set ({} such \
                 references in all); the batch is refused",
                hits.len()
            ),
        ));
    }
    Ok(references.values().map(Vec::len).sum())
}

/// Reads a folder of written posts as they are (no augmentation), dropping exact duplicates
/// after normalisation, and writes them to `out`: a held-out split.
pub fn build_heldout(raw_dir: &Path, out: &Path) -> Result<Vec<Example>> {
    let normalizer = Normalizer::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut examples: Vec<Example> = read_raw(raw_dir)?
        .into_iter()
        .filter(|ex| seen.insert(normalizer.normalize_str(&ex.text)))
        .collect();
    examples.sort_by(|a, b| a.id.cmp(&b.id));
    write_examples(out, &examples)?;
    Ok(examples)
}

fn read_raw(dir: &Path) -> Result<Vec<Example>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("raw")
            .to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = |reason: String| Error::parse(&path, format!("line {}: {reason}", i + 1));
            let raw: RawPost = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            if let Some(l) = raw
                .labels
                .iter()
                .find(|l| !DEFAULT_LABELS.contains(&l.as_str()))
            {
                return Err(at(format!("unknown label {l:?}")));
            }
            let known = POSITIVE_STYLES.contains(&raw.style.as_str())
                || NEGATIVE_STYLES.contains(&raw.style.as_str());
            if !known {
                return Err(at(format!("unknown style {:?}", raw.style)));
            }
            let mut labels = raw.labels;
            labels.sort_by_key(|l| DEFAULT_LABELS.iter().position(|d| d == l));
            labels.dedup();
            out.push(Example {
                id: format!("{stem}-{:03}", i + 1),
                text: raw.text,
                labels,
                style: raw.style,
                source: "written".into(),
                kind: raw.kind,
            });
        }
    }
    Ok(out)
}

/// Union-find over indices.
fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Groups near-duplicate posts (5-gram Jaccard ≥ `threshold`) so they share a split.
fn near_duplicate_groups(texts: &[String], threshold: f64) -> Vec<usize> {
    let sets: Vec<HashSet<u64>> = texts.iter().map(|t| shingle::shingles(t, 5)).collect();
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, s) in sets.iter().enumerate() {
        for h in s {
            index.entry(*h).or_default().push(i);
        }
    }
    let mut parent: Vec<usize> = (0..texts.len()).collect();
    for (i, s) in sets.iter().enumerate() {
        let mut candidates: HashSet<usize> = HashSet::new();
        for h in s {
            if let Some(list) = index.get(h).filter(|l| l.len() <= 200) {
                candidates.extend(list.iter().copied().filter(|&j| j > i));
            }
        }
        for j in candidates {
            if shingle::jaccard(s, &sets[j]) >= threshold {
                let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    (0..texts.len()).map(|i| find(&mut parent, i)).collect()
}

/// How many augmented variants a base post gets: positives carry the obfuscation share and the
/// rarer labels get more; benign posts get one (two when they share signal words with
/// positives) so that obfuscation and signal words are not positive cues on their own.
fn variant_count(ex: &Example) -> usize {
    if ex.labels.iter().any(|l| l == "drugs") {
        3
    } else if ex.labels.iter().any(|l| l == "serious_crime")
        || (ex.is_benign() && crate::lexicon::has_signal_word(&ex.text))
    {
        2
    } else {
        1
    }
}

fn augment<R: Rng>(base: &Example, k: usize, rng: &mut R) -> Example {
    let first = *Transform::SURVIVING.choose(rng).expect("non-empty");
    let mut text = first.apply(&base.text, rng);
    let mut names = vec![first.name()];
    // Half of the variants also get a surface transform that the normaliser undoes.
    if rng.random_bool(0.5) {
        let surface = *[
            Transform::HalfwidthKana,
            Transform::Spaced,
            Transform::Fullwidth,
            Transform::ZeroWidth,
        ]
        .choose(rng)
        .expect("non-empty");
        text = surface.apply(&text, rng);
        names.push(surface.name());
    }
    Example {
        id: format!("{}-a{k}", base.id),
        text,
        labels: base.labels.clone(),
        style: if base.is_benign() {
            base.style.clone()
        } else {
            "obfuscated".into()
        },
        source: format!("augment:{}:{}", names.join("+"), base.id),
        kind: base.kind.clone(),
    }
}

/// Builds and writes the three splits; returns (train, valid, test).
///
/// The folders are split one after the other, so adding a folder never moves an earlier
/// folder's posts between splits (a model trained on the earlier train split never sees the new
/// test split). A post near-duplicate of an earlier folder's post joins that post's split.
pub fn build(opts: &BuildOptions) -> Result<(Vec<Example>, Vec<Example>, Vec<Example>)> {
    check_exclusions(opts)?;
    let normalizer = Normalizer::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let mut seen: HashSet<String> = HashSet::new();
    let mut splits: [Vec<Example>; 3] = Default::default();
    // Earlier folders' written posts: normalised text and split (0 train, 1 valid, 2 test).
    let mut earlier: Vec<(String, usize)> = Vec::new();
    for (d, dir) in opts.raw_dirs.iter().enumerate() {
        let bases: Vec<Example> = read_raw(dir)?
            .into_iter()
            .filter(|ex| seen.insert(normalizer.normalize_str(&ex.text)))
            .collect();
        let normalized: Vec<String> = bases
            .iter()
            .map(|e| normalizer.normalize_str(&e.text))
            .collect();
        // Groups over the earlier posts and these, so a near-duplicate follows its earlier twin.
        let all: Vec<String> = earlier
            .iter()
            .map(|(t, _)| t.clone())
            .chain(normalized.iter().cloned())
            .collect();
        let roots = near_duplicate_groups(&all, opts.group_jaccard);
        let mut forced: HashMap<usize, usize> = HashMap::new();
        for (i, (_, split)) in earlier.iter().enumerate() {
            forced.entry(roots[i]).or_insert(*split);
        }
        let group_of = &roots[earlier.len()..];
        // Each group: its bases and their variants, keyed by the group's first base.
        let mut groups: Vec<Vec<Example>> = Vec::new();
        let mut group_split: Vec<Option<usize>> = Vec::new();
        let mut slot: HashMap<usize, usize> = HashMap::new();
        for (i, base) in bases.iter().enumerate() {
            let g = *slot.entry(group_of[i]).or_insert_with(|| {
                groups.push(Vec::new());
                group_split.push(forced.get(&group_of[i]).copied());
                groups.len() - 1
            });
            groups[g].push(base.clone());
            for k in 1..=variant_count(base) {
                let variant = augment(base, k, &mut rng);
                if seen.insert(normalizer.normalize_str(&variant.text)) {
                    groups[g].push(variant);
                }
            }
        }
        // The first folder gives every style at least MIN_PER_STYLE test examples.
        let min_per_style = if d == 0 { MIN_PER_STYLE } else { 0 };
        let assigned = assign_splits(&groups, &group_split, opts.holdout, min_per_style, &mut rng);
        for (g, members) in groups.into_iter().enumerate() {
            for m in &members {
                if m.source == "written" {
                    earlier.push((normalizer.normalize_str(&m.text), assigned[g]));
                }
            }
            splits[assigned[g]].extend(members);
        }
    }
    let [mut train, mut valid, mut test] = splits;
    for split in [&mut train, &mut valid, &mut test] {
        split.sort_by(|a, b| a.id.cmp(&b.id));
    }
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| Error::io(&opts.out_dir, e))?;
    write_examples(&opts.out_dir.join("train.jsonl"), &train)?;
    write_examples(&opts.out_dir.join("valid.jsonl"), &valid)?;
    write_examples(&opts.out_dir.join("test.jsonl"), &test)?;
    Ok((train, valid, test))
}

/// Test examples per style of the first folder, at least.
const MIN_PER_STYLE: usize = 75;

/// The split of each group (0 train, 1 valid, 2 test): a forced one where given; otherwise,
/// stratified by the style of the group's first post, shuffled groups fill test, then valid,
/// each to `holdout` of that style's posts (and at least `min_per_style`), the rest train.
fn assign_splits<R: Rng>(
    groups: &[Vec<Example>],
    forced: &[Option<usize>],
    holdout: f64,
    min_per_style: usize,
    rng: &mut R,
) -> Vec<usize> {
    let mut out: Vec<usize> = forced.iter().map(|f| f.unwrap_or(0)).collect();
    let mut by_style: HashMap<String, Vec<usize>> = HashMap::new();
    for (g, members) in groups.iter().enumerate() {
        if forced[g].is_none() {
            by_style
                .entry(members[0].style.clone())
                .or_default()
                .push(g);
        }
    }
    let mut styles: Vec<&String> = by_style.keys().collect();
    styles.sort();
    for style in styles {
        let mut ids = by_style[style].clone();
        ids.shuffle(rng);
        // Count only members of this style (variants of positives become `obfuscated`).
        let of_style = |g: usize| groups[g].iter().filter(|m| &m.style == style).count();
        let total: usize = ids.iter().map(|&g| of_style(g)).sum();
        let target = ((total as f64 * holdout).ceil() as usize).max(min_per_style);
        let (mut n_test, mut n_valid) = (0, 0);
        for g in ids {
            out[g] = if n_test < target {
                n_test += of_style(g);
                2
            } else if n_valid < target {
                n_valid += of_style(g);
                1
            } else {
                0
            };
        }
    }
    out
}

/// Reads the three splits from `dir`.
pub fn read_splits(dir: &Path) -> Result<[Vec<Example>; 3]> {
    Ok([
        read_examples(&dir.join("train.jsonl"))?,
        read_examples(&dir.join("valid.jsonl"))?,
        read_examples(&dir.join("test.jsonl"))?,
    ])
}
