//! The keyword baseline: a post is flagged for a label when it contains any of that label's
//! signal words from `shared/domain.md`. It shows how much the model adds over keywords.

use crate::normalize::Normalizer;

/// Signal words per label, from the domain notes' table (normalised: NFKC, lower case).
pub const KEYWORDS: [(&str, &[&str]); 3] = [
    (
        "recruitment",
        &[
            "闇バイト",
            "ホワイト案件",
            "即日即金",
            "高額",
            "日給5万",
            "身分証",
            "テレグラム",
            "シグナル",
            "dm",
            "全国",
            "未経験ok",
            "受け子",
            "出し子",
            "かけ子",
            "運び",
            "荷受け",
            "叩き",
            "タタキ",
            "口座",
            "名義",
        ],
    ),
    (
        "drugs",
        &[
            "手押し",
            "野菜",
            "🥦",
            "冷たいの",
            "アイス",
            "❄",
            "クサ",
            "リキッド",
            "郵送",
            "在庫",
        ],
    ),
    (
        "serious_crime",
        &[
            "殺し",
            "殺って",
            "始末",
            "報酬",
            "チャカ",
            "拳銃",
            "作り方教えます",
            "爆弾を仕掛けた",
            "刺し殺す",
        ],
    ),
];

/// Scores (1.0 or 0.0) per label in `labels` order for one post.
pub fn keyword_scores(normalizer: &Normalizer, text: &str, labels: &[String]) -> Vec<f32> {
    let text = normalizer.normalize_str(text);
    labels
        .iter()
        .map(|label| {
            let hit = KEYWORDS
                .iter()
                .find(|(l, _)| l == label)
                .is_some_and(|(_, words)| words.iter().any(|w| text.contains(w)));
            if hit {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_by_keyword_only() {
        let n = Normalizer::default();
        let labels: Vec<String> = ["recruitment", "drugs", "serious_crime"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            keyword_scores(&n, "ﾎﾜｲﾄ案件 ＤＭで", &labels),
            vec![1.0, 0.0, 0.0]
        );
        assert_eq!(
            keyword_scores(&n, "畑の野菜を手渡し", &labels),
            vec![0.0, 1.0, 0.0]
        );
        assert_eq!(
            keyword_scores(&n, "今日はいい天気", &labels),
            vec![0.0, 0.0, 0.0]
        );
    }
}
