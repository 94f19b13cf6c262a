//! Obfuscation transforms, as seen in the field: half-width kana, spaced or dotted letters,
//! hiragana spellings, ◯ masks, emoji substitutions, full-width alphanumerics, lowercase
//! shorthand, zero-width characters. Training applies them on the fly; the dataset builder uses
//! them for augmented variants; evaluation can measure robustness per transform.

use rand::seq::IndexedRandom;
use rand::Rng;

use crate::lexicon;

/// One obfuscation transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Transform {
    /// Katakana to half-width (`バイト` → `ﾊﾞｲﾄ`).
    HalfwidthKana,
    /// Separators between the letters of a word (`闇 バ イ ト`, `ホ.ワ.イ.ト`).
    Spaced,
    /// Katakana words spelled in hiragana (`テレグラム` → `てれぐらむ`).
    Hiragana,
    /// One letter of a signal word masked (`受◯子`, `殺◯`).
    Mask,
    /// Words replaced by emoji (`野菜` → `🥦`, `海外` → `✈️`).
    Emoji,
    /// ASCII letters and digits to full-width (`DM` → `ＤＭ`).
    Fullwidth,
    /// Lowercase shorthand (`テレグラム` → `tg`, `DM` → `dm`).
    Shorthand,
    /// Zero-width spaces between letters.
    ZeroWidth,
}

impl Transform {
    /// Every transform.
    pub const ALL: [Transform; 8] = [
        Transform::HalfwidthKana,
        Transform::Spaced,
        Transform::Hiragana,
        Transform::Mask,
        Transform::Emoji,
        Transform::Fullwidth,
        Transform::Shorthand,
        Transform::ZeroWidth,
    ];

    /// Transforms whose effect survives the engine's normaliser (the others are undone by NFKC
    /// and the separator fold, which is the point of normalising).
    pub const SURVIVING: [Transform; 4] = [
        Transform::Hiragana,
        Transform::Mask,
        Transform::Emoji,
        Transform::Shorthand,
    ];

    /// The kebab-case name used in `source` tags.
    pub fn name(self) -> &'static str {
        match self {
            Transform::HalfwidthKana => "halfwidth-kana",
            Transform::Spaced => "spaced",
            Transform::Hiragana => "hiragana",
            Transform::Mask => "mask",
            Transform::Emoji => "emoji",
            Transform::Fullwidth => "fullwidth",
            Transform::Shorthand => "shorthand",
            Transform::ZeroWidth => "zero-width",
        }
    }

    /// Applies the transform; returns the text unchanged when nothing applies.
    pub fn apply<R: Rng>(self, text: &str, rng: &mut R) -> String {
        match self {
            Transform::HalfwidthKana => text.chars().map(halfwidth).collect(),
            Transform::Spaced => on_word(text, rng, 3, |w, rng| {
                let sep = *[" ", ".", "・", "_", " "].choose(rng).expect("non-empty");
                w.chars().map(String::from).collect::<Vec<_>>().join(sep)
            }),
            Transform::Hiragana => text.chars().map(to_hiragana).collect(),
            Transform::Mask => on_word(text, rng, 2, |w, rng| {
                let chars: Vec<char> = w.chars().collect();
                let at = rng.random_range(0..chars.len());
                let mask = *['◯', '〇', '●', '○', '×', '*']
                    .choose(rng)
                    .expect("non-empty");
                chars
                    .iter()
                    .enumerate()
                    .map(|(i, c)| if i == at { mask } else { *c })
                    .collect()
            }),
            Transform::Emoji => replace_table(text, EMOJI, rng),
            Transform::Fullwidth => text.chars().map(fullwidth).collect(),
            Transform::Shorthand => replace_table(text, SHORTHAND, rng),
            Transform::ZeroWidth => on_word(text, rng, 2, |w, _| {
                w.chars()
                    .map(String::from)
                    .collect::<Vec<_>>()
                    .join("\u{200B}")
            }),
        }
    }
}

const EMOJI: &[(&str, &[&str])] = &[
    ("野菜", &["🥦", "🥬", "🌿"]),
    ("大麻", &["🌿", "🍁", "🥦"]),
    ("覚醒剤", &["❄️", "💎"]),
    ("冷たいの", &["❄️", "🧊"]),
    ("アイス", &["❄️", "🧊"]),
    ("海外", &["✈️", "🌏"]),
    ("飛行機", &["✈️"]),
    ("拳銃", &["🔫"]),
    ("銃", &["🔫"]),
    ("爆弾", &["💣"]),
    ("お金", &["💰", "💴"]),
    ("現金", &["💴", "💰"]),
    ("稼げる", &["💰"]),
    ("電話", &["📞", "☎️"]),
    ("注射", &["💉"]),
    ("荷物", &["📦"]),
    ("連絡", &["📩", "📱"]),
    ("殺す", &["🔪", "☠️"]),
    ("火", &["🔥"]),
];

const SHORTHAND: &[(&str, &[&str])] = &[
    ("テレグラム", &["tg", "tele", "テレ"]),
    ("Telegram", &["tg", "tele"]),
    ("シグナル", &["sig", "sgnl"]),
    ("DM", &["dm"]),
    ("LINE", &["line", "ln"]),
    ("受け子", &["ud", "uk"]),
    ("出し子", &["ud", "dk"]),
    ("受け取り", &["うけとり", "uk"]),
    ("ホワイト案件", &["wh案件", "ホワ案"]),
    ("闇バイト", &["ybt", "闇ba"]),
    ("即日即金", &["即即"]),
    ("アカウント", &["垢"]),
    ("日給", &["日g"]),
];

fn replace_table<R: Rng>(text: &str, table: &[(&str, &[&str])], rng: &mut R) -> String {
    let mut out = text.to_string();
    for (word, subs) in table {
        if out.contains(word) {
            out = out.replace(word, subs.choose(rng).expect("non-empty"));
        }
    }
    out
}

/// Applies `f` to one signal word of at least `min_chars` characters in `text`, or to a random
/// run of 3 to 5 letters when the text has none.
fn on_word<R: Rng>(
    text: &str,
    rng: &mut R,
    min_chars: usize,
    f: impl Fn(&str, &mut R) -> String,
) -> String {
    let present: Vec<&str> = lexicon::words(lexicon::AUGMENT)
        .filter(|w| w.chars().count() >= min_chars && text.contains(w))
        .collect();
    if let Some(word) = present.choose(rng) {
        let pos = text.find(word).expect("present");
        let replaced = f(word, rng);
        return format!("{}{}{}", &text[..pos], replaced, &text[pos + word.len()..]);
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let starts: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            chars[i..]
                .iter()
                .take(3)
                .filter(|(_, c)| c.is_alphanumeric())
                .count()
                == 3
        })
        .collect();
    let Some(&start) = starts.choose(rng) else {
        return text.to_string();
    };
    let len = rng.random_range(3..=5);
    let end = (start..chars.len())
        .take(len)
        .take_while(|&i| chars[i].1.is_alphanumeric())
        .last()
        .map_or(start, |i| i + 1);
    let from = chars[start].0;
    let to = chars.get(end).map_or(text.len(), |(b, _)| *b);
    format!(
        "{}{}{}",
        &text[..from],
        f(&text[from..to], rng),
        &text[to..]
    )
}

fn to_hiragana(c: char) -> char {
    match c {
        'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        _ => c,
    }
}

fn fullwidth(c: char) -> char {
    match c {
        '!'..='~' if c.is_ascii_alphanumeric() => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Full-width katakana to half-width; voiced marks become a separate `ﾞ`/`ﾟ`.
fn halfwidth(c: char) -> String {
    const BASE: &str = "ァアィイゥウェエォオカガキギクグケゲコゴサザシジスズセゼソゾタダチヂッツヅテデトドナニヌネノハバパヒビピフブプヘベペホボポマミムメモャヤュユョヨラリルレロヮワヰヱヲンヴ";
    const HALF: [&str; 84] = [
        "ｧ", "ｱ", "ｨ", "ｲ", "ｩ", "ｳ", "ｪ", "ｴ", "ｫ", "ｵ", "ｶ", "ｶﾞ", "ｷ", "ｷﾞ", "ｸ", "ｸﾞ", "ｹ", "ｹﾞ",
        "ｺ", "ｺﾞ", "ｻ", "ｻﾞ", "ｼ", "ｼﾞ", "ｽ", "ｽﾞ", "ｾ", "ｾﾞ", "ｿ", "ｿﾞ", "ﾀ", "ﾀﾞ", "ﾁ", "ﾁﾞ", "ｯ", "ﾂ",
        "ﾂﾞ", "ﾃ", "ﾃﾞ", "ﾄ", "ﾄﾞ", "ﾅ", "ﾆ", "ﾇ", "ﾈ", "ﾉ", "ﾊ", "ﾊﾞ", "ﾊﾟ", "ﾋ", "ﾋﾞ", "ﾋﾟ", "ﾌ", "ﾌﾞ",
        "ﾌﾟ", "ﾍ", "ﾍﾞ", "ﾍﾟ", "ﾎ", "ﾎﾞ", "ﾎﾟ", "ﾏ", "ﾐ", "ﾑ", "ﾒ", "ﾓ", "ｬ", "ﾔ", "ｭ", "ﾕ", "ｮ", "ﾖ",
        "ﾗ", "ﾘ", "ﾙ", "ﾚ", "ﾛ", "ﾜ", "ﾜ", "ｲ", "ｴ", "ｦ", "ﾝ", "ｳﾞ",
    ];
    match c {
        'ー' => "ｰ".into(),
        '・' => "･".into(),
        '「' => "｢".into(),
        '」' => "｣".into(),
        _ => BASE
            .chars()
            .position(|b| b == c)
            .map_or_else(|| c.to_string(), |i| HALF[i].to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::Normalizer;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn halfwidth_and_fullwidth_are_undone_by_the_normaliser() {
        let text = "闇バイト募集 DMください 日給5万";
        let n = Normalizer::default();
        for t in [
            Transform::HalfwidthKana,
            Transform::Fullwidth,
            Transform::Spaced,
            Transform::ZeroWidth,
        ] {
            let out = t.apply(text, &mut rng());
            assert_ne!(out, text, "{t:?} changed nothing");
            assert_eq!(n.normalize_str(&out), n.normalize_str(text), "{t:?}: {out}");
        }
        assert_eq!(Transform::HalfwidthKana.apply("バイト", &mut rng()), "ﾊﾞｲﾄ");
    }

    #[test]
    fn surviving_transforms_change_normalised_text() {
        let text = "テレグラムで受け子募集、野菜もあるよ DM";
        let n = Normalizer::default();
        for t in Transform::SURVIVING {
            let out = t.apply(text, &mut rng());
            assert_ne!(n.normalize_str(&out), n.normalize_str(text), "{t:?}: {out}");
        }
        assert_eq!(
            Transform::Hiragana.apply("テレグラム", &mut rng()),
            "てれぐらむ"
        );
    }

    #[test]
    fn mask_hits_a_signal_word() {
        let out = Transform::Mask.apply("受け子の仕事", &mut rng());
        assert!(!out.contains("受け子"), "{out}");
        assert!(out.ends_with("の仕事"));
    }
}
