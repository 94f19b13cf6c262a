//! Where written posts come from, and two guards on it: no batch may be informed by a page of
//! the independent evaluation set (the exclusion list), and no written post may copy a run of
//! characters from the excerpts its writer read.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::text::Normalizer;

/// Characters in a run that counts as copying.
pub const COPY_RUN: usize = 12;

/// The pages each batch's writer used, from `REFERENCES.md`: a `## <batch>` heading, then one
/// `- <address>: <facts taken>` line per page.
pub fn read_references(path: &Path) -> Result<BTreeMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut batch: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        if let Some(name) = line.strip_prefix("## ") {
            batch = Some(name.trim().to_string());
            out.entry(name.trim().to_string()).or_default();
        } else if let Some(item) = line.strip_prefix("- ") {
            let Some(batch) = &batch else {
                return Err(Error::parse(
                    path,
                    format!("line {}: a reference before any `## batch` heading", i + 1),
                ));
            };
            let address = item
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches([':', ',', '：']);
            if address.contains('.') {
                out.entry(batch.clone())
                    .or_default()
                    .push(address.to_string());
            }
        }
    }
    Ok(out)
}

/// A page's key: host without `www.` and lower-cased, then the percent-decoded path without a
/// trailing slash; scheme, port, query and fragment are ignored.
pub fn page_key(address: &str) -> String {
    let rest = address
        .split_once("://")
        .map_or(address, |(_, rest)| rest)
        .trim();
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let path = percent_decode(path);
    format!("{host}/{}", path.trim_end_matches('/'))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The excluded pages' keys, from a list with one address a line (`#` starts a comment).
pub fn read_exclusions(path: &Path) -> Result<HashSet<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(page_key)
        .collect())
}

/// Every (batch, address) whose page is excluded.
pub fn excluded_references(
    references: &BTreeMap<String, Vec<String>>,
    excluded: &HashSet<String>,
) -> Vec<(String, String)> {
    references
        .iter()
        .flat_map(|(batch, pages)| pages.iter().map(move |p| (batch, p)))
        .filter(|(_, p)| excluded.contains(&page_key(p)))
        .map(|(b, p)| (b.clone(), p.clone()))
        .collect()
}

/// Text as the copying check compares it: the engine's normaliser, then no white space.
fn comparable(normalizer: &Normalizer, text: &str) -> Vec<char> {
    normalizer
        .normalize_str(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Runs of [`COPY_RUN`] characters of a set of excerpts.
pub struct Excerpts {
    runs: HashSet<String>,
    normalizer: Normalizer,
}

impl Excerpts {
    /// The runs of `texts`.
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let normalizer = Normalizer::default();
        let mut runs = HashSet::new();
        for t in texts {
            let chars = comparable(&normalizer, t);
            for w in chars.windows(COPY_RUN) {
                runs.insert(w.iter().collect());
            }
        }
        Self { runs, normalizer }
    }

    /// Reads every `*.txt` file under `dir`, recursively.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let mut texts = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
                let path = entry.map_err(|e| Error::io(&d, e))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "txt") {
                    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
                    texts.push(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
        Ok(Self::new(texts.iter().map(String::as_str)))
    }

    /// Distinct runs held.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// True when no excerpt is long enough to hold a run.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The first run of `text` that an excerpt holds too.
    pub fn copied_run(&self, text: &str) -> Option<String> {
        comparable(&self.normalizer, text)
            .windows(COPY_RUN)
            .map(|w| w.iter().collect::<String>())
            .find(|w| self.runs.contains(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_run_of_twelve_characters_is_copying_and_eleven_is_not() {
        let excerpts =
            Excerpts::new(["警察によると、男は高額な報酬をうたう投稿を見て応募したという。"]);
        // Twelve characters shared (高額な報酬をうたう投稿を見), even with other spacing and width.
        assert!(excerpts
            .copied_run("ねえこれ 高額な報酬をうたう投稿を見 たんだけど")
            .is_some());
        assert!(excerpts
            .copied_run("ＮＥＷ：高額な報酬をうたう投稿を見て")
            .is_some());
        // Eleven shared characters (高額な報酬をうたう投稿) then a different one.
        assert_eq!(excerpts.copied_run("高額な報酬をうたう投稿だった"), None);
        assert_eq!(excerpts.copied_run("短い"), None);
    }

    #[test]
    fn pages_match_on_host_and_path_only() {
        assert_eq!(
            page_key("https://www.Example.jp/a/b/?x=1#top"),
            page_key("http://example.jp/a/b")
        );
        assert_eq!(
            page_key("http://blog.example.jp/%E6%9C%80%E8%BF%91"),
            page_key("blog.example.jp/最近")
        );
        assert_ne!(page_key("example.jp/a"), page_key("example.jp/b"));
        assert_ne!(page_key("example.jp/a"), page_key("other.jp/a"));
    }

    #[test]
    fn a_batch_that_names_an_excluded_page_is_found() {
        let dir = std::env::temp_dir().join(format!("patrol-refs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let refs = dir.join("REFERENCES.md");
        std::fs::write(
            &refs,
            "# References\n\n## good\n- https://example.jp/ok: a slang entry\n\n## bad\n\
             - https://news.example.jp/held/out/: a format\n- example.jp/fine: tone\n",
        )
        .unwrap();
        let list = dir.join("excluded.txt");
        std::fs::write(&list, "# held out\nhttp://www.news.example.jp/held/out\n").unwrap();
        let found = excluded_references(
            &read_references(&refs).unwrap(),
            &read_exclusions(&list).unwrap(),
        );
        assert_eq!(
            found,
            vec![(
                "bad".to_string(),
                "https://news.example.jp/held/out/".to_string()
            )]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
