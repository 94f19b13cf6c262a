//! The patterns behind the job-ad check, over normalised text (NFKC, Latin lower-cased). Each
//! item has one pattern; a few words that look like items but are not (vague job words, vague
//! places) are excluded after matching.

use std::sync::OnceLock;

use regex::Regex;

/// A placeholder or digit in an address or phone number: digits, masked digits, redaction marks.
const D: &str = r"[0-9x○〇△□]";

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("job-ad patterns are valid")
}

/// The patterns, compiled once.
pub(super) struct Rules {
    pub offer: Regex,
    pub not_offer: Regex,
    pub wage: Regex,
    pub name_legal: Regex,
    pub name: Regex,
    pub address: Regex,
    pub phone: Regex,
    pub contact: Regex,
    pub anonymous: Regex,
    pub job_labelled: Regex,
    pub job: Regex,
    pub vague_job: Regex,
    pub transport_job: Regex,
    pub workplace_labelled: Regex,
    pub workplace: Regex,
    pub vague_place: Regex,
}

pub(super) fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        let amount = r"[0-9][0-9,\.]*\s*(?:万|千|円|k|マン)?(?:[0-9,]*\s*(?:千|円))?|[一二三四五六七八九十百千]+万?円?|[ニサンゴ]";
        Rules {
            // Words of an offer of paid work, or of applying for it.
            offer: compile(
                r"募集|求人|急募|求む|アルバイト|バイト|パート|スタッフ|お仕事|仕事|案件|勤務|応募|採用|働ける|働きませんか|稼げ|稼ぎたい|日払い|日給|時給|日当|月給|報酬|高収入|即金|シフト|枠|人材|ワーカー|手伝",
            ),
            // A post about jobs that offers none: a seeker, a warning or a report.
            not_offer: compile(
                r"(探して(ます|います|る)|ありませんか|紹介して(ください|ほしい)|雇って|応募しようか|応募した|応募してみた|働きたい|仕事ください|気をつけ|注意してください|騙され|逮捕|容疑|という(投稿|求人|募集)|と書かれた|って(投稿|求人)|通報|闇バイトに注意|見かけた)",
            ),
            // A pay word or a unit, then an amount; or an amount per unit; or a share of a sum.
            wage: compile(&format!(
                r"(?:時給|日給|日当|月給|月収|年収|週給|報酬|謝礼|給与|給料|手当|即日|当日|即金|1件|1回|1日|1本|1往復|一晩|1晩|1人|[0-9]+時間で?|日|月|週|回)\s*(?:で|は|:)?\s*(?:最大|最低|平均|約)?\s*(?:{amount})(?:以上|〜|~)?|[0-9][0-9,]*\s*円\s*/\s*(?:時|日|h|回|件)|(?:手数料|報酬)\s*[0-9]+\s*%|[0-9]+\s*%\s*(?:の報酬|バック)"
            )),
            // A legal form before or after a name (tried first), or a shop or company word after one.
            name_legal: compile(
                r"(?:株式会社|有限会社|合同会社|一般社団法人|社会福祉法人|医療法人|npo法人|\(株\)|\(有\))\s*[^\s、。,:：()「」【】/]{1,20}|[^\s、。,:：()「」【】!！?？/]{1,16}?(?:株式会社|有限会社|\(株\)|\(有\))",
            ),
            name: compile(
                r"[^\s、。,:：()「」【】!！?？]{1,16}?(?:商店|運送|運輸|急便|物流|ロジ|事務所|工業|建設|商事|企画|フーズ|食品|警備保障|引越センター|センター|クリニック|病院|ホテル[^\s、。]{0,6}|会館|郵便局|農園|牧場|協会|組合|委員会|町内会|[^\s]{0,4}サービス)",
            ),
            address: compile(&format!(
                r"(?:北海道|東京都|京都府|大阪府|[^\s、。,:：()【】]{{1,3}}県)?[^\s、。,:：()【】]{{1,6}}?[市区郡][^\s、。,:：()【】]{{1,8}}?(?:{D}+(?:-{D}+){{1,2}}|{D}+丁目|{D}+番地?)|[^\s、。,:：()【】]{{1,6}}?市[^\s、。,:：()【】]{{1,3}}?区[^\s、。,:：()【】0-9]{{1,4}}"
            )),
            phone: compile(&format!(r"0{D}{{1,4}}-{D}{{1,4}}-{D}{{3,4}}|0120-{D}{{3}}-{D}{{3}}")),
            contact: compile(
                r"[a-z0-9._+-]+@[a-z0-9-]+\.[a-z.]+|応募フォーム|専用フォーム|応募ページ|採用ページ|採用サイト|公式サイト|ホームページ|公式line|line公式(?:アカウント)?|求人サイト|求人アプリ|web応募|webから|店頭|窓口|サービスカウンター|登録会|当会サイト|お店に電話|まで電話|お電話",
            ),
            anonymous: compile(
                r"テレグラム|telegram|テレ(?:で|に|id|へ)|signal|シグナル|session|threema|安全なアプリ|消えるアプリ|秘匿アプリ|専用アプリ|dm|リプ|個チャ|オープンチャット|オプチャ|捨てアカ|捨てアド|プロフ(?:の)?リンク|プロフ見|インスタのdm|カカオ",
            ),
            // A header such as 仕事内容: (tried first), or a word of a task or an occupation.
            job_labelled: compile(
                r"(?:仕事内容|業務内容|職種|仕事|業務|募集職種)\s*[:：】\]]\s*([^\n、。/]{2,30})",
            ),
            job: compile(
                r"[^\s、。,:：()「」【】!！]{0,8}?(?:仕分け|検品|梱包|ピッキング|品出し|レジ|接客|ホール|キッチン|洗い場|調理|清掃|警備|交通誘導|誘導|引越し|引っ越し|搬入|搬出|搬出入|設営|撤去|荷揚げ|受付|販売|試食|介護|看護|保育|事務|データ入力|コールセンター|テレアポ|治験|工場|製造|ライン作業|農作業|収穫|ポスティング|チラシ配り|家庭教師|講師|調査|モニター|助手|ヘルプ|補助|配膳|仕込み|スタッフ)[^\s、。,:：()「」【】!！]{0,6}",
            ),
            vague_job: compile(
                r"^(?:簡単な|かんたんな)?(?:スタッフ|お仕事|仕事|案件|軽作業)$|受け子|出し子|打ち子|タタキ|ud|見張り|荷物の?受け取り|書類",
            ),
            transport_job: compile(
                r"[^\s、。,:：()「」【】!！]{0,8}?(?:配達|配送|宅配|ドライバー|運転手|送迎)[^\s、。,:：()「」【】!！]{0,4}",
            ),
            // A header such as 勤務地: (tried first), or a facility word.
            workplace_labelled: compile(
                r"(?:勤務地|就業場所|勤務先|勤務場所|場所|会場|現場|集合|教室)\s*[:：】\]は]\s*([^\n、。]{2,24})",
            ),
            workplace: compile(
                r"[^\s、。,:：()「」【】!！]{1,12}?(?:店|センター|倉庫|工場|会場|体育館|球場|ドーム|アリーナ|ホール|病院|施設|事業所|営業所|支店|本社|本店|キャンパス|公園|駅前|駅周辺|ステーション|ビル[0-9]*f?|周辺)",
            ),
            vague_place: compile(r"全国|各地|現地|当日|都内|関東|首都圏|県内|追って|dmで|後ほど|連絡します"),
        }
    })
}
