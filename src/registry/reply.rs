//! What a subscriber's MO reply to a port means (API.md `Registry.HandleReply`), which opt-out
//! scope it touches and what the gateway sends back. Pure and synchronous: the Registry service
//! calls it, then writes the opt-out or opt-in itself.
//!
//! Why it exists: the 2015 MIIT rules (RULES.md, first and sixth rows of the law table) make a
//! sender stop once the user refuses and require "a convenient way to refuse"; the reply to the
//! port is that way, so reading it wrongly either keeps marketing a subscriber who said ＴＤ or
//! drops one who asked what TD means. Where each rule comes from:
//!
//! - Opt-out and opt-in keywords: RULES.md "Platform practice" (T, TD, N, R, 退订, 拒收, TDDX, 0000,
//!   STOP, UNSUBSCRIBE; 订阅, START), case-insensitive and full-width tolerant. The keyword must be
//!   the whole reply: "T恤多少钱" or "TD是什么意思" is a question, not a refusal.
//! - Wrong-recipient phrases: the collection row of the law table (China Banking Association
//!   collection guideline, 2026-01-30): third parties may only be asked to pass on contact and
//!   collection stops when they object. "不是本人, 打错了, ..." opt the number out of the
//!   enterprise's collection traffic (scope COLLECTION), and may sit inside a longer sentence.
//! - Scopes: the same row and "Platform practice": a reply opts out of the port's enterprise, for
//!   commercial traffic only; a plain TD to a collection port does not stop lawful debt notices.
//! - Confirmation texts: "reply confirmation" in RULES.md's defaults table, overridable per
//!   enterprise in `senders.toml` (`optout_confirmation`).
//!
//! The reply is folded with [`Normalizer::canonicalize_into`] (NFKC, full-width to half-width,
//! ASCII lowercase, zero-width removed, whitespace collapsed) into a thread-local buffer, so
//! [`interpret`] does not allocate once a thread is warm.

use std::cell::RefCell;

use crate::domain::OptOutScope;
use crate::pipeline::normalize::Normalizer;
use crate::registry::senders::Sender;

/// What a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyIntent {
    /// Stop this enterprise's commercial traffic.
    OptOut,
    /// Resume this enterprise's commercial traffic.
    OptIn,
    /// "This is not me": a third party received a debt-collection notice.
    WrongRecipient,
    /// Anything else: a question, a thank-you, a chat. Nothing is written.
    None,
}

/// Whole-reply opt-out keywords, in canonical form (lowercase, half-width). Matched after
/// punctuation, quotes and brackets are stripped from both ends and whitespace is ignored.
///
/// RULES.md "Platform practice": t, td, n, r, 退订, 拒收, tddx (退订短信), 0000, stop, unsubscribe.
/// Variants carriers see, each an unambiguous refusal:
/// - 退订 combined with t/td in either order ("TD退订", "退订TD", "退订 T"): people echo the
///   notice "回TD退订";
/// - 取消订阅 ("cancel the subscription");
/// - 不要再发 / 不要再发了 ("stop sending", with or without the sentence-final 了).
///
/// Deliberately left out: 我要退订 / 请退订 / 别再发了 (clear, but each sentence form invites the
/// next; they belong in configuration), END / CANCEL / QUIT (US short-code practice, ambiguous in
/// Chinese traffic), 退订了 (often the start of a question: "退订了吗").
pub const OPT_OUT_KEYWORDS: &[&str] = &[
    "t",
    "td",
    "n",
    "r",
    "退订",
    "拒收",
    "tddx",
    "0000",
    "stop",
    "unsubscribe",
    "退订t",
    "t退订",
    "退订td",
    "td退订",
    "取消订阅",
    "不要再发",
    "不要再发了",
];

/// Whole-reply opt-in keywords (RULES.md "Platform practice"): 订阅, start.
pub const OPT_IN_KEYWORDS: &[&str] = &["订阅", "start"];

/// Phrases that say the reply comes from someone other than the addressee (RULES.md, collection
/// row). Found anywhere in the canonical reply. 不认识 also covers 不认识此人 / 不认识这个人.
///
/// The phrases built on 不是 (不是本人, 不是我, 我不是) are skipped where they do not deny identity
/// (see `denies_identity`): the A-not-A question "是不是我…" / "你是不是本人", a degree adverb
/// "我不是很清楚", and a rhetorical question in the same clause "我不是已经还了吗". 非本人 is
/// skipped after 除 ("除非本人…", "unless the person themselves").
pub const WRONG_RECIPIENT_PHRASES: &[&str] = &[
    "不是本人",
    "不是我",
    "我不是",
    "非本人",
    "打错了",
    "发错了",
    "号码错了",
    "错号",
    "不认识",
    "wrong number",
];

/// Default opt-out confirmation (RULES.md "reply confirmation").
pub const DEFAULT_OPT_OUT_CONFIRMATION: &str = "【{name}】您已成功退订{name}的营销短信。";
/// Default opt-out confirmation on a collection port: says that debt notices continue (RULES.md,
/// collection row: "the confirmation says so").
pub const DEFAULT_COLLECTION_OPT_OUT_CONFIRMATION: &str =
    "【{name}】您已成功退订{name}的营销短信。催收相关通知不受影响。";
/// Confirmation of an opt-in; it repeats how to refuse again.
pub const OPT_IN_CONFIRMATION: &str = "【{name}】您已重新订阅{name}的营销短信，回T退订。";
/// Confirmation of a wrong-recipient reply on a collection port.
pub const WRONG_RECIPIENT_CONFIRMATION: &str =
    "【{name}】已登记您不是本人，{name}将不再向本号码发送催收通知。";

/// A buffer that grew past this (a very long reply) is dropped instead of kept for the thread.
const RETAINED_CAPACITY: usize = 4096;

thread_local! {
    /// The canonical reply, one buffer per thread, so `interpret` does not allocate.
    static CANONICAL: RefCell<String> = const { RefCell::new(String::new()) };
}

/// What the reply means. Tolerant of case, full-width letters (ＴＤ), surrounding whitespace and
/// punctuation (“TD”, 【TD】, TD。, "td!", ' t '), but a keyword must be the WHOLE reply (after
/// stripping punctuation, whitespace, quotes and brackets at both ends; whitespace inside is
/// ignored, other punctuation inside is not), except wrong-recipient phrases, which may appear
/// inside a longer sentence ("你们发错了，我不是张三"). A reply that has a wrong-recipient phrase is
/// `WrongRecipient` even if it is otherwise an opt-out ("不是本人 TD").
pub fn interpret(normalizer: &Normalizer, text: &str) -> ReplyIntent {
    let with_buffer = |buf: &mut String| {
        normalizer.canonicalize_into(text, buf);
        let intent = intent_of(buf);
        if buf.capacity() > RETAINED_CAPACITY {
            *buf = String::new();
        }
        intent
    };
    CANONICAL
        .try_with(|cell| {
            cell.try_borrow_mut()
                .ok()
                .map(|mut buf| with_buffer(&mut buf))
        })
        .ok()
        .flatten()
        // Only while the thread is being torn down (or on re-entry): pay for one String.
        .unwrap_or_else(|| with_buffer(&mut String::new()))
}

/// The confirmation text the gateway sends back (RULES.md "reply confirmation"), `{name}` replaced
/// by the sender's name:
/// - `OptOut`: the enterprise's template (`Sender::optout_confirmation`, used as configured; a
///   blank one counts as absent) or [`DEFAULT_OPT_OUT_CONFIRMATION`]; on a collection port the
///   default is [`DEFAULT_COLLECTION_OPT_OUT_CONFIRMATION`], which says debt notices continue.
/// - `OptIn`: [`OPT_IN_CONFIRMATION`].
/// - `WrongRecipient` on a collection port: [`WRONG_RECIPIENT_CONFIRMATION`]. On any other port
///   there is no collection traffic to stop, so it is treated as a plain opt-out of commercial
///   traffic and confirmed exactly like `OptOut` (see [`scope_for`]).
/// - `None`: the empty string (API.md: `confirmation_text` is empty for NONE).
pub fn confirmation(sender: &Sender, intent: ReplyIntent) -> String {
    let template = match intent {
        ReplyIntent::None => return String::new(),
        ReplyIntent::OptIn => OPT_IN_CONFIRMATION,
        ReplyIntent::WrongRecipient if sender.is_collection_port() => WRONG_RECIPIENT_CONFIRMATION,
        ReplyIntent::OptOut | ReplyIntent::WrongRecipient => {
            match sender.optout_confirmation.as_deref() {
                Some(custom) if !custom.trim().is_empty() => custom,
                _ if sender.is_collection_port() => DEFAULT_COLLECTION_OPT_OUT_CONFIRMATION,
                _ => DEFAULT_OPT_OUT_CONFIRMATION,
            }
        }
    };
    template.replace("{name}", &sender.name)
}

/// Which opt-out scope an intent on this port affects (RULES.md, collection row and "Platform
/// practice"): `OptOut` and `OptIn` → Commercial, also on a collection port (a debtor cannot
/// unsubscribe from lawful debt notices); `WrongRecipient` → Collection on a collection port,
/// Commercial elsewhere; `None` → nothing.
pub fn scope_for(sender: &Sender, intent: ReplyIntent) -> Option<OptOutScope> {
    match intent {
        ReplyIntent::OptOut | ReplyIntent::OptIn => Some(OptOutScope::Commercial),
        ReplyIntent::WrongRecipient if sender.is_collection_port() => Some(OptOutScope::Collection),
        ReplyIntent::WrongRecipient => Some(OptOutScope::Commercial),
        ReplyIntent::None => None,
    }
}

/// The intent of a canonical reply.
fn intent_of(canonical: &str) -> ReplyIntent {
    if has_wrong_recipient_phrase(canonical) {
        return ReplyIntent::WrongRecipient;
    }
    let core = canonical.trim_matches(is_strippable);
    if core.is_empty() {
        ReplyIntent::None
    } else if OPT_OUT_KEYWORDS.iter().any(|k| is_whole(core, k)) {
        ReplyIntent::OptOut
    } else if OPT_IN_KEYWORDS.iter().any(|k| is_whole(core, k)) {
        ReplyIntent::OptIn
    } else {
        ReplyIntent::None
    }
}

/// `core` is `keyword` once its inner whitespace is ignored ("t d", "退订 td").
fn is_whole(core: &str, keyword: &str) -> bool {
    core.chars()
        .filter(|c| !c.is_whitespace())
        .eq(keyword.chars())
}

fn has_wrong_recipient_phrase(canonical: &str) -> bool {
    WRONG_RECIPIENT_PHRASES.iter().any(|phrase| {
        canonical.match_indices(phrase).any(|(start, found)| {
            // Match boundaries are char boundaries, so `get` never fails here.
            let before = canonical.get(..start).and_then(|s| s.chars().next_back());
            let after = canonical.get(start + found.len()..).unwrap_or_default();
            denies_identity(phrase, before, after)
        })
    })
}

/// Where a clause ends in canonical text (full-width ，！？； are ASCII by then).
const CLAUSE_ENDS: [char; 6] = [',', '.', '!', '?', ';', '。'];

/// Whether a wrong-recipient phrase found between `before` and `after` really says "not me".
fn denies_identity(phrase: &str, before: Option<char>, after: &str) -> bool {
    match phrase {
        "不是本人" | "不是我" | "我不是" => {
            let a_not_a = before == Some('是') && phrase != "我不是";
            let clause = after.split(CLAUSE_ENDS).next().unwrap_or_default();
            let degree = after.starts_with(['很', '太']);
            let rhetorical = clause.contains(['吗', '么']);
            !(a_not_a || degree || rhetorical)
        }
        "非本人" => before != Some('除'),
        _ => true,
    }
}

/// Characters stripped from both ends of a reply before keyword matching: whitespace, ASCII
/// punctuation (full-width punctuation is ASCII after canonicalization), and the Latin-1, general
/// and CJK punctuation, quotes and brackets that NFKC leaves alone (“ ” ‘ ’ … 、。【】「」《》〜 ・).
/// Emoji and other symbols are not stripped: "TD👍" is not a bare keyword.
fn is_strippable(c: char) -> bool {
    c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(
            c,
            '\u{00A1}'
                | '\u{00A7}'
                | '\u{00AB}'
                | '\u{00B6}'
                | '\u{00B7}'
                | '\u{00BB}'
                | '\u{00BF}'
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{205E}'
                | '\u{3001}'..='\u{3003}'
                | '\u{3008}'..='\u{3011}'
                | '\u{3014}'..='\u{301F}'
                | '\u{30FB}'
                | '\u{FE10}'..='\u{FE19}'
                | '\u{FE30}'..='\u{FE4F}'
                | '\u{FE50}'..='\u{FE6B}'
                | '\u{FF01}'..='\u{FF0F}'
                | '\u{FF1A}'..='\u{FF20}'
                | '\u{FF3B}'..='\u{FF40}'
                | '\u{FF5B}'..='\u{FF65}'
        )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Category, CategorySet};
    use crate::registry::senders::Priority;

    fn intent(text: &str) -> ReplyIntent {
        interpret(&Normalizer::default(), text)
    }

    fn sender(name: &str, categories: &[Category], template: Option<&str>) -> Sender {
        Sender {
            port: "10690001234".to_owned(),
            enterprise: Arc::from("ent-1"),
            name: name.to_owned(),
            signatures: vec![name.to_owned()],
            contact: "95555".to_owned(),
            categories: CategorySet::of(categories),
            priority: Priority::Normal,
            optout_confirmation: template.map(str::to_owned),
            quota: Default::default(),
        }
    }

    fn marketing_port() -> Sender {
        sender("某商城", &[Category::Marketing, Category::Service], None)
    }

    fn collection_port() -> Sender {
        sender(
            "某消费金融",
            &[Category::Collection, Category::Service],
            None,
        )
    }

    #[test]
    fn opt_out_keywords_in_every_spelling() {
        for reply in [
            "TD",
            "td",
            "ＴＤ",
            "ｔｄ",
            " T ",
            "t",
            "N",
            "r",
            "R。",
            "“退订”",
            "\"退订\"",
            "'t'",
            "【TD】",
            "「TD」",
            "《退订》",
            "TD。",
            "td!",
            "TD！！",
            "TD～",
            "TD...",
            "退订…",
            "tddx",
            "TDDX",
            "0000",
            "００００",
            "Stop",
            "STOP.",
            "UNSUBSCRIBE!",
            "拒收",
            "退\u{200b}订",
            "T\u{200b}D",
            "T D",
            "TD退订",
            "退订TD",
            "退订 TD",
            "退订t",
            "T退订",
            "取消订阅",
            "不要再发",
            "不要再发了！",
            "\t\n TD \r\n",
        ] {
            assert_eq!(intent(reply), ReplyIntent::OptOut, "{reply:?}");
        }
    }

    #[test]
    fn opt_in_keywords() {
        for reply in [
            "订阅",
            "start",
            "START",
            "Start!",
            "“订阅”",
            "ＳＴＡＲＴ",
            "【订阅】",
        ] {
            assert_eq!(intent(reply), ReplyIntent::OptIn, "{reply:?}");
        }
    }

    #[test]
    fn keywords_inside_longer_text_are_not_replies() {
        for reply in [
            "好的",
            "谢谢",
            "T恤多少钱",
            "TD是什么",
            "TD是什么意思",
            "退订了吗？我想问问",
            "退订了吗",
            "00000",
            "000",
            "stop it",
            "don't stop",
            "unsubscribed",
            "订阅号",
            "怎么订阅",
            "TDD",
            "TT",
            "T,D",
            "TD退订TD",
            "TD👍",
            "我想退订单",
            "",
            "   ",
            "。。。",
            "【】",
            "？",
        ] {
            assert_eq!(intent(reply), ReplyIntent::None, "{reply:?}");
        }
    }

    #[test]
    fn wrong_recipient_alone_and_inside_sentences() {
        for reply in [
            "不是本人",
            "不是我",
            "我不是",
            "打错了",
            "发错了",
            "号码错了",
            "不认识",
            "不认识此人",
            "非本人",
            "错号",
            "wrong number",
            "Wrong Number!",
            "you have the WRONG NUMBER",
            "你们发错了，我不是张三",
            "我不认识这个人，别再发了",
            "这个号码不是本人在用",
            "你好，你们是不是发错了",
            "【不是本人】",
            "ＴＤ 不是本人",
            "不是本人 TD",
            "退订，我不是李四",
            "我不是张三，你们打错了吗？",
            "不 是 本 人",
            "不是\u{200b}我",
            "并非本人",
        ] {
            assert_eq!(intent(reply), ReplyIntent::WrongRecipient, "{reply:?}");
        }
    }

    #[test]
    fn not_phrases_that_do_not_deny_identity() {
        for reply in [
            "是不是我欠款了",
            "你是不是本人",
            "我不是很清楚",
            "我不是太明白",
            "我不是已经还了吗",
            "我不是还过了么？",
            "除非本人到场",
        ] {
            assert_eq!(intent(reply), ReplyIntent::None, "{reply:?}");
        }
        // A denial in another clause still counts.
        assert_eq!(
            intent("是不是发错了？我不是王五"),
            ReplyIntent::WrongRecipient
        );
    }

    #[test]
    fn reuses_the_buffer_and_survives_a_huge_reply() {
        let huge = "好".repeat(100_000);
        assert_eq!(intent(&huge), ReplyIntent::None);
        assert_eq!(
            intent(&format!("{huge}不是本人")),
            ReplyIntent::WrongRecipient
        );
        assert_eq!(intent("TD"), ReplyIntent::OptOut);
        assert!(CANONICAL.with_borrow(|b| b.capacity() <= RETAINED_CAPACITY));
    }

    #[test]
    fn confirmation_on_a_marketing_port() {
        let s = marketing_port();
        assert_eq!(
            confirmation(&s, ReplyIntent::OptOut),
            "【某商城】您已成功退订某商城的营销短信。"
        );
        assert_eq!(
            confirmation(&s, ReplyIntent::OptIn),
            "【某商城】您已重新订阅某商城的营销短信，回T退订。"
        );
        // No collection traffic to stop: a plain opt-out of commercial traffic.
        assert_eq!(
            confirmation(&s, ReplyIntent::WrongRecipient),
            confirmation(&s, ReplyIntent::OptOut)
        );
        assert_eq!(confirmation(&s, ReplyIntent::None), "");
    }

    #[test]
    fn confirmation_on_a_collection_port() {
        let s = collection_port();
        assert_eq!(
            confirmation(&s, ReplyIntent::OptOut),
            "【某消费金融】您已成功退订某消费金融的营销短信。催收相关通知不受影响。"
        );
        assert_eq!(
            confirmation(&s, ReplyIntent::WrongRecipient),
            "【某消费金融】已登记您不是本人，某消费金融将不再向本号码发送催收通知。"
        );
        assert_eq!(
            confirmation(&s, ReplyIntent::OptIn),
            "【某消费金融】您已重新订阅某消费金融的营销短信，回T退订。"
        );
        assert_eq!(confirmation(&s, ReplyIntent::None), "");
    }

    #[test]
    fn confirmation_with_an_enterprise_template() {
        let custom = "【{name}】退订成功，如需恢复请回复订阅。{name}客服95555";
        let s = sender("某银行", &[Category::Marketing], Some(custom));
        assert_eq!(
            confirmation(&s, ReplyIntent::OptOut),
            "【某银行】退订成功，如需恢复请回复订阅。某银行客服95555"
        );
        assert_eq!(
            confirmation(&s, ReplyIntent::WrongRecipient),
            confirmation(&s, ReplyIntent::OptOut)
        );
        // The template is for opt-outs only.
        assert_eq!(
            confirmation(&s, ReplyIntent::OptIn),
            "【某银行】您已重新订阅某银行的营销短信，回T退订。"
        );
        // On a collection port the template replaces the default opt-out text; wrong-recipient
        // keeps its own.
        let c = sender("某资产", &[Category::Collection], Some(custom));
        assert_eq!(
            confirmation(&c, ReplyIntent::OptOut),
            "【某资产】退订成功，如需恢复请回复订阅。某资产客服95555"
        );
        assert_eq!(
            confirmation(&c, ReplyIntent::WrongRecipient),
            "【某资产】已登记您不是本人，某资产将不再向本号码发送催收通知。"
        );
        // A blank template counts as absent.
        let blank = sender("某店", &[Category::Marketing], Some("  "));
        assert_eq!(
            confirmation(&blank, ReplyIntent::OptOut),
            "【某店】您已成功退订某店的营销短信。"
        );
    }

    #[test]
    fn scope_table() {
        let m = marketing_port();
        let c = collection_port();
        let table = [
            (&m, ReplyIntent::OptOut, Some(OptOutScope::Commercial)),
            (&m, ReplyIntent::OptIn, Some(OptOutScope::Commercial)),
            (
                &m,
                ReplyIntent::WrongRecipient,
                Some(OptOutScope::Commercial),
            ),
            (&m, ReplyIntent::None, None),
            (&c, ReplyIntent::OptOut, Some(OptOutScope::Commercial)),
            (&c, ReplyIntent::OptIn, Some(OptOutScope::Commercial)),
            (
                &c,
                ReplyIntent::WrongRecipient,
                Some(OptOutScope::Collection),
            ),
            (&c, ReplyIntent::None, None),
        ];
        for (s, i, scope) in table {
            assert_eq!(scope_for(s, i), scope, "{} {i:?}", s.name);
        }
    }

    #[test]
    fn keyword_lists_are_canonical() {
        let normalizer = Normalizer::default();
        let mut out = String::new();
        for k in OPT_OUT_KEYWORDS
            .iter()
            .chain(OPT_IN_KEYWORDS)
            .chain(WRONG_RECIPIENT_PHRASES)
        {
            normalizer.canonicalize_into(k, &mut out);
            assert_eq!(&out, k);
        }
        for k in OPT_OUT_KEYWORDS {
            assert!(!OPT_IN_KEYWORDS.contains(k), "{k}");
        }
    }

    proptest! {
        #[test]
        fn interpret_never_panics(raw in any::<String>()) {
            let _ = intent(&raw);
        }

        #[test]
        fn padding_never_changes_a_keyword(
            i in 0..OPT_OUT_KEYWORDS.len(),
            pad in prop::sample::select(vec!["", " ", "。", "！", "“", "”", "【", "】", "\"", "...", "\u{3000}"]),
            upper in any::<bool>(),
        ) {
            let keyword = OPT_OUT_KEYWORDS.get(i).copied().unwrap_or("td");
            let keyword = if upper { keyword.to_uppercase() } else { keyword.to_owned() };
            prop_assert_eq!(intent(&format!("{pad}{keyword}{pad}")), ReplyIntent::OptOut);
        }
    }
}
