//! Normalization: the first stage of screening. It turns a raw SMS into one canonical spelling that
//! classify and policy read, and pulls out what the rules need: the 【signature】, the opt-out
//! notice, URLs, contact numbers and the air-interface segment count.
//!
//! Why: senders evade keyword rules with look-alike characters (full-width ＶＸ, ①②③, 壹贰叁), invisible
//! characters (U+200B inside 退订), split words (微 信, 微-信) and homophones (薇信, 威信). Undoing that
//! once, here, lets every later rule be written against one spelling (ARCHITECTURE.md,
//! "normalize"). The signature and opt-out notice are what the 2015 MIIT rules require of
//! commercial SMS (RULES.md: the sender's name and a convenient way to refuse).
//!
//! Canonicalization runs four passes, each from one buffer into another:
//! 1. characters: drop invisible characters, map full-width ASCII and circled digits, NFKC, ASCII
//!    lowercase, controls to spaces, drop whitespace between two CJK characters, collapse the rest;
//! 2. numerals: Chinese and financial numerals in digit runs become ASCII digits;
//! 3. spaced digits: "1 3 8 0 0 1 3 8 0 0 0" becomes one number;
//! 4. substitutions: an Aho-Corasick table of WeChat/QQ spellings (see `substitution_table`).
//!
//! Each pass only ever produces text the earlier passes leave alone, which makes canonicalization
//! idempotent (a property test checks it): the duplicate filter hashes canonical text, so a message
//! and its re-normalized copy must hash the same.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use regex::Regex;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::segments::{self, Segments};

mod traditional;
pub use traditional::simplified;

/// Built once per configuration snapshot: every automaton, table and regex normalization needs.
#[derive(Clone)]
pub struct Normalizer {
    /// Every spelling of 微信/加微信/QQ in [`substitution_table`], leftmost-longest so "加薇信" wins over
    /// "加薇".
    substitutions: AhoCorasick,
    /// What to do with each pattern of `substitutions`, by pattern id.
    rules: Vec<Substitution>,
    /// Opt-out notices (回T退订, 退订回TD, 拒收请回复R, reply STOP, ...), on lowercase canonical text.
    optout: Regex,
    /// URLs with a scheme, www. hosts, and bare hosts on a known TLD.
    url: Regex,
    /// Hosts of URL shorteners, built-in plus configured; subdomains count too.
    shorteners: HashSet<String>,
}

/// The output of normalization, reused across messages (buffers are cleared, not reallocated).
#[derive(Debug, Default, Clone)]
pub struct NormalizedText {
    /// The canonical body: NFKC, full-width folded to half-width, ASCII lowercased, zero-width and
    /// padding characters removed, whitespace between CJK characters removed and other runs
    /// collapsed to one space, obfuscations undone ("微 信"/"V信"/"威信"/"薇信" -> "微信", "加薇"/"加v" ->
    /// "加微信", ①②/〇/壹贰 digits -> ASCII digits). The signature (when extracted) is NOT part of it.
    pub text: String,
    /// The text inside a 【...】 at the start or end of the message (start wins), trimmed, canonical.
    pub signature: Option<String>,
    /// true when the signature stood at the end of the message.
    pub signature_at_end: bool,
    /// 【 or 】 appears somewhere other than the extracted signature (【】 is reserved for it).
    pub stray_brackets: bool,
    /// An opt-out notice such as 回T退订, 退订回TD, 拒收请回复R, 回复TD退订, 退订请回N, reply STOP.
    pub optout_notice: bool,
    /// URLs found (scheme optional: "t.cn/abc", "www.x.com", "http://..."), lowercased.
    pub urls: Vec<String>,
    /// How many of `urls` are on a known URL shortener (t.cn, dwz.cn, url.cn, bit.ly, ...).
    pub shortened_urls: u16,
    /// How many of `urls` are on a top-level domain phishing favours (`ABUSED_TLDS`), shorteners
    /// aside.
    pub abused_tld_urls: u16,
    /// Contact numbers found, digits only: mobiles (11 digits), landlines (0xx-xxxxxxxx), 400/800,
    /// 95xxx.
    pub phones: Vec<String>,
    /// Bit set of `flags::*`: what normalization had to undo.
    pub flags: u32,
    /// Segments the original text needs on the air interface.
    pub segments: Segments,
}

impl NormalizedText {
    /// Whether the message gives its reader a way to reach or pay someone other than the signer's
    /// official channels: a link (`urls`, or `has_unlisted_link`; one on a government `.gov.cn`
    /// host aside: nobody else can register one), a number other than a 95xxx service number
    /// (`is_service_number`), an account on a messenger (`names_messenger_id`), an app file to
    /// install, or a card number to pay into. Fraud needs one. A signed notice without any (a bank
    /// sending its customer to its app, a branch or its 955xx line; a police warning naming 96110)
    /// reads as phishing to anything that learnt fraud from fake base stations, and is not.
    pub fn offers_contact(&self) -> bool {
        if self.urls.iter().any(|u| !is_government_url(u))
            || self.phones.iter().any(|p| !is_service_number(p))
        {
            return true;
        }
        let t = self.text.as_str();
        if t.contains(".apk")
            || has_unlisted_link(t)
            || has_masked_number(t)
            || has_international_number(t)
            || [
                "微信", "微:", "薇:", "v:", "q:", "qq", "q群", "q裙", "扣扣", "telegram",
                "whatsapp",
            ]
            .iter()
            .any(|m| names_messenger_id(t, m))
        {
            return true;
        }
        // A card number: 16 to 19 digits, maybe in groups (`6222 0212 3456 7890`). A run after
        // letters is a waybill or an order number (`SF1409236718045`).
        let mut run = 0usize;
        let mut after_letter = false;
        t.bytes().any(|b| {
            if b.is_ascii_digit() {
                run += 1;
            } else if !(b == b' ' && run > 0) {
                after_letter = b.is_ascii_alphabetic();
                run = 0;
            }
            run >= 16 && !after_letter
        })
    }
}

/// `text` has a host and a path on a top-level domain `BARE_TLDS` does not list (`rb.gy/0qYbgQ`):
/// not counted as a link (the model's features and the rules keep to known TLDs), but a way out all
/// the same.
fn has_unlisted_link(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        if b != b'/' || !bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
            return false;
        }
        let host_start = bytes[..i]
            .iter()
            .rposition(|&c| !(c.is_ascii_alphanumeric() || c == b'.' || c == b'-'))
            .map_or(0, |p| p + 1);
        let host = &bytes[host_start..i];
        if std::str::from_utf8(host).is_ok_and(is_government_host) {
            return false;
        }
        match host.iter().rposition(|&c| c == b'.') {
            Some(dot) if dot > 0 => {
                let tld = &host[dot + 1..];
                tld.len() >= 2 && tld.iter().all(u8::is_ascii_lowercase)
            }
            _ => false,
        }
    })
}

/// `text` has a phone number with masked digits (`138****6014`, `0755-xxxx-3201`): a number the
/// reader is told to call, as a data set or a cautious sender prints it. (The recipient's own number
/// masked the same way makes a legitimate notice look like it offers a contact; that only keeps
/// the gate of `offers_contact` from applying.)
fn has_masked_number(text: &str) -> bool {
    let (mut digits, mut masks, mut len) = (0, 0, 0);
    for b in text.bytes().chain(std::iter::once(b' ')) {
        match b {
            b'0'..=b'9' => digits += 1,
            b'*' | b'x' => masks += 1,
            b'-' if len > 0 => {}
            _ => {
                if digits >= 3 && masks >= 3 && (7..=13).contains(&(digits + masks)) {
                    return true;
                }
                (digits, masks, len) = (0, 0, 0);
                continue;
            }
        }
        len += 1;
    }
    false
}

/// `text` has a number with an international prefix other than China's (`+852 5609 2281`,
/// `+63 917 555 0134`): a way to reach someone abroad, which no mainland sender's notice needs and
/// scam centres use. (`contact_number` reads mainland numbers only.)
fn has_international_number(text: &str) -> bool {
    text.match_indices('+').any(|(at, _)| {
        let after = text.get(at + 1..).unwrap_or_default();
        if after.starts_with("86") {
            return false;
        }
        let mut digits = 0;
        for c in after.chars() {
            match c {
                '0'..='9' => digits += 1,
                ' ' | '-' if digits > 0 => {}
                _ => break,
            }
        }
        digits >= 9
    })
}

/// `text` names an account on messenger `marker`: an id (5 or more of `[a-z0-9_-]`, a QQ number
/// or a WeChat id, spaces allowed) starts within four characters after it (`加微信:kf8899`,
/// `qq号 2887 1234`, `加助理微:zx-vip66`) or ends within four before it (`添加 kszb-hr 企业微信`).
/// A brand's name (微信支付) or a warning (不会要求您添加微信) names none.
fn names_messenger_id(text: &str, marker: &str) -> bool {
    // `*` masks digits of a number printed for the reader (`qq 2380****97`).
    let id_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*');
    text.match_indices(marker).any(|(at, m)| {
        // Or just before it: `添加 kszb-hr 企业微信`.
        let before = text.get(..at).unwrap_or_default();
        let mut tail = before.chars().rev().take(4).skip_while(|&c| !id_char(c));
        if tail.next().is_some() {
            let run = before
                .trim_end_matches(|c: char| !id_char(c))
                .chars()
                .rev()
                .take_while(|&c| id_char(c))
                .count();
            if run >= 5 {
                return true;
            }
        }
        let after = text.get(at + m.len()..).unwrap_or_default();
        let Some((start, _)) = after.char_indices().take(4).find(|&(_, c)| id_char(c)) else {
            return false;
        };
        // Spaces inside (`qq 3168 4427 80`, `b x - t b 6 6`) do not end it.
        after
            .get(start..)
            .unwrap_or_default()
            .chars()
            .take_while(|&c| id_char(c) || c == ' ')
            .filter(|&c| c != ' ')
            .count()
            >= 5
    })
}

/// A 95xxx number of 5–6 digits: MIIT assigns them to banks, insurers and carriers, so nobody else
/// can be called on one (`contact_number` extracts them on the same terms).
pub fn is_service_number(digits: &str) -> bool {
    digits.starts_with("95") && (5..=6).contains(&digits.len())
}

/// A link whose host is `gov.cn` or under it (`www.cwl.gov.cn/x`; not `gov.cn.example.top`).
fn is_government_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    is_government_host(rest.split(['/', ':', '?', '#']).next().unwrap_or_default())
}

fn is_government_host(host: &str) -> bool {
    host == "gov.cn" || host.ends_with(".gov.cn")
}

/// Bits of `NormalizedText::flags`.
pub mod flags {
    /// An invisible character was removed (U+200B..U+200F, U+2060.., U+FEFF, soft hyphen, bidi
    /// controls, Hangul fillers, braille blank). Variation selectors, emoji tags and a ZWJ inside
    /// an emoji sequence are removed without setting it: legitimate text carries them.
    pub const ZERO_WIDTH: u32 = 1 << 0;
    /// A full-width letter or digit (Ａ-Ｚ, ａ-ｚ, ０-９) was folded; full-width punctuation (，：！) is
    /// ordinary Chinese typography and does not set it.
    pub const FULLWIDTH: u32 = 1 << 1;
    /// 微信 was spelled another way (威信, V信, 微-信, 微 信, weixin, vx:, 加薇, +v, ...).
    pub const OBFUSCATED_WECHAT: u32 = 1 << 2;
    /// Digits were disguised: two or more circled digits in a row (①②), financial numerals in a
    /// digit run (壹叁捌), or a run of five or more Chinese numerals (一三八零零...).
    pub const OBFUSCATED_DIGITS: u32 = 1 << 3;
    /// Seven or more digits were written one or two at a time with single separators
    /// ("1 3 8 0 0 1 3 8 0 0 0").
    pub const SPACED_OUT: u32 = 1 << 4;
    /// 扣扣/企鹅 followed by a number was rewritten to "qq".
    pub const OBFUSCATED_QQ: u32 = 1 << 5;
    /// Whitespace between two CJK characters was dropped ("春装到店啦   春暖花开"): rare in
    /// written Chinese, common where a message's emoji or layout was stripped.
    pub const CJK_SPACING: u32 = 1 << 6;
    /// A traditional character was read as its simplified form (貸款 → 贷款; `simplified`):
    /// Hong Kong and Macau senders write so, and spammers switch script to pass keyword filters.
    pub const TRADITIONAL: u32 = 1 << 7;
}

/// The automata are large; a configuration dump only needs their size.
impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalizer")
            .field("substitution_patterns", &self.rules.len())
            .field("shorteners", &self.shorteners.len())
            .finish_non_exhaustive()
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Self::new(&[])
    }
}

impl Normalizer {
    /// Builds the tables. `extra_shorteners` are hosts ("x.co", "https://s.example.cn/") added to
    /// the built-in shortener list; scheme, "www." and trailing slashes are ignored, case too.
    pub fn new(extra_shorteners: &[String]) -> Normalizer {
        let (patterns, rules): (Vec<String>, Vec<Substitution>) =
            substitution_table().into_iter().unzip();
        let substitutions = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .expect("a few hundred short literals are far below any automaton size limit");
        let optout = Regex::new(&optout_pattern())
            .expect("the opt-out pattern is a constant known to compile");
        let url =
            Regex::new(&url_pattern()).expect("the URL pattern is a constant known to compile");
        let shorteners = BUILTIN_SHORTENERS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(extra_shorteners.iter().filter_map(|s| shortener_host(s)))
            .collect();
        Normalizer {
            substitutions,
            rules,
            optout,
            url,
            shorteners,
        }
    }

    /// Canonicalizes `raw` into `out` (cleared first): the character-level part of
    /// [`Self::normalize_into`], with no signature or entity extraction. Idempotent: canonicalizing
    /// the result changes nothing.
    pub fn canonicalize_into(&self, raw: &str, out: &mut String) {
        let mut flags = 0;
        SCRATCH
            .with_borrow_mut(|scratch| self.canonicalize(raw, out, &mut scratch.buf, &mut flags));
    }

    /// Normalizes `raw` into `out`, reusing its buffers. Never fails: any string has a canonical
    /// form.
    pub fn normalize_into(&self, raw: &str, out: &mut NormalizedText) {
        let mut flags = 0;
        SCRATCH.with_borrow_mut(|scratch| {
            self.canonicalize(raw, &mut out.text, &mut scratch.buf, &mut flags);
            extract_signature(out, &mut scratch.spare_signature);
            out.stray_brackets = out.text.contains(['【', '】']);
            out.optout_notice = self.optout.is_match(&out.text);
            scratch.url_spans.clear();
            self.extract_urls(out, &mut scratch.url_spans, &mut scratch.spare_strings);
            extract_phones(
                &out.text,
                &scratch.url_spans,
                &mut out.phones,
                &mut scratch.spare_strings,
            );
        });
        out.flags = flags;
        out.segments = segments::count(raw);
    }

    /// The four passes; `scratch` is the second buffer they ping-pong with.
    fn canonicalize(&self, raw: &str, out: &mut String, scratch: &mut String, flags: &mut u32) {
        let seen = fold_characters(raw, out, flags);
        let converted = seen.numerals && numerals_to_digits(out, scratch, flags);
        if converted {
            std::mem::swap(out, scratch);
        }
        // Pass 2 makes digits, so pass 1's sighting no longer covers them.
        if (seen.spaced_digits || converted) && join_spaced_digits(out, scratch, flags) {
            std::mem::swap(out, scratch);
        }
        if seen.substitution && self.substitute(out, scratch, flags) {
            std::mem::swap(out, scratch);
        }
    }

    /// Pass 4: rewrites WeChat/QQ spellings. Returns true when `dst` holds the rewritten text.
    fn substitute(&self, src: &str, dst: &mut String, flags: &mut u32) -> bool {
        let mut rewriter = Rewriter::new(src, dst);
        let mut pos = 0;
        while pos < src.len() {
            let Some(found) = self
                .substitutions
                .find(Input::new(src).span(pos..src.len()))
            else {
                break;
            };
            let Some(rule) = self.rules.get(found.pattern().as_usize()) else {
                debug_assert!(
                    false,
                    "every pattern id has a rule: both come from one table"
                );
                break;
            };
            if !rule.applies(src, found.start(), found.end()) {
                // Not this one; a shorter pattern may still start inside it.
                pos = found.start() + char_len_at(src, found.start());
                continue;
            }
            let out = rewriter.edit_at(found.start());
            // Pass 1 kept spaces next to the ASCII "v"/"+" that now become CJK; drop the ones that
            // now sit between two CJK characters, as pass 1 would have.
            if out.ends_with(' ')
                && out.chars().rev().nth(1).is_some_and(is_cjk)
                && rule.replacement_is_cjk
            {
                out.pop();
            }
            out.push_str(rule.replacement);
            let mut end = found.end();
            let rest = src.get(end..).unwrap_or_default();
            if rule.replacement_is_cjk
                && rest
                    .strip_prefix(' ')
                    .and_then(|r| r.chars().next())
                    .is_some_and(is_cjk)
            {
                end += 1;
            }
            rewriter.resume_at(end);
            *flags |= rule.flag;
            pos = end;
        }
        rewriter.finish()
    }

    /// URLs of `out.text` into `out.urls` (slots reused); their byte spans into `spans`.
    ///
    /// A URL lies inside a run of URL characters that contains a dot (every form has one in its
    /// host), so the regex only runs on such runs, which most messages do not have.
    fn extract_urls(
        &self,
        out: &mut NormalizedText,
        spans: &mut Vec<(usize, usize)>,
        spares: &mut Vec<String>,
    ) {
        let text = out.text.as_str();
        let bytes = text.as_bytes();
        // No dot, no URL: a memchr settles most messages.
        if !bytes.contains(&b'.') {
            truncate_slots(&mut out.urls, 0, spares);
            out.shortened_urls = 0;
            out.abused_tld_urls = 0;
            return;
        }
        let mut found = 0;
        let mut shortened: u16 = 0;
        let mut abused: u16 = 0;
        let mut searched_to = 0;
        let dots = bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'.')
            .map(|(i, _)| i);
        for dot in dots {
            if dot < searched_to {
                continue;
            }
            let before_dot = bytes.get(..dot).unwrap_or_default();
            let from_dot = bytes.get(dot..).unwrap_or_default();
            let start = before_dot
                .iter()
                .rposition(|&b| !is_url_byte(b))
                .map_or(0, |i| i + 1);
            let end = from_dot
                .iter()
                .position(|&b| !is_url_byte(b))
                .map_or(bytes.len(), |i| dot + i);
            searched_to = end;
            let run = text.get(start..end).unwrap_or_default();
            for m in self.url.find_iter(run) {
                let (m_start, m_end) = (start + m.start(), start + m.end());
                let has_scheme =
                    m.as_str().starts_with("http://") || m.as_str().starts_with("https://");
                let before = text.get(..m_start).and_then(|s| s.chars().next_back());
                let after = text.get(m_end..).and_then(|s| s.chars().next());
                // A host glued to more host characters is part of something else: an e-mail
                // address (x@y.com), a longer word (xx.comedy), or not a URL at all (xhttp://).
                let glued_before = before.is_some_and(|c| {
                    if has_scheme {
                        c.is_ascii_alphanumeric()
                    } else {
                        is_host_char(c) || matches!(c, '@' | '/')
                    }
                });
                let glued_after =
                    after.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
                if glued_before || glued_after {
                    continue;
                }
                let mut url = trim_url_punctuation(m.as_str());
                if !has_scheme && !url.starts_with("www.") {
                    let host = url_host(url);
                    match bare_host_end(host) {
                        // A known shortener is a link whatever its TLD (suo.im, is.gd, u.nu).
                        None if self.is_shortener(host) => {}
                        None => continue,
                        // A cut inside the host drops the rest of it, the port and the path.
                        Some(end) if end < host.len() => url = url.get(..end).unwrap_or_default(),
                        Some(_) => {}
                    }
                }
                let host = url_host(url);
                if host.is_empty() {
                    continue;
                }
                spans.push((m_start, m_start + url.len()));
                if self.is_shortener(host) {
                    shortened = shortened.saturating_add(1);
                } else if on_abused_tld(host) {
                    abused = abused.saturating_add(1);
                }
                fill_slot(&mut out.urls, found, url.as_bytes(), spares);
                found += 1;
            }
        }
        truncate_slots(&mut out.urls, found, spares);
        out.shortened_urls = shortened;
        out.abused_tld_urls = abused;
    }

    /// `host` or one of its parent domains is a shortener (w.url.cn, m.tb.cn, www.bit.ly).
    fn is_shortener(&self, host: &str) -> bool {
        let mut candidate = host;
        loop {
            if self.shorteners.contains(candidate) {
                return true;
            }
            match candidate.split_once('.') {
                Some((_, parent)) if parent.contains('.') => candidate = parent,
                _ => return false,
            }
        }
    }
}

thread_local! {
    /// Second buffers for the hot path, one set per thread, so a warmed-up thread normalizes
    /// without allocating and `Normalizer` stays immutable and shareable behind the configuration
    /// snapshot.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            buf: String::new(),
            url_spans: Vec::new(),
            spare_signature: String::new(),
            spare_strings: Vec::new(),
        })
    };
}

struct Scratch {
    /// The buffer the canonicalization passes ping-pong with.
    buf: String,
    /// Byte spans of the URLs found, so digits inside a URL are not taken for a phone number.
    url_spans: Vec<(usize, usize)>,
    /// A signature buffer kept while a message has none, so `Option<String>` does not reallocate.
    spare_signature: String,
    /// URL and phone Strings kept while messages have fewer of them.
    spare_strings: Vec<String>,
}

// -------------------------------------------------------------------------------------------------
// Pass 1: characters
// -------------------------------------------------------------------------------------------------

/// What pass 1 saw in its output, so that passes with nothing to do are skipped.
#[derive(Debug, Default, Clone, Copy)]
struct Sightings {
    /// A numeral run that pass 2 converts.
    numerals: bool,
    /// A digit, a separator and a digit: pass 3 may have a chain to join.
    spaced_digits: bool,
    /// Two characters that every substitution pattern has in a row (`Folder::note_substitution`).
    substitution: bool,
}

/// Pass 1, from `raw` into `out` (cleared first).
fn fold_characters(raw: &str, out: &mut String, flags: &mut u32) -> Sightings {
    if let Some((sightings, found)) = fold_without_nfkc(raw, out) {
        *flags |= found;
        return sightings;
    }
    let premapped = || raw.chars().flat_map(|c| premap(c).into_iter().flatten());
    let mut folder = Folder::new(out);
    if is_nfkc_quick(premapped()) == IsNormalized::Yes {
        premapped().for_each(|c| folder.push(c));
    } else {
        premapped().nfkc().for_each(|c| folder.push(c));
    }
    let (sightings, found) = folder.finish();
    *flags |= found | character_flags(raw);
    sightings
}

/// Pass 1 for the common message, made only of ASCII, CJK ideographs, CJK and full-width
/// punctuation, circled digits and invisible characters: once full-width ASCII is folded, all of
/// them are NFKC-stable starters, so NFKC is the identity and is skipped. None (with `out` left
/// half-written) as soon as a character needs real NFKC.
fn fold_without_nfkc(raw: &str, out: &mut String) -> Option<(Sightings, u32)> {
    let mut folder = Folder::new(out);
    let mut found = 0;
    let mut previous_circled = false;
    let mut rest = raw;
    while !rest.is_empty() {
        // Plain characters (see `plain_prefix_len`) are copied a run at a time.
        if !folder.pending_space {
            let (plain, tail) = rest
                .split_at_checked(plain_prefix_len(rest))
                .unwrap_or(("", rest));
            if !plain.is_empty() {
                folder.push_plain(plain);
                previous_circled = false;
                rest = tail;
                continue;
            }
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        rest = chars.as_str();
        if c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            previous_circled = false;
            folder.push(c);
            continue;
        }
        // Full-width ASCII, mostly the Chinese comma and colon: NFKC folds it to ASCII.
        if let Some(folded) = fold_fullwidth(c) {
            if folded.is_ascii_alphanumeric() {
                found |= flags::FULLWIDTH;
            }
            previous_circled = false;
            folder.push(folded);
            continue;
        }
        if is_ignorable(c) {
            // A ZWJ inside an emoji sequence is legitimate, but emoji never get here.
            if !is_variation_selector_or_tag(c) {
                found |= flags::ZERO_WIDTH;
            }
            continue;
        }
        if matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ') {
            found |= flags::FULLWIDTH;
        }
        let circled = circled_number(c).is_some();
        if circled && previous_circled {
            found |= flags::OBFUSCATED_DIGITS;
        }
        previous_circled = circled;
        let [first, second] = premap(c);
        let first = first.filter(|&c| is_nfkc_stable_starter(c))?;
        folder.push(first);
        if let Some(second) = second {
            folder.push(second);
        }
    }
    let (sightings, folded) = folder.finish();
    Some((sightings, found | folded))
}

/// Bytes at the start of `text` that are plain characters: pass 1 copies them as they are and no
/// later pass starts on them. They are lowercase ASCII letters other than v and w, ASCII
/// punctuation other than +, and CJK ideographs other than numerals and 信, 薇, 扣 and 鹅, which
/// substitution patterns hinge on (`Folder::emit`). Decodes UTF-8 by hand: this loop sees every
/// character of most messages.
#[inline]
fn plain_prefix_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut len = 0;
    loop {
        match bytes.get(len..) {
            Some([b @ 0..0x80, ..]) => {
                if PLAIN_ASCII & (1u128 << b) == 0 {
                    return len;
                }
                len += 1;
            }
            // CJK punctuation 、。【】《》「」 (U+3001..U+303F), but for 〇 (a numeral), the
            // combining tone marks U+302A..U+302F and U+3036/U+3038..U+303A, which NFKC maps.
            Some([0xE3, 0x80, b2, ..]) => {
                if !matches!(b2 & 0x3F, 0x01..=0x06 | 0x08..=0x29 | 0x30..=0x35 | 0x3B..=0x3F) {
                    return len;
                }
                len += 3;
            }
            Some([b0 @ 0xE4..=0xE9, b1, b2, ..]) => {
                let c = (u32::from(b0 & 0x0F) << 12)
                    | (u32::from(b1 & 0x3F) << 6)
                    | u32::from(b2 & 0x3F);
                if c < 0x4E00 || is_special_ideograph(c) {
                    return len;
                }
                len += 3;
            }
            _ => return len,
        }
    }
}

/// Plain ASCII characters, one bit per code point: a-u, x-z and the punctuation but +.
const PLAIN_ASCII: u128 = {
    let mut bits = 0u128;
    let mut b = b'!';
    while b <= b'~' {
        let plain =
            matches!(b, b'a'..=b'u' | b'x'..=b'z') || (b.is_ascii_punctuation() && b != b'+');
        if plain {
            bits |= 1 << b;
        }
        b += 1;
    }
    bits
};

/// `c` (in U+4E00..U+9FFF) is in [`SPECIAL_IDEOGRAPHS`].
#[inline]
fn is_special_ideograph(c: u32) -> bool {
    let offset = c.wrapping_sub(0x4E00);
    let word = SPECIAL_IDEOGRAPHS
        .get((offset / 64) as usize)
        .copied()
        .unwrap_or(0);
    word & (1 << (offset % 64)) != 0
}

/// CJK ideographs (U+4E00..U+9FFF) that pass 1 must look at one by one: numerals (pass 2), the
/// characters substitution patterns hinge on (pass 4) and traditional characters (`simplified`).
/// A bit set, one bit per ideograph.
static SPECIAL_IDEOGRAPHS: [u64; 328] = {
    const SPECIAL: [char; 27] = [
        '一', '二', '三', '四', '五', '六', '七', '八', '九', '零', '幺', '壹', '贰', '貳', '叁',
        '參', '肆', '伍', '陆', '陸', '柒', '捌', '玖', '信', '薇', '扣', '鹅',
    ];
    let mut bits = traditional::IDEOGRAPH_BITS;
    let mut i = 0;
    while i < SPECIAL.len() {
        let offset = SPECIAL[i] as usize - 0x4E00;
        bits[offset / 64] |= 1 << (offset % 64);
        i += 1;
    }
    bits
};

/// The output side of pass 1: lowercases ASCII, turns controls into spaces, drops whitespace
/// between two CJK characters ("微 信", "加 薇 信"), collapses other whitespace runs to one space
/// and trims; and notes what the later passes will find.
struct Folder<'a> {
    out: &'a mut String,
    last: Option<char>,
    before_last: Option<char>,
    pending_space: bool,
    flags: u32,
    run: NumeralRun,
    /// Length of the ASCII digit group being written.
    digit_group: u32,
    /// The last finished digit group had one or two digits.
    last_group_short: bool,
    /// Digits in the current chain of short groups joined by single separators (pass 3).
    chain_digits: u32,
    sightings: Sightings,
}

impl<'a> Folder<'a> {
    fn new(out: &'a mut String) -> Self {
        out.clear();
        Folder {
            out,
            last: None,
            before_last: None,
            pending_space: false,
            flags: 0,
            run: NumeralRun::default(),
            digit_group: 0,
            last_group_short: false,
            chain_digits: 0,
            sightings: Sightings::default(),
        }
    }

    #[inline]
    fn push(&mut self, c: char) {
        if c.is_whitespace() || c.is_control() {
            self.pending_space = true;
            return;
        }
        let c = match simplified(c) {
            c if c.is_ascii() => c.to_ascii_lowercase(),
            s if s != c => {
                self.flags |= flags::TRADITIONAL;
                s
            }
            c => c,
        };
        if self.pending_space {
            self.pending_space = false;
            if let Some(previous) = self.last {
                if !(is_cjk(previous) && is_cjk(c)) {
                    self.emit(' ');
                } else if previous == '微' && c == '信' {
                    self.flags |= flags::OBFUSCATED_WECHAT;
                } else {
                    self.flags |= flags::CJK_SPACING;
                }
            }
        }
        self.emit(c);
    }

    #[inline]
    fn emit(&mut self, c: char) {
        self.out.push(c);
        match numeral(c) {
            Some((_, kind)) => self.run.add(c, kind),
            None if self.run.len > 0 => self.close_run(),
            None => {}
        }
        self.note_digit_chain(c);
        self.note_substitution(self.last, c);
        self.before_last = self.last;
        self.last = Some(c);
    }

    /// Appends a run of plain characters (`plain_prefix_len`): they need no folding and are not
    /// numerals, so only their ends matter.
    fn push_plain(&mut self, plain: &str) {
        self.out.push_str(plain);
        if self.run.len > 0 {
            self.close_run();
        }
        let mut tail = plain.chars().rev();
        let (last, before_last) = (tail.next(), tail.next());
        if let Some(first) = plain.chars().next() {
            self.note_digit_chain(first);
            self.note_substitution(self.last, first);
        }
        match (last, before_last) {
            (Some(last), Some(before_last)) => {
                (self.last, self.before_last) = (Some(last), Some(before_last));
            }
            (Some(last), None) => (self.last, self.before_last) = (Some(last), self.last),
            _ => {}
        }
    }

    /// Sights a pass 3 candidate: a chain of short digit groups with 7 digits so far (a superset of
    /// what pass 3 joins, which also wants every group ASCII and no long group in the chain).
    #[inline]
    fn note_digit_chain(&mut self, c: char) {
        if !c.is_ascii_digit() {
            if self.digit_group > 0 {
                self.last_group_short = self.digit_group <= 2;
                self.digit_group = 0;
            }
            return;
        }
        if self.digit_group == 0 {
            let joined = self.last_group_short
                && matches!(self.last, Some(' ' | '.' | '-'))
                && self.before_last.is_some_and(|c| c.is_ascii_digit());
            if !joined {
                self.chain_digits = 0;
            }
        }
        self.digit_group += 1;
        self.chain_digits += 1;
        if self.digit_group <= 2 && self.chain_digits >= 7 {
            self.sightings.spaced_digits = true;
        }
    }

    /// Sights a pass 4 candidate: `previous` then `c` occur in every substitution pattern (a unit
    /// test checks the whole table), and only `c` is needed of 信, 薇, 扣, 鹅, v and w.
    #[inline]
    fn note_substitution(&mut self, previous: Option<char>, c: char) {
        let hinge = match (previous, c) {
            (Some('微' | '威' | '薇' | '维' | '徽'), '信') => true,
            (Some(p), '信') => !is_cjk(p),
            (_, '薇') | (Some('扣'), '扣') | (Some('企'), '鹅') => true,
            (Some('w'), 'e') | (Some('v'), 'x') | (Some('加' | '+'), 'v') => true,
            (Some(' '), 'v') => self.before_last == Some('加'),
            _ => false,
        };
        if hinge {
            self.sightings.substitution = true;
        }
    }

    fn close_run(&mut self) {
        if self.run.conversion().is_some() {
            self.sightings.numerals = true;
        }
        self.run = NumeralRun::default();
    }

    fn finish(mut self) -> (Sightings, u32) {
        self.close_run();
        (self.sightings, self.flags)
    }
}

/// The flags pass 1 sets, from the raw text.
fn character_flags(raw: &str) -> u32 {
    let mut found = 0;
    let mut previous_circled = false;
    let mut previous_visible: Option<char> = None;
    for c in raw.chars() {
        if is_ignorable(c) {
            let legitimate = is_variation_selector_or_tag(c)
                || (c == '\u{200D}' && previous_visible.is_some_and(is_pictographic));
            if !legitimate {
                found |= flags::ZERO_WIDTH;
            }
            continue;
        }
        if matches!(c, '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ') {
            found |= flags::FULLWIDTH;
        }
        let circled = circled_number(c).is_some();
        if circled && previous_circled {
            found |= flags::OBFUSCATED_DIGITS;
        }
        previous_circled = circled;
        previous_visible = Some(c);
    }
    found
}

/// What pass 1 does before NFKC: drop invisible characters (before NFKC, so that removing one
/// cannot leave a composable pair behind), fold full-width ASCII and the ideographic space the way
/// NFKC would, and turn circled/parenthesised/dingbat digits into ASCII digits (NFKC would make ⑴
/// "(1)" and leaves ❶ alone).
fn premap(c: char) -> [Option<char>; 2] {
    if is_ignorable(c) {
        return [None, None];
    }
    if let Some(folded) = fold_fullwidth(c) {
        return [Some(folded), None];
    }
    match c {
        '\u{3000}' => [Some(' '), None],
        _ => match circled_number(c) {
            Some(n) if n >= 10 => [char::from_digit(n / 10, 10), char::from_digit(n % 10, 10)],
            Some(n) => [char::from_digit(n, 10), None],
            None => [Some(c), None],
        },
    }
}

/// The ASCII character a full-width one (U+FF01..U+FF5E) stands for, as NFKC maps it.
#[inline]
fn fold_fullwidth(c: char) -> Option<char> {
    match c {
        '！'..='～' => char::from_u32(u32::from(c) - 0xFEE0),
        _ => None,
    }
}

/// The number a circled, parenthesised or dingbat digit stands for (①-⑳, ⑴-⒇, ⓪, ⓫-⓴, ⓵-⓾, ⓿, ❶-❿,
/// ➀-➉, ➊-➓, ㉑-㉟, ㊱-㊿).
fn circled_number(c: char) -> Option<u32> {
    let v = u32::from(c);
    let n = match v {
        0x2460..=0x2473 => v - 0x2460 + 1,
        0x2474..=0x2487 => v - 0x2474 + 1,
        0x24EA | 0x24FF => 0,
        0x24EB..=0x24F4 => v - 0x24EB + 11,
        0x24F5..=0x24FE => v - 0x24F5 + 1,
        0x2776..=0x277F => v - 0x2776 + 1,
        0x2780..=0x2789 => v - 0x2780 + 1,
        0x278A..=0x2793 => v - 0x278A + 1,
        0x3251..=0x325F => v - 0x3251 + 21,
        0x32B1..=0x32BF => v - 0x32B1 + 36,
        _ => return None,
    };
    Some(n)
}

/// Invisible characters that only serve to break up keywords or pad text.
fn is_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{2800}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

fn is_variation_selector_or_tag(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Emoji and pictographs, which a ZWJ legitimately joins (👨‍👩‍👧).
fn is_pictographic(c: char) -> bool {
    matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..='\u{1FAFF}')
}

/// Characters with no NFKC mapping that never combine with a neighbour: when a text has only these,
/// NFKC is the identity and is skipped (a unit test checks every one against NFKC).
fn is_nfkc_stable_starter(c: char) -> bool {
    matches!(c,
        '\0'..='\u{7F}' | '\u{4E00}'..='\u{9FFF}' | '\u{3001}'..='\u{3029}'
        | '\u{3030}'..='\u{3035}'
        | '\u{303B}'..='\u{303F}' | '\u{2018}'..='\u{201D}' | '\u{2014}' | '\u{00B7}')
}

/// Characters between which whitespace is padding: Han ideographs and CJK punctuation (including 【】
/// and 。、《》). Kana and combining marks are not, so dropping a space never makes NFKC compose.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}' | '\u{3001}'..='\u{3029}' | '\u{3030}'..='\u{303F}')
}

// -------------------------------------------------------------------------------------------------
// Pass 2: numerals
// -------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum NumeralKind {
    Ascii,
    /// 〇 and 零.
    Zero,
    /// 一..九 and 幺 (the spoken "1" of phone numbers): ordinary words, converted only in long runs.
    Chinese,
    /// 壹..玖 (and traditional 貳參陸): amounts on cheques, and a favourite digit disguise.
    Financial,
}

/// The digit `c` stands for, if it is a numeral.
fn numeral(c: char) -> Option<(u32, NumeralKind)> {
    use NumeralKind::*;
    if c.is_ascii() {
        return c.to_digit(10).map(|digit| (digit, Ascii));
    }
    let numeral = match c {
        '〇' | '零' => (0, Zero),
        '一' | '幺' => (1, Chinese),
        '二' => (2, Chinese),
        '三' => (3, Chinese),
        '四' => (4, Chinese),
        '五' => (5, Chinese),
        '六' => (6, Chinese),
        '七' => (7, Chinese),
        '八' => (8, Chinese),
        '九' => (9, Chinese),
        '壹' => (1, Financial),
        '贰' | '貳' => (2, Financial),
        '叁' | '參' => (3, Financial),
        '肆' => (4, Financial),
        '伍' => (5, Financial),
        '陆' | '陸' => (6, Financial),
        '柒' => (7, Financial),
        '捌' => (8, Financial),
        '玖' => (9, Financial),
        _ => return None,
    };
    Some(numeral)
}

/// A maximal run of numerals, as pass 2 judges it.
#[derive(Debug, Default, Clone, Copy)]
struct NumeralRun {
    len: usize,
    chinese: bool,
    financial: bool,
    zero: bool,
    starts_with_ideographic_zero: bool,
}

/// How pass 2 rewrites a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    /// Every numeral becomes a digit.
    All,
    /// Financial numerals and 〇/零 become digits.
    Disguised,
}

impl NumeralRun {
    fn add(&mut self, c: char, kind: NumeralKind) {
        if self.len == 0 {
            self.starts_with_ideographic_zero = c == '〇';
        }
        self.len += 1;
        match kind {
            NumeralKind::Chinese => self.chinese = true,
            NumeralKind::Financial => self.financial = true,
            NumeralKind::Zero => self.zero = true,
            NumeralKind::Ascii => {}
        }
    }

    /// - 5 or more numerals with any non-ASCII one: a spelled-out number (一三八零零一三八零零零),
    ///   all converted;
    /// - 2 to 4 without 一..九: financial numerals and 〇/零 converted (壹叁 -> 13, 1零 -> 10),
    ///   while "二〇二四", "一九九八" and words like 登陆, 零食, 队伍 (a lone numeral) are left
    ///   alone;
    /// - a lone 〇, which is only ever a digit.
    fn conversion(&self) -> Option<Conversion> {
        let disguised = self.financial || self.zero;
        if self.len >= 5 && (self.chinese || disguised) {
            Some(Conversion::All)
        } else if ((2..=4).contains(&self.len) && !self.chinese && disguised)
            || (self.len == 1 && self.starts_with_ideographic_zero)
        {
            Some(Conversion::Disguised)
        } else {
            None
        }
    }

    /// Converting hides digits (OBFUSCATED_DIGITS) when it takes financial numerals or a long run
    /// of Chinese ones; 〇 and 零 are ordinary ways of writing zero.
    fn is_obfuscation(&self) -> bool {
        self.financial || (self.chinese && self.conversion() == Some(Conversion::All))
    }
}

/// Pass 2: rewrites the numeral runs `NumeralRun::conversion` picks. Conversion keeps every
/// numeral a numeral, so runs are the same on a second pass: idempotent.
fn numerals_to_digits(src: &str, dst: &mut String, flags: &mut u32) -> bool {
    let mut rewriter = Rewriter::new(src, dst);
    let mut chars = src.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let Some((_, kind)) = numeral(c) else {
            continue;
        };
        let mut run = NumeralRun::default();
        run.add(c, kind);
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = chars.peek() {
            let Some((_, kind)) = numeral(next) else {
                break;
            };
            run.add(next, kind);
            end = i + next.len_utf8();
            chars.next();
        }
        let Some(conversion) = run.conversion() else {
            continue;
        };
        if run.is_obfuscation() {
            *flags |= flags::OBFUSCATED_DIGITS;
        }
        let numerals = src.get(start..end).unwrap_or_default();
        let out = rewriter.edit_at(start);
        for c in numerals.chars() {
            match numeral(c) {
                Some((digit, kind))
                    if conversion == Conversion::All || kind != NumeralKind::Chinese =>
                {
                    out.extend(char::from_digit(digit, 10));
                }
                _ => out.push(c),
            }
        }
        rewriter.resume_at(end);
    }
    rewriter.finish()
}

// -------------------------------------------------------------------------------------------------
// Pass 3: spaced-out digits
// -------------------------------------------------------------------------------------------------

/// Pass 3: a chain of digit groups of one or two ASCII digits, joined by single spaces, dots or
/// dashes, with 7 or more digits in all ("1 3 8 0 0 1 3 8 0 0 0", "13.80.01.38.000" is not: 000 has
/// three), is written without the separators. Groups are whole numeral runs, and one longer group
/// (a formatted "138 0013 8000", "400-820-8820", a date) disqualifies its whole chain, so ordinary
/// formatting is left alone.
fn join_spaced_digits(src: &str, dst: &mut String, flags: &mut u32) -> bool {
    if src.bytes().filter(u8::is_ascii_digit).count() < 7 {
        return false;
    }
    let mut rewriter = Rewriter::new(src, dst);
    let mut chars = src.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if numeral(c).is_none() {
            continue;
        }
        let (mut groups, mut digits, mut all_short_ascii) = (0, 0, true);
        let (mut group_len, mut group_ascii, mut end) =
            (1, c.is_ascii_digit(), start + c.len_utf8());
        loop {
            while let Some(&(i, next)) = chars.peek() {
                if numeral(next).is_none() {
                    break;
                }
                group_len += 1;
                group_ascii &= next.is_ascii_digit();
                end = i + next.len_utf8();
                chars.next();
            }
            groups += 1;
            digits += group_len;
            all_short_ascii &= group_ascii && group_len <= 2;
            let mut ahead = chars.clone();
            match (ahead.next(), ahead.next()) {
                (Some((_, ' ' | '.' | '-')), Some((i, next))) if numeral(next).is_some() => {
                    chars.next();
                    chars.next();
                    (group_len, group_ascii, end) = (1, next.is_ascii_digit(), i + next.len_utf8());
                }
                _ => break,
            }
        }
        // "http://44.50.60.67:8888" is a host, not a spaced-out number.
        if all_short_ascii
            && groups >= 2
            && digits >= 7
            && !src.get(..start).is_some_and(|s| s.ends_with("://"))
        {
            let chain = src.get(start..end).unwrap_or_default();
            let out = rewriter.edit_at(start);
            out.extend(chain.chars().filter(char::is_ascii_digit));
            rewriter.resume_at(end);
            *flags |= flags::SPACED_OUT;
        }
    }
    rewriter.finish()
}

// -------------------------------------------------------------------------------------------------
// Pass 4: substitutions
// -------------------------------------------------------------------------------------------------

/// First characters that stand for 微 in front of 信.
const WECHAT_FIRST: [&str; 7] = ["微", "威", "薇", "维", "徽", "v", "wei"];
/// Characters put between 微 and 信 to break a keyword match.
const WECHAT_SEPARATORS: [&str; 10] = ["-", ".", "_", "*", "·", "/", "|", "~", "+", "&"];

#[derive(Debug, Clone)]
struct Substitution {
    replacement: &'static str,
    /// The replacement is CJK (微信, 加微信), so pass 1's CJK whitespace rule applies around it.
    replacement_is_cjk: bool,
    flag: u32,
    /// The pattern starts with a Latin letter or digit: it must not continue a word, host or path.
    word_start: bool,
    /// The pattern ends with a Latin letter: it must not run on into a word, host or path.
    word_end: bool,
    after: After,
}

/// What must follow a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    Anything,
    /// A colon or a digit, possibly after one space: "vx" is a token only in "vx:abc", "vx 123".
    ColonOrDigit,
    /// A digit, possibly after ':', spaces or 号: 扣扣 is QQ only when a number follows.
    Number,
}

impl Substitution {
    fn new(pattern: &str, replacement: &'static str, flag: u32, after: After) -> Substitution {
        Substitution {
            replacement,
            replacement_is_cjk: replacement.chars().next().is_some_and(is_cjk),
            flag,
            word_start: pattern
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric()),
            word_end: pattern
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphabetic()),
            after,
        }
    }

    /// The context conditions of the rule hold for the match `start..end` of `text`.
    fn applies(&self, text: &str, start: usize, end: usize) -> bool {
        let before = text.get(..start).and_then(|s| s.chars().next_back());
        let rest = text.get(end..).unwrap_or_default();
        let after = rest.chars().next();
        if self.word_start && before.is_some_and(|c| is_host_char(c) || matches!(c, '/' | '@')) {
            return false;
        }
        if self.word_end
            && after.is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '.' | '/' | '@' | '_'))
        {
            return false;
        }
        // A host going on after a hyphen (`weixin-jf.cc`): a link, not a spelling of 微信.
        if self.word_end
            && after == Some('-')
            && rest
                .chars()
                .take_while(|&c| is_host_char(c))
                .any(|c| c == '.')
        {
            return false;
        }
        match self.after {
            After::Anything => true,
            After::ColonOrDigit => {
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                rest.starts_with(|c: char| c == ':' || c.is_ascii_digit())
            }
            After::Number => rest
                .trim_start_matches([' ', ':', '号'])
                .starts_with(|c: char| c.is_ascii_digit()),
        }
    }
}

/// The substitution table, pattern by pattern. Patterns are in canonical form (lowercase, no
/// whitespace between CJK characters, single spaces elsewhere):
///
/// - 微信: the first character replaced by a look-alike or homophone (威 薇 维 徽, Latin v,
///   "wei"), or a separator put in (微-信, 微.信, v 信, 微 * 信); "weixin"; "vx" as a token before
///   a colon or a number ("vx:abc123", "vx 123456").
/// - 加微信: 加 or + before any of those, or before 薇 / v / vx alone ("加薇:", "+v", "加vx").
/// - qq: 扣扣 and 企鹅 followed by a number (optionally after ':', spaces or 号).
///
/// Latin spellings only match as whole words ("tv信号", "加vip" and "mp.weixin.qq.com" are left
/// alone).
fn substitution_table() -> Vec<(String, Substitution)> {
    let mut wechat: Vec<String> = vec!["weixin".to_owned()];
    for first in WECHAT_FIRST {
        if first != "微" {
            wechat.push(format!("{first}信"));
        }
        if first.is_ascii() {
            wechat.push(format!("{first} 信"));
        }
        for separator in WECHAT_SEPARATORS {
            for (left, right) in [("", ""), (" ", ""), ("", " "), (" ", " ")] {
                wechat.push(format!("{first}{left}{separator}{right}信"));
            }
        }
    }
    let mut table: Vec<(String, Substitution)> = Vec::new();
    let mut push = |pattern: String, replacement, flag, after| {
        if !table.iter().any(|(p, _)| *p == pattern) {
            let rule = Substitution::new(&pattern, replacement, flag, after);
            table.push((pattern, rule));
        }
    };
    for word in &wechat {
        push(
            word.clone(),
            "微信",
            flags::OBFUSCATED_WECHAT,
            After::Anything,
        );
    }
    push(
        "vx".to_owned(),
        "微信",
        flags::OBFUSCATED_WECHAT,
        After::ColonOrDigit,
    );
    let add_tails = wechat
        .iter()
        .map(String::as_str)
        .chain(["薇", "v", "vx", "微信"]);
    for tail in add_tails {
        let flag = if tail == "微信" {
            0
        } else {
            flags::OBFUSCATED_WECHAT
        };
        if tail != "微信" {
            push(format!("加{tail}"), "加微信", flag, After::Anything);
        }
        if tail.is_ascii() {
            push(format!("加 {tail}"), "加微信", flag, After::Anything);
        }
        push(format!("+{tail}"), "加微信", flag, After::Anything);
    }
    for qq in ["扣扣", "企鹅"] {
        push(qq.to_owned(), "qq", flags::OBFUSCATED_QQ, After::Number);
    }
    table
}

// -------------------------------------------------------------------------------------------------
// Signature, opt-out notice, URLs, phones
// -------------------------------------------------------------------------------------------------

/// Longest signature accepted inside 【】, in characters. Platforms register 2–12 (RULES.md); policy
/// judges the registered name, so extraction is more lenient and lets policy see a bad one.
const MAX_SIGNATURE_CHARS: usize = 20;

/// Moves a 【signature】 at the start (preferred) or end of `out.text` into `out.signature` and trims
/// the rest. Only 【】 (U+3010/3011) delimit a signature: it is the form the MIIT rules and every
/// Chinese carrier use, and NFKC folds ［］ to [], which is ordinary text (links, "[图片]"); a sender
/// writing [招商银行] has no signature as far as policy is concerned.
fn extract_signature(out: &mut NormalizedText, spare: &mut String) {
    let text = out.text.as_str();
    let at_start = text
        .strip_prefix('【')
        .and_then(|rest| rest.split_once('】'))
        .filter(|(inner, _)| is_signature(inner))
        .map(|(inner, rest)| (inner.trim(), text.len() - rest.len()));
    let at_end = || {
        text.strip_suffix('】')
            .and_then(|head| head.rsplit_once('【'))
            .filter(|(_, inner)| is_signature(inner))
            .map(|(body, inner)| (inner.trim(), body.len()))
    };
    let mut buffer = out
        .signature
        .take()
        .unwrap_or_else(|| std::mem::take(spare));
    buffer.clear();
    out.signature_at_end = false;
    if let Some((inner, body_start)) = at_start {
        buffer.push_str(inner);
        out.text.drain(..body_start);
        out.signature = Some(buffer);
    } else if let Some((inner, body_end)) = at_end() {
        buffer.push_str(inner);
        out.text.truncate(body_end);
        out.signature = Some(buffer);
        out.signature_at_end = true;
    } else {
        *spare = buffer;
    }
    let kept = out.text.trim_end().len();
    out.text.truncate(kept);
    let leading = out.text.len() - out.text.trim_start().len();
    out.text.drain(..leading);
}

fn is_signature(inner: &str) -> bool {
    let inner = inner.trim();
    !inner.is_empty()
        && inner.chars().count() <= MAX_SIGNATURE_CHARS
        && !inner.contains(['【', '】'])
}

/// Opt-out notices seen in real traffic, on lowercase canonical text:
/// - keyword, then the verb: 回T退订, 回TD退订, 回复TD退订, 回复"TD"退订, 回N退订, 回0000退订,
///   回复TD取消, 回复TD即可退订, 回复QX退订, and 回复退订;
/// - the verb, then the keyword: 退订回T, 退订回TD, 退订回N, 退订请回复TD, 退订回复TD, 退订请回N,
///   拒收请回复R, 拒收回R, 取消订阅回复TD;
/// - the wish, then the reply: 如不想再收到此类信息请回复TD, 如不需要此类短信，请回复T, 不再接收请回N;
/// - English: reply STOP, txt STOP, text STOP, send STOP.
///
/// Quotes, brackets, colons and spaces are tolerated around the keyword; a Latin keyword must end
/// the word (退订回T ok, 退订回TV not).
fn optout_pattern() -> String {
    let quote = r#"[\s"'“”‘’「」『』〈〉《》\[\]【】()<>:,]*"#;
    // qx: 取消 ("cancel"), as some shops word it (退订回复QX).
    let keyword = "(?:tddx|td|qx|t|n|r|0000|stop|退订)";
    let verb = "(?:退订|退定|退|拒收|取消)";
    let refuse = "(?:退订|退定|拒收|取消|屏蔽)";
    let reply = "(?:回复?|复|回覆|发送|发)";
    // "Not wanting more", then a reply keyword: the keyword alone makes it an opt-out ("如不需要，
    // 回复1办理" is not one: 1 is no opt-out keyword). Only verbs of replying: a bare 发 ("不再发T恤")
    // is no reply.
    let unwanted = "(?:不想|不愿意?|不需要?|不再|无需)再?(?:收到|接收|接到)?\
                    (?:此类|该类|这类|类似|相关|以上)?(?:信息|短信|消息|推送|通知)?";
    [
        format!("回[复覆]?(?:短信)?{quote}{keyword}{quote}(?:即可|即)?{verb}"),
        format!("回复{quote}退订"),
        format!(
            "{refuse}(?:推广)?(?:短信|信息|讯息|订阅)?(?:请您?)?{reply}{quote}{keyword}{quote}(?:[^a-z0-9]|$)"
        ),
        format!(
            "{unwanted}[,，。]?(?:请您?)?(?:回复?|回覆|发送){quote}{keyword}{quote}(?:[^a-z0-9]|$)"
        ),
        format!("(?:reply|txt|text|send){quote}(?:stop|unsubscribe)(?:[^a-z]|$)"),
    ]
    .join("|")
}

/// Characters a URL may contain (RFC 3986, lowercase); CJK text ends a URL.
const URL_CHAR: &str = r"[a-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]";

/// `b` is one of [`URL_CHAR`].
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}
/// TLDs on which a bare "xx.tld/path" is taken for a URL. Besides the common ones, the cheap
/// generic and free country TLDs that phishing links use (`ccb-hy.cyou`, `10086-jf.icu`,
/// `dwz.mk/x`): a link nobody recognised is a fraud message without its link, to the rules and the
/// model alike. Checked after the match (`bare_host_end`), not spelt into the regex: a long
/// alternation there slowed every message with a dot.
const BARE_TLDS: [&str; 54] = [
    "com", "net", "org", "info", "top", "xyz", "vip", "cn", "cc", "co", "me", "io", "ly", "gl",
    "online", "cloud", "store", "site", "shop", "club", "work", "cyou", "link", "live", "life",
    "wang", "asia", "tech", "buzz", "icu", "fun", "ink", "ltd", "biz", "pro", "tk", "ml", "ga",
    "cf", "gq", "mk", "hk", "help", "app", "sbs", "cfd", "bond", "rest", "pw", "xin", "fit", "lol",
    "mobi", "tv",
];

/// Top-level domains that phishing registers on because they are cheap and lightly policed: those
/// of Spamhaus' lists of the most abused TLDs (and Interisle's phishing studies, which rank .shop and
/// .store among them) and of the phishing links Chinese subscribers are
/// warned about (`etc-renzheng.top`, `10086-jf.icu`, `ccb-hy.cyou`). A bank, a carrier or a shop
/// links to its own .com/.cn domain or a shortener. A clue, not proof: small shops use .vip and
/// .club too, so the rule that reads it is weak alone.
const ABUSED_TLDS: [&str; 27] = [
    "top", "xyz", "vip", "cc", "icu", "cyou", "club", "work", "buzz", "fun", "site", "online",
    "wang", "ink", "ltd", "tk", "ml", "ga", "cf", "gq", "sbs", "cfd", "bond", "rest", "pw", "shop",
    "store",
];

/// `host` (lowercase, as `url_host` gives it) ends in one of [`ABUSED_TLDS`].
fn on_abused_tld(host: &str) -> bool {
    host.rsplit('.')
        .next()
        .is_some_and(|tld| host.len() > tld.len() && ABUSED_TLDS.contains(&tld))
}

/// Where a bare host's URL ends: after its last label (not the first) that is one of
/// [`BARE_TLDS`]; None if there is none. `shop.xyz/p` is whole; `getzed.co.uk/x` ends after `co`,
/// as it did when the list was part of the regex (the trained model's features depend on it).
fn bare_host_end(host: &str) -> Option<usize> {
    let mut end = None;
    let mut at = 0;
    for (i, label) in host.split('.').enumerate() {
        at += label.len();
        if i > 0 && BARE_TLDS.contains(&label) {
            end = Some(at);
        }
        at += 1;
    }
    end
}

/// http(s)://..., www.host.tld, or a bare host (`bare_host_end` then checks its TLD against
/// [`BARE_TLDS`]), each with an optional port and path.
fn url_pattern() -> String {
    let label = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
    let tail = format!("(?::[0-9]{{1,5}})?(?:[/?#]{URL_CHAR}*)?");
    [
        format!("https?://{URL_CHAR}+"),
        format!(r"www\.(?:{label}\.)+[a-z]{{2,}}{tail}"),
        format!(r"(?:{label}\.)+[a-z]{{2,}}{tail}"),
    ]
    .join("|")
}

/// Shortener hosts built in; configuration adds more (`Normalizer::new`).
const BUILTIN_SHORTENERS: [&str; 18] = [
    "t.cn",
    "dwz.cn",
    "url.cn",
    "suo.im",
    "bit.ly",
    "tinyurl.com",
    "goo.gl",
    "is.gd",
    "3.cn",
    "u.nu",
    "w.url.cn",
    "sina.lt",
    "tb.cn",
    "m.tb.cn",
    "j.mp",
    "ow.ly",
    "reurl.cc",
    "kks.me",
];

/// A configured shortener as a bare lowercase host, or None if it is empty.
fn shortener_host(configured: &str) -> Option<String> {
    let lower = configured.trim().to_ascii_lowercase();
    let host = url_host(&lower);
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then(|| host.to_owned())
}

fn is_host_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// Sentence punctuation glued to the end of a URL ("见t.cn/abc." or "(t.cn/abc)") is not part of it.
fn trim_url_punctuation(url: &str) -> &str {
    let mut url = url;
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
        let trimmed = match trimmed.strip_suffix(')') {
            Some(inner) if trimmed.matches('(').count() < trimmed.matches(')').count() => inner,
            _ => trimmed,
        };
        let trimmed = match trimmed.strip_suffix(']') {
            Some(inner) if trimmed.matches('[').count() < trimmed.matches(']').count() => inner,
            _ => trimmed,
        };
        if trimmed.len() == url.len() {
            return url;
        }
        url = trimmed;
    }
}

/// The host part of a URL: after the scheme, before the port, path, query or fragment.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', ':', '?', '#']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or_default().trim_end_matches('.')
}

/// Contact numbers in `text`, digits only, in order of appearance, without repeats, outside URLs:
/// - mobiles `1[3-9]` + 9 digits, also with dashes or a 86/0086 prefix ("+86 138...",
///   "138-0013-8000");
/// - landlines `0` + 2-3 digit area code + 7-8 digits, with or without a dash after the area code;
/// - 400/800 + 7 digits, dashes anywhere;
/// - 95xxx service numbers of 5-6 digits, unless they follow 码/code (a 6-digit verification code
///   starting with 95 is not a bank's number).
///
/// A number is a maximal run of digits and single dashes; a run that is none of these as a whole
/// (two numbers joined by a dash) is tried group by group. A longer digit run never contains a
/// number.
fn extract_phones(
    text: &str,
    url_spans: &[(usize, usize)],
    phones: &mut Vec<String>,
    spares: &mut Vec<String>,
) {
    let bytes = text.as_bytes();
    let mut found = 0;
    let mut next_span = 0;
    // The shortest number has 5 digits (95555).
    let mut i = if bytes.iter().filter(|b| b.is_ascii_digit()).count() < 5 {
        bytes.len()
    } else {
        0
    };
    while i < bytes.len() {
        while url_spans.get(next_span).is_some_and(|&(_, end)| end <= i) {
            next_span += 1;
        }
        let inside_url = url_spans.get(next_span).filter(|&&(start, _)| i >= start);
        if let Some(&(_, end)) = inside_url {
            i = end;
            continue;
        }
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            let skipped = bytes
                .get(i..)
                .and_then(|rest| rest.iter().position(u8::is_ascii_digit));
            i = skipped.map_or(bytes.len(), |n| i + n.max(1));
            continue;
        }
        let start = i;
        while i < bytes.len() {
            match (bytes.get(i), bytes.get(i + 1)) {
                (Some(b), _) if b.is_ascii_digit() => i += 1,
                (Some(b'-'), Some(b)) if b.is_ascii_digit() => i += 1,
                _ => break,
            }
        }
        let mut token = bytes.get(start..i).unwrap_or_default();
        let after_code_word = text.get(..start).is_some_and(follows_code_word);
        // A number printed in groups with spaces (`137 0000 4521`, `0755-2180 0966`) is one number
        // when the groups together make one; otherwise each group stands alone, as before.
        if contact_number(token, after_code_word).is_none()
            && bytes.get(i) == Some(&b' ')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
        {
            let mut end = i;
            while let (Some(b), next) = (bytes.get(end), bytes.get(end + 1)) {
                match b {
                    b'0'..=b'9' => end += 1,
                    b'-' | b' ' if next.is_some_and(u8::is_ascii_digit) => end += 1,
                    _ => break,
                }
            }
            let grouped = bytes.get(start..end).unwrap_or_default();
            if contact_number(grouped, after_code_word).is_some() {
                token = grouped;
                i = end;
            }
        }
        let mut record = |digits: &[u8]| {
            if !phones.iter().take(found).any(|p| p.as_bytes() == digits) {
                fill_slot(phones, found, digits, spares);
                found += 1;
            }
        };
        let groups = token.split(|&b| b == b'-').count();
        match contact_number(token, after_code_word) {
            Some((digits, number)) => record(digits.get(number).unwrap_or_default()),
            None if groups > 1 => {
                for group in token.split(|&b| b == b'-') {
                    if let Some((digits, number)) = contact_number(group, false) {
                        record(digits.get(number).unwrap_or_default());
                    }
                }
            }
            None => {}
        }
    }
    truncate_slots(phones, found, spares);
}

/// `text` (what precedes a number) ends with 码/code, ignoring a colon, spaces and 是/为.
fn follows_code_word(text: &str) -> bool {
    let text = text.trim_end_matches([' ', ':', '是', '为']);
    text.ends_with('码') || text.ends_with("code")
}

/// The contact number a token of digits and single dashes is: its digits and the range of them that
/// is the number (a 86/0086 prefix is left out).
fn contact_number(token: &[u8], after_code_word: bool) -> Option<([u8; 16], Range<usize>)> {
    let mut digits = [0u8; 16];
    let mut len = 0;
    for &b in token.iter().filter(|b| b.is_ascii_digit()) {
        *digits.get_mut(len)? = b;
        len += 1;
    }
    let d = digits.get(..len)?;
    let separator = |b: &u8| matches!(b, b'-' | b' ');
    let groups = token.split(separator).count();
    let first_group = token.split(separator).next().map_or(0, <[u8]>::len);
    let is_mobile = |m: &[u8]| {
        m.len() == 11
            && m.first() == Some(&b'1')
            && m.get(1).is_some_and(|b| (b'3'..=b'9').contains(b))
    };
    let mobile_prefix = [&b""[..], b"86", b"0086"]
        .into_iter()
        .find(|prefix| d.strip_prefix(*prefix).is_some_and(is_mobile))
        .map(<[u8]>::len);
    let toll_free = len == 10 && (d.starts_with(b"400") || d.starts_with(b"800"));
    let area_code_then_number =
        (3..=4).contains(&first_group) && (7..=8).contains(&(len - first_group));
    let landline = d.first() == Some(&b'0')
        && (10..=12).contains(&len)
        && (groups == 1 || area_code_then_number);
    let service =
        groups == 1 && std::str::from_utf8(d).is_ok_and(is_service_number) && !after_code_word;
    match mobile_prefix {
        Some(prefix) => Some((digits, prefix..len)),
        None if toll_free || landline || service => Some((digits, 0..len)),
        None => None,
    }
}

// -------------------------------------------------------------------------------------------------
// Buffers
// -------------------------------------------------------------------------------------------------

/// Writes `value` (ASCII) into slot `index` of `slots` (at most one past the end), reusing the
/// String already there or a spare one.
fn fill_slot(slots: &mut Vec<String>, index: usize, value: &[u8], spares: &mut Vec<String>) {
    let chars = value.iter().map(|&b| char::from(b));
    match slots.get_mut(index) {
        Some(slot) => {
            slot.clear();
            slot.extend(chars);
        }
        None => {
            let mut slot = spares.pop().unwrap_or_default();
            slot.clear();
            slot.extend(chars);
            slots.push(slot);
        }
    }
}

/// Spare Strings kept per thread for `urls` and `phones`; more are dropped, to bound memory.
const MAX_SPARE_STRINGS: usize = 16;

/// Shortens `slots` to `len`, keeping the Strings cut off as spares.
fn truncate_slots(slots: &mut Vec<String>, len: usize, spares: &mut Vec<String>) {
    while slots.len() > len {
        match slots.pop() {
            Some(slot) if spares.len() < MAX_SPARE_STRINGS => spares.push(slot),
            _ => {}
        }
    }
}

/// Bytes of the character starting at `at` (1 if `at` is past the end, to guarantee progress).
fn char_len_at(text: &str, at: usize) -> usize {
    text.get(at..)
        .and_then(|s| s.chars().next())
        .map_or(1, char::len_utf8)
}

/// Copy-on-write rewriting of `src` into `dst`: untouched text is copied only once a first edit
/// happens, so a pass that changes nothing costs one scan and no copy.
struct Rewriter<'a> {
    src: &'a str,
    dst: &'a mut String,
    /// `src` is copied into `dst` up to here.
    copied: usize,
    active: bool,
}

impl<'a> Rewriter<'a> {
    fn new(src: &'a str, dst: &'a mut String) -> Self {
        Rewriter {
            src,
            dst,
            copied: 0,
            active: false,
        }
    }

    /// Copies `src` up to `at` (a char boundary at or after the last edit) and hands out the output
    /// for the edit; call `resume_at` with the end of the replaced text afterwards.
    fn edit_at(&mut self, at: usize) -> &mut String {
        if !self.active {
            self.dst.clear();
            self.active = true;
        }
        debug_assert!(at >= self.copied && self.src.is_char_boundary(at));
        self.dst
            .push_str(self.src.get(self.copied..at).unwrap_or_default());
        self.copied = at;
        self.dst
    }

    fn resume_at(&mut self, at: usize) {
        self.copied = at;
    }

    /// Copies the rest; true when `dst` holds the rewritten text (false: `src` is unchanged).
    fn finish(self) -> bool {
        if self.active {
            self.dst
                .push_str(self.src.get(self.copied..).unwrap_or_default());
        }
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::flags::*;
    use super::*;
    use proptest::prelude::*;

    /// Built once: compiling the tables per call would dominate the property tests.
    static NORMALIZER: std::sync::LazyLock<Normalizer> =
        std::sync::LazyLock::new(Normalizer::default);

    fn normalize(raw: &str) -> NormalizedText {
        let mut out = NormalizedText::default();
        NORMALIZER.normalize_into(raw, &mut out);
        out
    }

    fn canonical(raw: &str) -> String {
        let mut out = String::new();
        NORMALIZER.canonicalize_into(raw, &mut out);
        out
    }

    #[test]
    fn a_way_to_reach_someone_is_a_link_a_number_a_messenger_id_an_app_or_a_card() {
        let offers = |raw: &str| normalize(raw).offers_contact();
        for yes in [
            "详询13912345678",
            "致电0755-86013388",
            "登录 ccb-hy.cyou/a 解冻",
            "登录 rb.gy/0qYbgQ 解冻",
            "点击 weixin-jf.cc 申请解封",
            "看 www.cwl.gov.cn.check-lottery.top/x",
            "加微信:kf8899",
            "添加客服薇:dy88520kf 领取",
            "请加客服qq 3168 4427 80 核对",
            "联系理赔专员 微 信 : b x - t b 6 6 办理",
            "添加 kszb-hr 企业微信报名",
            "请下载 ecny-touzi.apk 注册",
            "转入账户6222021234567890123",
            "转入 6222 0212 3456 7890",
            "详询客户经理 136****7092",
            "请致电 0755-xxxx-3201 关闭",
            "请联系官方客服qq 2380****97",
            "添加客服v:jd_miandan 办理",
            "加q:3316****88",
            "请于今日致电 +852 5609 2281 与办案警官联络",
            "详询 +63-917-555-0134",
            "缴费群 q裙 7729013388",
            // The recipient's own account, masked, reads the same: the gate then does not apply.
            "您的qq号(29****16)已冻结，请通过qq安全中心app解冻",
        ] {
            assert!(offers(yes), "{yes}");
        }
        for no in [
            "如有疑问请致电95566",
            "你的微信支付账户修改了支付密码",
            "顺丰不会要求您添加微信或提供验证码",
            "详情请访问www.cwl.gov.cn",
            "详见 https://www.chinatax.gov.cn/chinatax/n810341",
            "登录 etax.guangdong.gov.cn/x 申报",
            "咨询96110，下载国家反诈中心app",
            "2025/04/02 到期，金额1,040元/月",
            "您的快件sf1409236718045在运输中破损",
            "拨打 +86 95588 咨询",
            "c++ 课程 3 期",
            "您尾号1234的卡于12月5日消费**元",
            "订单xx20251205已发货",
        ] {
            assert!(!offers(no), "{no}");
        }
        // The link survives normalization: `weixin` inside a host is not a spelling of 微信.
        assert_eq!(normalize("点击 weixin-jf.cc 解封").urls, ["weixin-jf.cc"]);
        assert!(normalize("加weixin-kf8899").text.contains("微信"));
    }

    #[test]
    fn bank_verification_code_in_circled_digits() {
        let n = normalize("【招商银行】您的验证码是①②③④⑤⑥，5分钟内有效");
        assert_eq!(n.text, "您的验证码是123456,5分钟内有效");
        assert_eq!(n.signature.as_deref(), Some("招商银行"));
        assert!(!n.signature_at_end && !n.stray_brackets && !n.optout_notice);
        assert_eq!(n.flags, OBFUSCATED_DIGITS);
        assert!(n.phones.is_empty() && n.urls.is_empty());
        assert_eq!(n.segments.count, 1);
    }

    #[test]
    fn spaced_homophone_wechat_with_fullwidth_id() {
        let n = normalize("加 薇 信：ABC１２３ 领取福利");
        assert_eq!(n.text, "加微信:abc123 领取福利");
        // 加 薇: CJK spacing too (微 信 alone only counts as the WeChat spelling).
        assert_eq!(n.flags, FULLWIDTH | OBFUSCATED_WECHAT | CJK_SPACING);
        assert_eq!(n.signature, None);
    }

    #[test]
    fn whitespace_between_cjk_is_dropped_and_noted() {
        let n = normalize("春装到店啦   春暖花开");
        assert_eq!(n.text, "春装到店啦春暖花开");
        assert_eq!(n.flags, CJK_SPACING);
        assert_eq!(normalize("春装到店啦, 春暖花开").flags, 0);
        assert_eq!(normalize("code 1234 ok").flags, 0);
    }

    #[test]
    fn fullwidth_v_wechat() {
        let n = normalize("Ｖ信：abc123 送彩金");
        assert_eq!(n.text, "微信:abc123 送彩金");
        assert_eq!(n.flags, FULLWIDTH | OBFUSCATED_WECHAT);
    }

    #[test]
    fn every_wechat_spelling_becomes_weixin() {
        for raw in [
            "微 信",
            "微-信",
            "V信",
            "v信",
            "威信",
            "薇信",
            "维信",
            "徽信",
            "wei信",
            "WeiXin",
            "微 - 信",
            "v 信",
            "微\u{200b}信",
        ] {
            assert_eq!(canonical(&format!("{raw}:abc123")), "微信:abc123", "{raw}");
            let flags = normalize(raw).flags;
            assert_ne!(flags & (OBFUSCATED_WECHAT | ZERO_WIDTH), 0, "{raw}");
        }
        assert_eq!(normalize("微信").flags, 0);
    }

    #[test]
    fn vx_only_as_a_token_before_a_colon_or_number() {
        assert_eq!(canonical("VX:abc123"), "微信:abc123");
        assert_eq!(canonical("vx 13800138000"), "微信 13800138000");
        assert_eq!(canonical("找我vx123456"), "找我微信123456");
        assert_eq!(canonical("vxworks is an rtos"), "vxworks is an rtos");
        assert_eq!(canonical("ivx:1"), "ivx:1");
        assert_eq!(canonical("vx 好"), "vx 好");
    }

    #[test]
    fn add_wechat_spellings() {
        for raw in [
            "加薇:abc",
            "加v:abc",
            "+v:abc",
            "加vx:abc",
            "+V信:abc",
            "加 v:abc",
            "加威信:abc",
        ] {
            assert_eq!(canonical(raw), "加微信:abc", "{raw}");
            assert_eq!(normalize(raw).flags, OBFUSCATED_WECHAT, "{raw}");
        }
        assert_eq!(canonical("加VX abc"), "加微信 abc");
        assert_eq!(normalize("+微信:abc").flags, 0);
        assert_eq!(canonical("加薇信领红包"), "加微信领红包");
        assert_eq!(canonical("速加 薇 信"), "速加微信");
        assert_eq!(canonical("欢迎加vip会员"), "欢迎加vip会员");
        assert_eq!(canonical("看tv信号"), "看tv信号");
    }

    #[test]
    fn replacement_absorbs_spaces_next_to_cjk() {
        assert_eq!(canonical("请加 vx:abc"), "请加微信:abc");
        assert_eq!(canonical("联系 v信 客服"), "联系微信客服");
    }

    #[test]
    fn qq_spellings_only_before_a_number() {
        let n = normalize("扣扣：123456789 企鹅号 987654321");
        assert_eq!(n.text, "qq:123456789 qq号 987654321");
        assert_eq!(n.flags, OBFUSCATED_QQ);
        assert_eq!(canonical("企鹅是一种鸟"), "企鹅是一种鸟");
    }

    #[test]
    fn zero_width_inside_unsubscribe_keyword() {
        let n = normalize("回T退\u{200b}订");
        assert_eq!(n.text, "回t退订");
        assert_eq!(n.flags, ZERO_WIDTH);
        assert!(n.optout_notice);
        assert_eq!(canonical("\u{feff}退\u{00ad}订\u{2060}"), "退订");
    }

    #[test]
    fn emoji_joiners_and_variation_selectors_are_not_obfuscation() {
        let n = normalize("好消息❤\u{fe0f}👨\u{200d}👩");
        assert_eq!(n.text, "好消息❤👨👩");
        assert_eq!(n.flags, 0);
    }

    #[test]
    fn optout_notices() {
        for notice in [
            "回T退订",
            "回TD退订",
            "退订回T",
            "退订回TD",
            "退订回N",
            "回复TD退订",
            "拒收请回复R",
            "拒收回R",
            "回N退订",
            "回0000退订",
            "退订请回复TD",
            "回复T退订",
            "退订回复TD",
            "回复\"TD\"退订",
            "回复“TD”退订",
            "回复TD取消",
            "Reply STOP to opt out",
            "txt STOP",
            "如不需要请回复退订",
            "回复 TD 退订",
            "退订请回N",
            "回复【TD】退订",
            "ＴＤ退订回ＴＤ",
            "退订回T。",
            // Every opt-out the port-traffic generator writes (training/gen/common.py OPTOUTS).
            "回T退",
            "退订请回复T",
            "拒收请回R",
            "退订回复T",
            "如不想再收到此类信息请回复TD",
            "回复0000退订",
            "如不需要此类短信，请回复T",
            "不再接收请回N",
            // Wordings of real shops and banks beyond the generator's.
            "取消订阅回复TD",
            "回复TD即可退订",
            "回复T即退订",
            "退订回复QX",
            "回复QX退订",
            // Hong Kong and Macau wordings, in traditional script.
            "取消訂閱回覆R",
            "取消推廣訊息請回覆 STOP",
            "退訂回T",
        ] {
            assert!(
                normalize(&format!("【某店】新品上市,{notice}")).optout_notice,
                "{notice}"
            );
        }
        for text in [
            "退订回TV",
            "你回来了",
            "回复验证码",
            "我想退订单",
            "stopwatch",
            "如不需要，回复1办理",
            "不想错过？回复查询余额",
            "我们不再发T恤了",
            "取消订阅",
        ] {
            assert!(!normalize(text).optout_notice, "{text}");
        }
    }

    #[test]
    fn traditional_script_reads_as_simplified_and_is_flagged() {
        let n =
            normalize("【百佳超級市場】本週貸款優惠，驗證碼 4821，詳情請致電 95588。取消訂閱回覆R");
        assert_eq!(n.signature.as_deref(), Some("百佳超级市场"));
        assert!(
            n.text.starts_with("本周贷款优惠,验证码 4821,详情请致电"),
            "{}",
            n.text
        );
        assert!(n.optout_notice && n.flags & flags::TRADITIONAL != 0);
        // The NFKC path too (㎡ needs NFKC), and whitespace between CJK characters is still seen.
        let n = normalize("澳門 賭場 50㎡");
        assert_eq!(n.text, "澳门赌场 50m2");
        assert_eq!(n.flags, flags::TRADITIONAL | flags::CJK_SPACING);
        // Simplified text is untouched and not flagged; the formal numerals still read as digits.
        let n = normalize("覆盖全城，乾坤在握");
        assert_eq!((n.text.as_str(), n.flags), ("覆盖全城,乾坤在握", 0));
        assert!(
            normalize("請致電壹參捌零零壹參捌零零零")
                .text
                .contains("13800138000")
        );
    }

    #[test]
    fn signature_at_start_with_optout_at_end() {
        let n = normalize("【京东】您的订单已发货,退订回T");
        assert_eq!(n.signature.as_deref(), Some("京东"));
        assert_eq!(n.text, "您的订单已发货,退订回t");
        assert!(n.optout_notice && !n.signature_at_end);
    }

    #[test]
    fn signature_at_end() {
        let n = normalize("您的外卖已送达,拒收请回复R【美团】");
        assert_eq!(n.signature.as_deref(), Some("美团"));
        assert!(n.signature_at_end && n.optout_notice && !n.stray_brackets);
        assert_eq!(n.text, "您的外卖已送达,拒收请回复r");
    }

    #[test]
    fn start_signature_wins_and_a_second_bracket_is_stray() {
        let n = normalize("【京东】限时秒杀【家电专场】全场5折【美团】");
        assert_eq!(n.signature.as_deref(), Some("京东"));
        assert_eq!(n.text, "限时秒杀【家电专场】全场5折【美团】");
        assert!(n.stray_brackets && !n.signature_at_end);
    }

    #[test]
    fn bracket_in_the_middle_only_is_stray() {
        let n = normalize("限时秒杀【家电专场】全场5折");
        assert_eq!(n.signature, None);
        assert!(n.stray_brackets);
    }

    #[test]
    fn signature_limits_and_spacing() {
        let n = normalize("  【 Acme Bank 】 hello ");
        assert_eq!(n.signature.as_deref(), Some("acme bank"));
        assert_eq!(n.text, "hello");
        let long = format!("【{}】正文", "长".repeat(21));
        assert_eq!(normalize(&long).signature, None);
        assert!(normalize("【】正文").stray_brackets);
        assert_eq!(normalize("[招商银行]您好").signature, None);
        let only = normalize("【招商银行】");
        assert_eq!(
            (only.signature.as_deref(), only.text.as_str()),
            (Some("招商银行"), "")
        );
    }

    #[test]
    fn signature_buffer_is_reused_across_messages() {
        let normalizer = Normalizer::default();
        let mut out = NormalizedText::default();
        normalizer.normalize_into("【京东】a", &mut out);
        normalizer.normalize_into("no signature", &mut out);
        assert_eq!(out.signature, None);
        normalizer.normalize_into("b【美团】", &mut out);
        assert_eq!(out.signature.as_deref(), Some("美团"));
        assert_eq!(out.text, "b");
    }

    #[test]
    fn shortened_url_without_scheme() {
        let n = normalize("点击 t.cn/A6x7Yz 领取");
        assert_eq!(n.text, "点击 t.cn/a6x7yz 领取");
        assert_eq!(n.urls, ["t.cn/a6x7yz"]);
        assert_eq!(n.shortened_urls, 1);
    }

    #[test]
    fn url_forms() {
        let n = normalize("www.example.com");
        assert_eq!(
            (n.urls.as_slice(), n.shortened_urls),
            (&["www.example.com".to_owned()][..], 0)
        );
        let n = normalize("详情HTTPS://Bit.ly/3xYz?a=1,戳 http://w.url.cn/s/Ab9. 或 shop.xyz/p/1)");
        assert_eq!(
            n.urls,
            [
                "https://bit.ly/3xyz?a=1",
                "http://w.url.cn/s/ab9",
                "shop.xyz/p/1"
            ]
        );
        assert_eq!(n.shortened_urls, 2);
        let n = normalize("mail me@example.com, v1.5 xx.comedy 3.14");
        assert!(n.urls.is_empty(), "{:?}", n.urls);
        let n = normalize("看 mp.weixin.qq.com/s/x 和 weixin.qq.com");
        assert_eq!(n.urls, ["mp.weixin.qq.com/s/x", "weixin.qq.com"]);
    }

    #[test]
    fn phishing_links_on_cheap_tlds_and_bare_ip_hosts() {
        let n =
            normalize("点击链接 bocom-kf.work 兑换,或 ccb-hy.cyou、10086-jf.icu、dwz.mk/kshy2v");
        assert_eq!(
            n.urls,
            [
                "bocom-kf.work",
                "ccb-hy.cyou",
                "10086-jf.icu",
                "dwz.mk/kshy2v"
            ]
        );
        // Newer generic TLDs too: .help, .app, .sbs, .bond (`appleid-cn.help`).
        let n =
            normalize("请立即登录 appleid-cn.help 解锁,下载:ht-yx.app,或 kf-ccb.sbs/x、jd.bond");
        assert_eq!(
            n.urls,
            ["appleid-cn.help", "ht-yx.app", "kf-ccb.sbs/x", "jd.bond"]
        );
        assert_eq!(n.abused_tld_urls, 2);
        // Eight digits in two-digit groups would be a spaced-out number, but not after a scheme.
        let n = normalize("点击链接 http://44.50.60.67:8888 兑换");
        assert_eq!(n.urls, ["http://44.50.60.67:8888"]);
        assert_eq!(n.flags & SPACED_OUT, 0);
        let n = normalize("reply to getzed.co.uk/x now");
        assert_eq!(n.urls, ["getzed.co"]);
        // Words that end like a TLD are not hosts.
        let n = normalize("let's go to work. it was fun, at the club");
        assert!(n.urls.is_empty(), "{:?}", n.urls);
    }

    #[test]
    fn known_shorteners_are_links_on_any_tld() {
        // .im, .gd, .nu and .mp are no bare TLDs of ours, but these hosts are shorteners.
        let n = normalize("理赔请点击 suo.im/kaLM5q 填写，或 is.gd/oroLb1、u.nu/O1NWjQ、j.mp/x1");
        assert_eq!(
            n.urls,
            ["suo.im/kalm5q", "is.gd/orolb1", "u.nu/o1nwjq", "j.mp/x1"]
        );
        assert_eq!(n.shortened_urls, 4);
        // Other hosts on those TLDs still need a scheme or www.
        assert!(normalize("见 shop.im/x").urls.is_empty());
    }

    #[test]
    fn links_on_tlds_phishing_favours_are_counted() {
        let n = normalize(
            "请登录 etc-renzheng.top/a 或 https://www.10086-jf.icu/x 认证，详见 https://m.ctrip.com/x",
        );
        assert_eq!(n.urls.len(), 3);
        assert_eq!(n.abused_tld_urls, 2);
        // A shortener on such a TLD is a shortener; brands' own domains are not counted.
        let n = normalize("点 reurl.cc/ab 或 12306.cn 或 www.cmbchina.com/x");
        assert_eq!((n.shortened_urls, n.abused_tld_urls), (1, 0));
        // The TLD is the last label: top.example.com is on .com.
        assert_eq!(normalize("http://top.example.com/x").abused_tld_urls, 0);
        assert_eq!(normalize("会员专享 shop.vip/x").abused_tld_urls, 1);
        assert_eq!(normalize("no link at all").abused_tld_urls, 0);
        // A reused `NormalizedText` forgets the previous message's links (the hot path reuses it).
        let normalizer = Normalizer::default();
        let mut out = NormalizedText::default();
        normalizer.normalize_into("认证 etc-renzheng.top/a 或 bit.ly/x", &mut out);
        assert_eq!((out.shortened_urls, out.abused_tld_urls), (1, 1));
        normalizer.normalize_into("您的验证码是1234", &mut out);
        assert_eq!((out.shortened_urls, out.abused_tld_urls), (0, 0));
        assert!(out.urls.is_empty());
    }

    #[test]
    fn configured_shorteners() {
        let normalizer = Normalizer::new(&["HTTPS://S.Example.CN/".to_owned(), String::new()]);
        let mut out = NormalizedText::default();
        normalizer.normalize_into("go s.example.cn/q and example.cn/q", &mut out);
        assert_eq!(out.urls, ["s.example.cn/q", "example.cn/q"]);
        assert_eq!(out.shortened_urls, 1);
    }

    #[test]
    fn spaced_out_mobile() {
        let n = normalize("客服 1 3 8 0 0 1 3 8 0 0 0");
        assert_eq!(n.text, "客服 13800138000");
        assert_eq!(n.flags, SPACED_OUT);
        assert_eq!(n.phones, ["13800138000"]);
        assert_eq!(canonical("13.80.01.38.00.0"), "13800138000");
        assert_eq!(canonical("1-3-8-0-0-1"), "1-3-8-0-0-1");
        assert_eq!(canonical("138 0013 8000"), "138 0013 8000");
        assert_eq!(canonical("2024-01-05 10.10.10.1"), "2024-01-05 10.10.10.1");
    }

    #[test]
    fn spelled_out_and_financial_numerals() {
        let n = normalize("加我幺三八零零一三八零零零");
        assert_eq!(n.text, "加我13800138000");
        assert_eq!(n.flags, OBFUSCATED_DIGITS);
        assert_eq!(n.phones, ["13800138000"]);
        assert_eq!(canonical("壹叁捌〇〇壹叁捌〇〇〇"), "13800138000");
        assert_eq!(canonical("价格1零元,转账壹贰"), "价格10元,转账12");
        assert_eq!(
            canonical("二〇二四年一月,请登陆查看零食"),
            "二〇二四年一月,请登陆查看零食"
        );
        assert_eq!(canonical("第〇号"), "第0号");
        assert_eq!(normalize("一二三").flags, 0);
    }

    #[test]
    fn phones() {
        let n = normalize(
            "热线400-820-8820,或致电95555,手机+86 139-1234-5678,座机0755-86013388,010 12345678",
        );
        assert_eq!(
            n.phones,
            [
                "4008208820",
                "95555",
                "13912345678",
                "075586013388",
                "01012345678"
            ]
        );
        // Groups separated by spaces are one number when together they make one.
        let n = normalize("联系王警官:137 0000 4521,或拨打 0755-2180 0966 撤销,400 820 8820");
        assert_eq!(n.phones, ["13700004521", "075521800966", "4008208820"]);
        // Otherwise each group is read alone, as before: no number out of a date or an amount.
        let n = normalize("订单 2023 1208 5566 已发货,致电95588 1号键,金额 1 3800 元");
        assert_eq!(n.phones, ["95588"]);
        let n = normalize("座机01012345678、8613800138000、13800138000、123456789012345");
        assert_eq!(n.phones, ["01012345678", "13800138000"]);
        let n = normalize("验证码:958372;13800138000-13900139000;t.cn/13812345678");
        assert_eq!(n.phones, ["13800138000", "13900139000"]);
    }

    #[test]
    fn whitespace_and_controls() {
        assert_eq!(
            canonical("  你 好\t\n世 界  hello   world\u{3000}再见\r\n"),
            "你好世界 hello world 再见"
        );
        assert_eq!(canonical("a\u{0}b"), "a b");
        assert_eq!(canonical("Ｈｅｌｌｏ，ＷＯＲＬＤ！"), "hello,world!");
    }

    #[test]
    fn segments_come_from_the_raw_text() {
        let n = normalize(&"a".repeat(161));
        assert_eq!(n.segments, segments::count(&"a".repeat(161)));
        assert_eq!(n.segments.count, 2);
    }

    #[test]
    fn nfkc_fast_path_characters_are_nfkc_stable_starters() {
        let stable = (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| is_nfkc_stable_starter(c));
        for c in stable {
            let single = c.to_string();
            assert_eq!(
                single.nfkc().collect::<String>(),
                single,
                "{:X}",
                u32::from(c)
            );
            assert_eq!(
                unicode_normalization::char::canonical_combining_class(c),
                0,
                "{:X}",
                u32::from(c)
            );
            assert!(
                !unicode_normalization::char::is_combining_mark(c),
                "{:X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn substitution_table_has_no_duplicates_and_stays_small() {
        let table = substitution_table();
        let patterns: HashSet<&str> = table.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(patterns.len(), table.len());
        assert!(table.len() < 2000, "{}", table.len());
    }

    #[test]
    fn pass_one_sights_every_substitution_pattern() {
        let mut out = String::new();
        for (pattern, _) in substitution_table() {
            for context in ["", "中", "a ", "1"] {
                let text = format!("{context}{pattern}");
                let seen = fold_characters(&text, &mut out, &mut 0);
                assert_eq!(out, text, "patterns are canonical");
                assert!(seen.substitution, "{text}");
            }
        }
        assert!(
            !fold_characters("您的短信验证码已发送,扣款成功,企业vip", &mut out, &mut 0)
                .substitution
        );
    }

    #[test]
    fn pass_one_sights_spaced_digit_chains() {
        let mut out = String::new();
        for (text, expected) in [
            ("1 3 8 0 0 1 3", true),
            ("13.80.01.3", true),
            ("1 3 8 0 0 1", false),
            ("138 0013 8000", false),
            ("共计58.00元,2024-01-05", false),
        ] {
            assert_eq!(
                fold_characters(text, &mut out, &mut 0).spaced_digits,
                expected,
                "{text}"
            );
        }
    }

    fn obfuscations(pieces_in: std::ops::Range<usize>) -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "微", "信", "薇", "威", "维", "徽", "加", "扣", "企", "鹅", "号", "退", "订", "回",
            "复", "中", "文", "一", "二", "三", "八", "九", "零", "〇", "幺", "壹", "叁", "陆",
            "v", "V", "x", "w", "e", "i", "n", "q", "t", "d", "r", "Ｖ", "Ａ", "ｘ", "０", "１",
            "９", "0", "1", "3", "8", "①", "⑳", "⑴", "⓪", "❶", "\u{200b}", "\u{200d}", "\u{fe0f}",
            "\u{ad}", "【", "】", " ", "  ", "\u{3000}", "\t", "-", ".", ":", "：", "+", "/", "@",
            "，", "t.cn/", "http://", "www.", ".com", "\u{301}", "e\u{301}", "가", "\u{1161}",
            "ᄀ", "\u{3164}", "¨", "ﾞ", "カ", "\u{3099}", "😀", "㊀", "ⅴ", "\u{85}",
        ]);
        prop::collection::vec(pieces, pieces_in).prop_map(|p| p.concat())
    }

    fn obfuscation_alphabet() -> impl Strategy<Value = String> {
        obfuscations(0..40)
    }

    fn digit_alphabet() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "0", "1", "3", "8", "13", "138", " ", "  ", ".", "-", "一", "三", "八", "〇", "零",
            "幺", "壹", "捌", "①", "⑫", "１", "中", "a", "v", "x", "vx", "扣", "扣扣", "信", "加",
            ":",
        ]);
        prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn canonicalize_is_idempotent_on_digits(raw in digit_alphabet()) {
            let once = canonical(&raw);
            prop_assert_eq!(canonical(&once), once.clone(), "raw {:?}", raw);
        }

        #[test]
        fn canonicalize_is_idempotent_on_obfuscations(raw in obfuscation_alphabet()) {
            let once = canonical(&raw);
            prop_assert_eq!(canonical(&once), once.clone(), "raw {:?}", raw);
        }

        #[test]
        fn canonicalize_is_idempotent_on_any_string(raw in any::<String>()) {
            let once = canonical(&raw);
            prop_assert_eq!(canonical(&once), once.clone(), "raw {:?}", raw);
        }

        /// The sender registry canonicalizes registered signatures on their own and compares them
        /// with the extracted one, so both must agree.
        #[test]
        fn extracted_signature_is_the_canonical_signature(
            signature in obfuscations(1..8).prop_filter("no brackets", |s| !s.contains(['【', '】'])),
            body in obfuscation_alphabet(),
        ) {
            let expected = canonical(&signature);
            let n = normalize(&format!("【{signature}】{body}"));
            if (1..=MAX_SIGNATURE_CHARS).contains(&expected.chars().count()) {
                prop_assert_eq!(n.signature, Some(expected));
            }
        }

        #[test]
        fn normalize_never_panics(raw in any::<String>(), mixed in obfuscation_alphabet()) {
            for raw in [raw, mixed] {
                let n = normalize(&raw);
                prop_assert!(n.text.trim() == n.text);
                prop_assert!(n.phones.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())));
                prop_assert!(usize::from(n.shortened_urls) <= n.urls.len());
                prop_assert_eq!(n.segments, segments::count(&raw));
            }
        }
    }
}
