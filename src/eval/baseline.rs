//! The keyword baseline: a post is flagged for a label when it contains any of that label's
//! baseline words in [`crate::lexicon`]. It shows how much the model adds over keywords.

use crate::lexicon::baseline_words;
use crate::text::Normalizer;

/// Scores (1.0 or 0.0) per label in `labels` order for one post.
pub fn keyword_scores(text: &str, labels: &[String]) -> Vec<f32> {
    let text = Normalizer::default().normalize_str(text);
    labels
        .iter()
        .map(|label| {
            let hit = baseline_words(label).any(|w| text.contains(w));
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
        let labels: Vec<String> = ["recruitment", "drugs", "serious_crime"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            keyword_scores("ﾎﾜｲﾄ案件 ＤＭで", &labels),
            vec![1.0, 0.0, 0.0]
        );
        assert_eq!(
            keyword_scores("畑の野菜を手渡し", &labels),
            vec![0.0, 1.0, 0.0]
        );
        assert_eq!(
            keyword_scores("今日はいい天気", &labels),
            vec![0.0, 0.0, 0.0]
        );
    }
}
