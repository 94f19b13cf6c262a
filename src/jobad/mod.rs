//! The job-ad completeness check. Japan's Internet Hotline Center guideline treats a job post as
//! illegal information when it gives no recruiter name (氏名・名称), address (住所), contact
//! (連絡先), job content (業務内容), workplace (就業場所) or wage (賃金). For a post that reads as a
//! job ad, [`check`] reports which of the six it states, with the byte span of each, and whether
//! the only contact is an anonymous app or a DM.
//!
//! It is a set of patterns over the normalised text (see `rules.rs`), not a model: "reads as a
//! job ad" is a rule too (a word of an offer of paid work, and no sign of a job seeker, a warning
//! or a report). Its measured precision and recall are in `docs/job-ad-check.md`.

mod rules;

use serde::Serialize;

use crate::text::{default_normalizer, Normalized};
use rules::rules;

/// The six items, in the guideline's order.
pub const ITEMS: [Item; 6] = [
    Item::Name,
    Item::Address,
    Item::Contact,
    Item::Job,
    Item::Workplace,
    Item::Wage,
];

/// One item a job ad must state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Item {
    /// The recruiter's name (氏名・名称).
    Name,
    /// The recruiter's address (住所).
    Address,
    /// A contact that reaches the recruiter (連絡先); an anonymous app or a DM does not count.
    Contact,
    /// What the work is (業務内容).
    Job,
    /// Where the work is done (就業場所).
    Workplace,
    /// The pay, with an amount (賃金).
    Wage,
}

impl Item {
    /// The item's name in output (`name`, `address`, ...).
    pub fn key(self) -> &'static str {
        match self {
            Item::Name => "name",
            Item::Address => "address",
            Item::Contact => "contact",
            Item::Job => "job",
            Item::Workplace => "workplace",
            Item::Wage => "wage",
        }
    }

    /// The item's name in the guideline (氏名・名称, 住所, ...).
    pub fn japanese(self) -> &'static str {
        match self {
            Item::Name => "氏名・名称",
            Item::Address => "住所",
            Item::Contact => "連絡先",
            Item::Job => "業務内容",
            Item::Workplace => "就業場所",
            Item::Wage => "賃金",
        }
    }
}

/// What the check found in one job ad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobAd {
    /// The items not stated, in the guideline's order.
    pub missing: Vec<Item>,
    /// The items stated, each with its byte span in the original text.
    pub present: Vec<(Item, (usize, usize))>,
    /// True when the only contact offered is an anonymous app, a DM or the like.
    pub anonymous_contact: bool,
}

impl JobAd {
    /// The span of `item`, when stated.
    pub fn span(&self, item: Item) -> Option<(usize, usize)> {
        self.present
            .iter()
            .find(|(i, _)| *i == item)
            .map(|(_, s)| *s)
    }

    /// As JSON: `{"missing": [...], "present": {"wage": [start, end], ...}, "anonymous_contact"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let present: serde_json::Map<String, serde_json::Value> = self
            .present
            .iter()
            .map(|(i, (s, e))| (i.key().to_string(), serde_json::json!([s, e])))
            .collect();
        serde_json::json!({
            "missing": self.missing.iter().map(|i| i.key()).collect::<Vec<_>>(),
            "present": present,
            "anonymous_contact": self.anonymous_contact,
        })
    }
}

/// True when the normalised post reads as an offer of paid work.
fn reads_as_job_ad(text: &str) -> bool {
    let r = rules();
    r.offer.is_match(text) && !r.not_offer.is_match(text)
}

/// The first match of `re` in `norm` that `keep` accepts, as a span of the original text: its
/// first group when it has one, else the whole match.
fn find(
    norm: &Normalized,
    re: &regex::Regex,
    keep: impl Fn(&str) -> bool,
) -> Option<(usize, usize)> {
    re.captures_iter(&norm.text)
        .filter_map(|c| c.get(1).or_else(|| c.get(0)))
        .find(|m| keep(m.as_str()))
        .and_then(|m| norm.original_span(m.range()))
        .map(|r| (r.start, r.end))
}

/// Checks `text`: `None` when it does not read as a job ad.
pub fn check(text: &str) -> Option<JobAd> {
    let norm = default_normalizer().normalize(text);
    if !reads_as_job_ad(&norm.text) {
        return None;
    }
    let r = rules();
    let any = |_: &str| true;
    let name = find(&norm, &r.name_legal, any).or_else(|| find(&norm, &r.name, any));
    let concrete = |m: &str| !r.vague_job.is_match(m);
    let job = find(&norm, &r.job_labelled, concrete)
        .or_else(|| find(&norm, &r.job, concrete))
        .or_else(|| {
            // A transport word is job content only when an employer defines it.
            name.and_then(|_| find(&norm, &r.transport_job, any))
        });
    let contact = find(&norm, &r.phone, any).or_else(|| find(&norm, &r.contact, any));
    let anonymous_contact = contact.is_none() && r.anonymous.is_match(&norm.text);
    let specific = |m: &str| !r.vague_place.is_match(m);
    let workplace = find(&norm, &r.workplace_labelled, specific)
        .or_else(|| find(&norm, &r.workplace, specific));
    let found = [
        (Item::Name, name),
        (Item::Address, find(&norm, &r.address, any)),
        (Item::Contact, contact),
        (Item::Job, job),
        (Item::Workplace, workplace),
        (Item::Wage, find(&norm, &r.wage, any)),
    ];
    Some(JobAd {
        missing: found
            .iter()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| *i)
            .collect(),
        present: found
            .iter()
            .filter_map(|(i, s)| s.map(|s| (*i, s)))
            .collect(),
        anonymous_contact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_ad_states_all_six_items() {
        let text = "【職種】倉庫内の仕分けスタッフ\n【給与】時給1,250円\n【勤務地】株式会社ソラノワ物流 〇〇第1センター\n【所在地】〇〇県△△市□□町3-4-5\n【応募】採用専用ダイヤル 0120-000-000";
        let ad = check(text).expect("a job ad");
        assert!(ad.missing.is_empty(), "{ad:?}");
        assert!(!ad.anonymous_contact);
        let (s, e) = ad.span(Item::Wage).unwrap();
        assert!(text[s..e].starts_with("時給1,250"), "{}", &text[s..e]);
        let (s, e) = ad.span(Item::Contact).unwrap();
        assert_eq!(&text[s..e], "0120-000-000");
    }

    #[test]
    fn a_disguised_ad_misses_items_and_has_an_anonymous_contact() {
        let ad =
            check("【急募】荷物の受け取りだけで日給5万！詳細はテレグラムで").expect("a job ad");
        assert!(ad.anonymous_contact);
        for item in [
            Item::Name,
            Item::Address,
            Item::Contact,
            Item::Job,
            Item::Workplace,
        ] {
            assert!(ad.missing.contains(&item), "{item:?} in {ad:?}");
        }
        assert!(ad.span(Item::Wage).is_some());
    }

    #[test]
    fn a_job_seeker_is_not_a_job_ad() {
        assert!(check("日払いのバイト探してます、どこかありませんか").is_none());
        assert!(check("今日のアイスおいしい").is_none());
    }

    #[test]
    fn full_width_text_maps_back_to_original_bytes() {
        let text = "急募　日給１２，０００円　ＤＭください";
        let ad = check(text).expect("a job ad");
        let (s, e) = ad.span(Item::Wage).unwrap();
        assert!(text[s..e].starts_with("日給１２"), "{}", &text[s..e]);
        assert!(ad.anonymous_contact);
    }
}
