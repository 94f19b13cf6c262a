//! Normalisation, applied identically in training and inference.
//!
//! NFKC, then folds against obfuscation: invisible characters are removed, separators between
//! single characters are dropped (`闇 バ イ ト`, `ホ.ワ.イ.ト`), runs of the same punctuation and of
//! white space collapse to one, and Latin letters are lower-cased. Emoji are kept. Every output
//! character remembers the byte span of the input it came from, so evidence can point into the
//! original post.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The version of the folding rules; bump it whenever the output of any rule changes.
pub const NORMALIZER_VERSION: u32 = 1;

/// Normaliser settings, stored in `patrol.json` so training and inference agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NormalizerConfig {
    /// Version of the rules the model was trained with.
    pub version: u32,
    /// Apply Unicode NFKC (full-width to ASCII, half-width kana to full-width, ...).
    pub nfkc: bool,
    /// Remove zero-width, bidi-control and variation-selector characters.
    pub strip_invisible: bool,
    /// Drop separators between single characters: `闇 バ イ ト` becomes `闇バイト`.
    pub fold_separators: bool,
    /// Collapse runs of the same punctuation mark and of white space.
    pub collapse_punctuation: bool,
    /// Lower-case letters.
    pub lowercase: bool,
}

impl Default for NormalizerConfig {
    fn default() -> Self {
        Self {
            version: NORMALIZER_VERSION,
            nfkc: true,
            strip_invisible: true,
            fold_separators: true,
            collapse_punctuation: true,
            lowercase: true,
        }
    }
}

/// A normaliser with the default rules, shared: for analyses that do not depend on a model's
/// settings (the job-ad check, near-duplicate groups).
pub fn default_normalizer() -> &'static Normalizer {
    static N: std::sync::OnceLock<Normalizer> = std::sync::OnceLock::new();
    N.get_or_init(|| Normalizer::new(NormalizerConfig::default()))
}

/// Normalised text with a map back to the original bytes.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// One entry per output character: (output byte offset, original byte span).
    origins: Vec<(u32, Range<u32>)>,
}

impl Normalized {
    /// The byte span in the original text that produced `range` of the normalised text.
    pub fn original_span(&self, range: Range<usize>) -> Option<Range<usize>> {
        if range.start >= range.end {
            return None;
        }
        let first = self
            .origins
            .partition_point(|(out, _)| (*out as usize) <= range.start)
            .checked_sub(1)?;
        let last = self
            .origins
            .partition_point(|(out, _)| (*out as usize) < range.end)
            .checked_sub(1)?;
        let start = self.origins[first].1.start as usize;
        let end = self.origins[last].1.end as usize;
        (start < end).then_some(start..end)
    }
}

/// Applies [`NormalizerConfig`]. Cheap to clone; holds no state between calls.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    config: NormalizerConfig,
}

impl Normalizer {
    /// A normaliser with these settings.
    pub fn new(config: NormalizerConfig) -> Self {
        Self { config }
    }

    /// Normalise `text`, keeping only the result.
    pub fn normalize_str(&self, text: &str) -> String {
        self.normalize(text).text
    }

    /// Normalise `text`, keeping the map back to its bytes.
    pub fn normalize(&self, text: &str) -> Normalized {
        let mut chars = self.map_chars(text);
        if self.config.fold_separators {
            chars = fold_separators(chars);
        }
        if self.config.collapse_punctuation {
            chars = collapse_runs(chars);
        }
        let trim_start = chars.iter().take_while(|(c, _)| *c == ' ').count();
        let trim_end = chars.iter().rev().take_while(|(c, _)| *c == ' ').count();
        let kept = &chars[trim_start..chars.len().saturating_sub(trim_end).max(trim_start)];
        let mut out = Normalized {
            text: String::with_capacity(text.len()),
            origins: Vec::with_capacity(kept.len()),
        };
        for (c, span) in kept {
            out.origins.push((out.text.len() as u32, span.clone()));
            out.text.push(*c);
        }
        out
    }

    /// NFKC, invisible-character removal, white-space unification and lower-casing, per character.
    fn map_chars(&self, text: &str) -> Vec<(char, Range<u32>)> {
        let mut out: Vec<(char, Range<u32>)> = Vec::with_capacity(text.len());
        for (start, c) in text.char_indices() {
            let span = start as u32..(start + c.len_utf8()) as u32;
            if self.config.strip_invisible && is_invisible(c) {
                continue;
            }
            if c.is_ascii() || !self.config.nfkc {
                self.push_char(&mut out, c, span);
                continue;
            }
            for m in std::iter::once(c).nfkc() {
                if unicode_normalization::char::is_combining_mark(m) {
                    if let Some((prev, prev_span)) = out.last_mut() {
                        if let Some(composed) = unicode_normalization::char::compose(*prev, m) {
                            *prev = composed;
                            prev_span.end = span.end;
                            continue;
                        }
                    }
                }
                self.push_char(&mut out, m, span.clone());
            }
        }
        out
    }

    fn push_char(&self, out: &mut Vec<(char, Range<u32>)>, c: char, span: Range<u32>) {
        if c.is_whitespace() || c.is_control() {
            out.push((' ', span));
        } else if self.config.lowercase && c.is_uppercase() {
            out.extend(c.to_lowercase().map(|l| (l, span.clone())));
        } else {
            out.push((c, span));
        }
    }
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '.'
            | '・'
            | '･'
            | '_'
            | '-'
            | '*'
            | '/'
            | '|'
            | ','
            | '、'
            | '。'
            | '·'
            | '•'
            | '‐'
            | '+'
            | '~'
            | '〜'
    )
}

fn is_letter(c: char) -> bool {
    c.is_alphanumeric()
}

/// Drops separators inside runs of three or more single letters split by one or two separators
/// (`闇 バ イ ト`, `ホ.ワ.イ.ト案件`). The run starts at a word start; its inner letters stand alone,
/// and its last letter may run on into the rest of a word.
fn fold_separators(chars: Vec<(char, Range<u32>)>) -> Vec<(char, Range<u32>)> {
    let n = chars.len();
    let letter = |i: usize| i < n && is_letter(chars[i].0);
    let mut drop = vec![false; n];
    let mut i = 0;
    while i < n {
        if !letter(i) || (i > 0 && letter(i - 1)) || letter(i + 1) {
            i += 1;
            continue;
        }
        let mut letters = 1;
        let mut gaps: Vec<Range<usize>> = Vec::new();
        let mut j = i + 1;
        let mut end = i;
        loop {
            let gap_start = j;
            while j < n && j - gap_start < 2 && is_separator(chars[j].0) {
                j += 1;
            }
            if j == gap_start || !letter(j) {
                break;
            }
            gaps.push(gap_start..j);
            letters += 1;
            end = j;
            if letter(j + 1) {
                break; // the last letter runs on into a word
            }
            j += 1;
        }
        if letters >= 3 {
            for gap in gaps {
                drop[gap].iter_mut().for_each(|d| *d = true);
            }
        }
        i = end + 1;
    }
    chars
        .into_iter()
        .zip(drop)
        .filter_map(|(c, d)| (!d).then_some(c))
        .collect()
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            '。' | '、'
                | '・'
                | '…'
                | '‥'
                | '〜'
                | '～'
                | '♪'
                | '☆'
                | '★'
                | '♡'
                | '♥'
                | '※'
                | '〇'
                | '◯'
                | '●'
                | '○'
                | '「'
                | '」'
                | '『'
                | '』'
                | '【'
                | '】'
                | '〔'
                | '〕'
                | '〈'
                | '〉'
                | '《'
                | '》'
        )
}

/// Collapses runs of the same punctuation mark, and runs of spaces, to one character.
fn collapse_runs(chars: Vec<(char, Range<u32>)>) -> Vec<(char, Range<u32>)> {
    let mut out: Vec<(char, Range<u32>)> = Vec::with_capacity(chars.len());
    for (c, span) in chars {
        if let Some((prev, prev_span)) = out.last_mut() {
            // Masks such as ◯ stay repeated: `殺◯◯` and `殺◯` are different words.
            let mask = matches!(c, '〇' | '◯' | '●' | '○');
            if *prev == c && (c == ' ' || (is_punctuation(c) && !mask)) {
                prev_span.end = span.end;
                continue;
            }
        }
        out.push((c, span));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Normalizer::default().normalize_str(s)
    }

    #[test]
    fn folds_width_and_case() {
        assert_eq!(norm("ﾔﾐﾊﾞｲﾄ"), "ヤミバイト");
        assert_eq!(norm("ＤＭで５万"), "dmで5万");
        assert_eq!(norm("Telegram"), "telegram");
    }

    #[test]
    fn folds_separators_between_single_characters() {
        assert_eq!(norm("闇 バ イ ト"), "闇バイト");
        assert_eq!(norm("ホ.ワ.イ.ト案件"), "ホワイト案件");
        assert_eq!(norm("受・け・子"), "受け子");
        // Two single letters are not enough, and words keep their spaces.
        assert_eq!(norm("a b"), "a b");
        assert_eq!(norm("今日は 晴れ です"), "今日は 晴れ です");
    }

    #[test]
    fn strips_invisible_and_collapses_runs() {
        assert_eq!(norm("闇\u{200B}バイト"), "闇バイト");
        assert_eq!(norm("❄\u{FE0F}あり"), "❄あり");
        assert_eq!(norm("すごい！！！！  本当？？"), "すごい! 本当?");
        assert_eq!(norm("殺◯◯す"), "殺◯◯す");
        assert_eq!(norm("  空白\n\n改行  "), "空白 改行");
    }

    #[test]
    fn keeps_emoji() {
        assert_eq!(norm("🥦あります🍁"), "🥦あります🍁");
    }

    #[test]
    fn maps_back_to_original_bytes() {
        let text = "今日 ﾔﾐﾊﾞｲﾄ 募集";
        let n = Normalizer::default().normalize(text);
        let start = n.text.find("ヤミバイト").unwrap();
        let span = n.original_span(start..start + "ヤミバイト".len()).unwrap();
        assert_eq!(&text[span], "ﾔﾐﾊﾞｲﾄ");
        let start = n.text.find("募集").unwrap();
        let span = n.original_span(start..start + "募集".len()).unwrap();
        assert_eq!(&text[span], "募集");
    }

    #[test]
    fn is_idempotent() {
        for s in ["闇 バ イ ト！！", "ＡＢＣ ﾃｽﾄ", "ホ.ワ.イ.ト 案件"] {
            let once = norm(s);
            assert_eq!(norm(&once), once);
        }
    }
}
