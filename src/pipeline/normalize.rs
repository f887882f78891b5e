//! INTERFACE STUB — to be implemented (see the struct docs). The public fields are the contract that
//! classify and policy read; fields may be added.

use super::segments::Segments;

/// Built once per configuration snapshot: every automaton, table and regex normalization needs.
pub struct Normalizer {}

/// The output of normalization, reused across messages (buffers are cleared, not reallocated).
#[derive(Debug, Default, Clone)]
pub struct NormalizedText {
    /// The canonical body: NFKC, full-width folded to half-width, ASCII lowercased, zero-width and
    /// padding characters removed, whitespace between CJK characters removed and other runs collapsed
    /// to one space, obfuscations undone ("微 信"/"V信"/"威信"/"薇信" -> "微信", "加薇"/"加v" -> "加微信",
    /// ①②/〇/壹贰 digits -> ASCII digits). The signature (when extracted) is NOT part of it.
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
    /// Contact numbers found, digits only: mobiles (11 digits), landlines (0xx-xxxxxxxx), 400/800, 95xxx.
    pub phones: Vec<String>,
    /// Bit set of `flags::*`: what normalization had to undo.
    pub flags: u32,
    /// Segments the original text needs on the air interface.
    pub segments: Segments,
}

/// Bits of `NormalizedText::flags`.
pub mod flags {
    pub const ZERO_WIDTH: u32 = 1 << 0;
    pub const FULLWIDTH: u32 = 1 << 1;
    pub const OBFUSCATED_WECHAT: u32 = 1 << 2;
    pub const OBFUSCATED_DIGITS: u32 = 1 << 3;
    pub const SPACED_OUT: u32 = 1 << 4;
    pub const OBFUSCATED_QQ: u32 = 1 << 5;
}

// TEMPORARY minimal implementation until the real module lands.
impl Default for Normalizer {
    fn default() -> Self {
        Normalizer {}
    }
}
impl Normalizer {
    pub fn new(_extra_shorteners: &[String]) -> Normalizer {
        Normalizer {}
    }
    pub fn canonicalize_into(&self, raw: &str, out: &mut String) {
        out.clear();
        out.push_str(&raw.to_lowercase());
    }
    pub fn normalize_into(&self, raw: &str, out: &mut NormalizedText) {
        out.text.clear();
        out.signature = None;
        let mut body = raw;
        if let Some(rest) = raw.strip_prefix('【')
            && let Some((sig, b)) = rest.split_once('】')
        {
            out.signature = Some(sig.to_lowercase());
            body = b;
        }
        out.text.push_str(&body.to_lowercase());
        out.optout_notice = raw.contains("退订");
        out.segments = super::segments::count(raw);
    }
}
