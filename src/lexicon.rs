//! The domain's signal words, once: each with the label it points to and the roles it plays.
//!
//! - `BASELINE`: the keyword baseline flags a post for the word's label when it contains the word
//!   (after normalisation). The words come from the National Police Agency's White Paper on
//!   Police 2025 (digest), which lists recruitment, drug and threat wording.
//! - `OBVIOUS`: the words whose absence makes a recruitment post "without the obvious words" in
//!   the dataset's hardness rule.
//! - `SLANG`: drug slang that also has innocent meanings (a benign post with one is a hard
//!   negative).
//! - `AUGMENT`: the words the dataset's word-level obfuscation transforms prefer to hit.
//!
//! The `OBVIOUS`, `SLANG` and `AUGMENT` words are the signal words of the dataset's
//! hard-negative rule.

/// The keyword baseline's word.
pub const BASELINE: u8 = 1;
/// An obvious recruitment word.
pub const OBVIOUS: u8 = 2;
/// Drug slang with innocent meanings.
pub const SLANG: u8 = 4;
/// A target of the word-level obfuscation transforms.
pub const AUGMENT: u8 = 8;

/// One signal word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The word, normalised (NFKC, lower case).
    pub word: &'static str,
    /// The label it points to.
    pub label: &'static str,
    /// Its roles (`BASELINE`, `OBVIOUS`, `SLANG`, `AUGMENT`).
    pub roles: u8,
}

const fn term(word: &'static str, label: &'static str, roles: u8) -> Term {
    Term { word, label, roles }
}

/// Every signal word. The `AUGMENT` words come first, in the order the transforms rely on.
pub const TERMS: &[Term] = &[
    term("闇バイト", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("ホワイト案件", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("即日即金", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("受け子", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("出し子", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("かけ子", "recruitment", AUGMENT | BASELINE),
    term("叩き", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("タタキ", "recruitment", AUGMENT | BASELINE),
    term("テレグラム", "recruitment", AUGMENT | OBVIOUS | BASELINE),
    term("シグナル", "recruitment", AUGMENT | BASELINE),
    term("高収入", "recruitment", AUGMENT),
    term("高額", "recruitment", AUGMENT | BASELINE),
    term("日給", "recruitment", AUGMENT),
    term("報酬", "serious_crime", AUGMENT | BASELINE),
    term("案件", "recruitment", AUGMENT),
    term("運び", "recruitment", AUGMENT | BASELINE),
    term("受け取り", "recruitment", AUGMENT),
    term("身分証", "recruitment", AUGMENT | BASELINE),
    term("口座", "recruitment", AUGMENT | BASELINE),
    term("名義", "recruitment", AUGMENT | BASELINE),
    term("手押し", "drugs", AUGMENT | SLANG | BASELINE),
    term("野菜", "drugs", AUGMENT | SLANG | BASELINE),
    term("アイス", "drugs", AUGMENT | SLANG | BASELINE),
    term("冷たいの", "drugs", AUGMENT | SLANG | BASELINE),
    term("クサ", "drugs", AUGMENT | SLANG | BASELINE),
    term("リキッド", "drugs", AUGMENT | SLANG | BASELINE),
    term("大麻", "drugs", AUGMENT),
    term("覚醒剤", "drugs", AUGMENT),
    term("在庫", "drugs", AUGMENT | SLANG | BASELINE),
    term("郵送", "drugs", AUGMENT | SLANG | BASELINE),
    term("殺し", "serious_crime", AUGMENT | BASELINE),
    term("殺す", "serious_crime", AUGMENT),
    term("始末", "serious_crime", AUGMENT | BASELINE),
    term("拳銃", "serious_crime", AUGMENT | BASELINE),
    term("チャカ", "serious_crime", AUGMENT | BASELINE),
    term("爆弾", "serious_crime", AUGMENT),
    term("爆破", "serious_crime", AUGMENT),
    term("放火", "serious_crime", AUGMENT),
    term("海外", "recruitment", AUGMENT),
    term("募集", "recruitment", AUGMENT),
    term("🥦", "drugs", SLANG | BASELINE),
    term("❄", "drugs", SLANG | BASELINE),
    term("草", "drugs", SLANG),
    term("ブツ", "drugs", SLANG),
    term("ハッパ", "drugs", SLANG),
    term("チョコ", "drugs", SLANG),
    term("シャブ", "drugs", SLANG),
    term("ガンジャ", "drugs", SLANG),
    term("🌿", "drugs", SLANG),
    term("🍁", "drugs", SLANG),
    term("ハーブ", "drugs", SLANG),
    term("手渡し", "drugs", SLANG),
    term("日給5万", "recruitment", BASELINE),
    term("dm", "recruitment", BASELINE),
    term("全国", "recruitment", BASELINE),
    term("未経験ok", "recruitment", BASELINE),
    term("荷受け", "recruitment", BASELINE),
    term("殺って", "serious_crime", BASELINE),
    term("作り方教えます", "serious_crime", BASELINE),
    term("爆弾を仕掛けた", "serious_crime", BASELINE),
    term("刺し殺す", "serious_crime", BASELINE),
];

/// The words with `role`, in table order.
pub fn words(role: u8) -> impl Iterator<Item = &'static str> {
    TERMS
        .iter()
        .filter(move |t| t.roles & role != 0)
        .map(|t| t.word)
}

/// The keyword baseline's words for `label`.
pub fn baseline_words(label: &str) -> impl Iterator<Item = &'static str> + '_ {
    TERMS
        .iter()
        .filter(move |t| t.roles & BASELINE != 0 && t.label == label)
        .map(|t| t.word)
}

/// True when `text` contains a signal word (an `OBVIOUS`, `SLANG` or `AUGMENT` word).
pub fn has_signal_word(text: &str) -> bool {
    words(OBVIOUS | SLANG | AUGMENT).any(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_unique_and_has_a_role_and_a_known_label() {
        let mut seen = std::collections::HashSet::new();
        for t in TERMS {
            assert!(seen.insert(t.word), "{} twice", t.word);
            assert!(t.roles != 0, "{} has no role", t.word);
            assert!(
                crate::model::DEFAULT_LABELS.contains(&t.label),
                "{}: {}",
                t.word,
                t.label
            );
        }
        assert_eq!(words(OBVIOUS).count(), 7);
        assert_eq!(words(SLANG).count(), 20);
        assert_eq!(words(AUGMENT).count(), 40);
        assert!(baseline_words("drugs").any(|w| w == "手押し"));
    }
}
