//! Campaign fingerprints. A spam campaign goes out from many ports with small variations (another
//! amount, link, date, brand name, a word swapped); complaints about any variant should count
//! against the campaign. A 128-bit SimHash over character 3-gram shingles of the feature text
//! (digit runs and URLs already abstracted there, the 【signature】 not part of the body) changes in
//! few bits for such a variant (a fifth or so on a short SMS) and in about half its bits for an
//! unrelated text; 128 bits rather than 64 keep the two apart on texts of 50 characters.
//!
//! `CampaignIndex` is the live side: complaints attach to the fingerprint of the message they are
//! about, near fingerprints count as one campaign, and a message whose fingerprint is within
//! `max_distance` bits of a campaign with at least `min_complaints` complaints gets the symbol
//! FUZZY_COMPLAINED. Counts are rebuilt at start from the stored complaints, which keep the
//! fingerprint.

use std::sync::Mutex;

use arc_swap::ArcSwap;

use super::features::{self, FeatureScratch};
use crate::pipeline::normalize::NormalizedText;

/// The SimHash of `norm`'s feature text. 0 for a text too short to have a shingle.
pub fn simhash(norm: &NormalizedText, scratch: &mut FeatureScratch) -> u128 {
    features::feature_text(norm, &mut scratch.chars);
    simhash_chars(&scratch.chars)
}

/// SimHash over the 3-gram shingles of `chars`; spaces and punctuation are dropped first, so
/// re-spacing or re-punctuating a text does not move it, and digit marks collapse into one.
pub fn simhash_chars(chars: &[char]) -> u128 {
    // SimHash sets bit b when more shingles have b set than clear. The per-bit counts are kept
    // bit-sliced: `planes[i]` holds bit i of all 128 counters, so adding a shingle's hash is a
    // ripple-carry add of one u128 (two planes touched on average) instead of 128 counter updates.
    let mut planes = [0u128; 32];
    let mut window = [' '; 3];
    let mut seen = 0usize;
    let mut shingles: u64 = 0;
    for &c in chars {
        // Digit runs of any length are one mark here: a campaign's amounts and codes vary in length.
        if !in_shingles(c) || (c == features::DIGITS_MARK && window[2] == c && seen > 0) {
            continue;
        }
        window = [window[1], window[2], c];
        seen += 1;
        if seen < 3 {
            continue;
        }
        let mut carry = shingle_hash(&window);
        shingles += 1;
        for plane in planes.iter_mut() {
            if carry == 0 {
                break;
            }
            let sum = *plane ^ carry;
            carry &= *plane;
            *plane = sum;
        }
    }
    if shingles == 0 {
        return 0;
    }
    // Bit b is set when its count n exceeds half the shingles: 2n > s, i.e. n > ⌊s/2⌋. All 128
    // counts are compared with ⌊s/2⌋ at once, plane by plane from the most significant: `greater`
    // collects the bits already decided larger, `equal` those still tied. No count has more planes
    // than `shingles` has bits.
    let half = shingles / 2;
    let used = (64 - shingles.leading_zeros()) as usize;
    let mut greater = 0u128;
    let mut equal = u128::MAX;
    for (i, &plane) in planes[..used].iter().enumerate().rev() {
        if (half >> i) & 1 == 1 {
            equal &= plane;
        } else {
            greater |= equal & plane;
            equal &= !plane;
        }
    }
    greater
}

/// `char::is_alphanumeric`, which decides what a shingle is made of, with the characters of
/// nearly every SMS (ASCII and the CJK Unified Ideographs block, all letters) answered without a
/// walk of the Unicode tables.
#[inline]
fn in_shingles(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        ('\u{4E00}'..='\u{9FFF}').contains(&c) || c.is_alphanumeric()
    }
}

fn shingle_hash(w: &[char; 3]) -> u128 {
    let mut h: u64 = 0x2545_F491_4F6C_DD1D;
    for &c in w {
        h = (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01B3);
    }
    (u128::from(fmix64(h)) << 64) | u128::from(fmix64(h ^ 0x9E37_79B9_7F4A_7C15))
}

/// murmur3's finalizer: every input bit moves every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

pub fn distance(a: u128, b: u128) -> u32 {
    (a ^ b).count_ones()
}

/// `[fingerprint]` in portcullis.toml.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FingerprintSettings {
    /// Fingerprints at most this many bits (of 128) apart are one campaign. Unrelated texts differ
    /// in 64 ± 6 bits; variants of one short campaign text in 15-30.
    pub max_distance: u32,
    /// Complaints against a campaign before later matches are marked.
    pub min_complaints: u32,
    /// Added to the spam logit of a match (FUZZY_COMPLAINED).
    pub spam: f64,
    /// Complaints older than this no longer count (days).
    pub window_days: u32,
}

impl Default for FingerprintSettings {
    fn default() -> Self {
        FingerprintSettings {
            max_distance: 36,
            min_complaints: 3,
            spam: 3.0,
            window_days: 30,
        }
    }
}

/// One campaign: the fingerprint of its first complained message and its complaint count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Campaign {
    pub fingerprint: u128,
    pub complaints: u32,
    /// When the last complaint arrived (unix seconds), for the window.
    pub last_s: i64,
}

/// Complained campaigns. Screening reads an immutable list of the *hot* ones (past the complaint
/// count) without a lock; complaints, which are rare, take the mutex and publish a new list.
#[derive(Debug, Default)]
pub struct CampaignIndex {
    campaigns: Mutex<Vec<Campaign>>,
    hot: ArcSwap<Vec<u128>>,
}

impl CampaignIndex {
    /// Counts a complaint against the campaign of `fingerprint` (a new one when none is near) and
    /// returns the campaign's count.
    pub fn complain(&self, fingerprint: u128, at_s: i64, settings: &FingerprintSettings) -> u32 {
        if fingerprint == 0 {
            return 0;
        }
        let mut campaigns = self.campaigns.lock().unwrap_or_else(|p| p.into_inner());
        let window = i64::from(settings.window_days) * 86_400;
        campaigns.retain(|c| at_s - c.last_s <= window);
        let count = match campaigns
            .iter_mut()
            .filter(|c| distance(c.fingerprint, fingerprint) <= settings.max_distance)
            .min_by_key(|c| distance(c.fingerprint, fingerprint))
        {
            Some(c) => {
                c.complaints += 1;
                c.last_s = c.last_s.max(at_s);
                c.complaints
            }
            None => {
                campaigns.push(Campaign {
                    fingerprint,
                    complaints: 1,
                    last_s: at_s,
                });
                1
            }
        };
        self.publish(&campaigns, settings);
        count
    }

    fn publish(&self, campaigns: &[Campaign], settings: &FingerprintSettings) {
        let hot: Vec<u128> = campaigns
            .iter()
            .filter(|c| c.complaints >= settings.min_complaints)
            .map(|c| c.fingerprint)
            .collect();
        self.hot.store(std::sync::Arc::new(hot));
    }

    /// Re-applies settings (a reload may change min_complaints).
    pub fn reconfigure(&self, settings: &FingerprintSettings) {
        let campaigns = self.campaigns.lock().unwrap_or_else(|p| p.into_inner());
        self.publish(&campaigns, settings);
    }

    /// Whether `fingerprint` belongs to a hot campaign.
    pub fn is_complained(&self, fingerprint: u128, max_distance: u32) -> bool {
        fingerprint != 0
            && self
                .hot
                .load()
                .iter()
                .any(|&h| distance(h, fingerprint) <= max_distance)
    }

    /// Campaigns known (for metrics and tests).
    pub fn campaigns(&self) -> Vec<Campaign> {
        self.campaigns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::normalize::Normalizer;

    fn fp(text: &str) -> u128 {
        let mut n = NormalizedText::default();
        Normalizer::default().normalize_into(text, &mut n);
        simhash(&n, &mut FeatureScratch::default())
    }

    /// SimHash as defined: a ±1 counter per bit, straightforwardly.
    fn simhash_reference(chars: &[char]) -> u128 {
        let mut counts = [0i64; 128];
        let mut window = [' '; 3];
        let mut seen = 0usize;
        for &c in chars {
            if !c.is_alphanumeric() || (c == features::DIGITS_MARK && window[2] == c && seen > 0) {
                continue;
            }
            window = [window[1], window[2], c];
            seen += 1;
            if seen >= 3 {
                let h = shingle_hash(&window);
                for (bit, count) in counts.iter_mut().enumerate() {
                    *count += if (h >> bit) & 1 == 1 { 1 } else { -1 };
                }
            }
        }
        (0..128).fold(
            0,
            |fp, bit| if counts[bit] > 0 { fp | 1 << bit } else { fp },
        )
    }

    #[test]
    fn bit_sliced_counting_equals_the_definition() {
        let base: Vec<char> =
            "【鑫利达】尊敬的客户您已获得最高50000元信用额度日息低至0.02%当天放款abc"
                .chars()
                .collect();
        for len in 0..base.len() {
            assert_eq!(
                simhash_chars(&base[..len]),
                simhash_reference(&base[..len]),
                "{len}"
            );
        }
        // Long enough for many carry planes.
        let long: Vec<char> = (0..5000u32)
            .map(|i| char::from_u32(0x4E00 + (i * 7919) % 2000).unwrap())
            .collect();
        assert_eq!(simhash_chars(&long), simhash_reference(&long));
    }

    #[test]
    fn the_shingle_test_is_is_alphanumeric() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(in_shingles(c), c.is_alphanumeric(), "{:?}", c);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_simhash_is_the_definition(text in "[a-z0-9 ，。!\\u{4E00}-\\u{4E20}\\u{1F600}\\u{00E9}0U]{0,400}") {
            let chars: Vec<char> = text.chars().collect();
            proptest::prop_assert_eq!(simhash_chars(&chars), simhash_reference(&chars));
        }
    }

    #[test]
    fn variants_of_one_campaign_match_and_unrelated_texts_do_not() {
        let max = FingerprintSettings::default().max_distance;
        let campaign = [
            "【鑫利达】尊敬的客户，您已获得最高50000元信用额度，日息低至0.02%，当天放款，点击 http://t.cn/A6x9 立即领取，回T退订",
            "【聚财通】尊敬的用户，您已获得最高80000元信用额度，日息低至0.03%，当天放款，点击 http://dwz.cn/k2P 立即领取，回T退订",
            "尊敬的客户:您已获得最高30000元信用额度,日息低至0.02%,当日放款,点击 http://t.cn/Zz1 马上领取 退订回T",
        ];
        let unrelated = [
            "【顺丰速运】您的快件SF1234567890已到达丰巢柜，取件码582913，请于24小时内取件。",
            "【招商银行】您尾号1234的信用卡本期账单已出，应还金额3,250.00元，还款日12月5日。",
            "【12306】您购买的11月25日G1234次列车，检票口B5，请提前到站候车。",
            "周末一起去爬山吗？天气预报说晴天",
        ];
        let c: Vec<u128> = campaign.iter().map(|t| fp(t)).collect();
        for a in &c {
            for b in &c {
                assert!(
                    distance(*a, *b) <= max,
                    "variants {a:x} {b:x}: {}",
                    distance(*a, *b)
                );
            }
        }
        for t in unrelated {
            let u = fp(t);
            for a in &c {
                assert!(distance(*a, u) > max, "unrelated {t}: {}", distance(*a, u));
            }
        }
    }

    #[test]
    fn complaints_on_variants_count_as_one_campaign() {
        let settings = FingerprintSettings {
            min_complaints: 2,
            ..FingerprintSettings::default()
        };
        let index = CampaignIndex::default();
        let a = fp("恭喜您中奖了，奖金8888元，请添加微信abc123领取，过期作废");
        let b = fp("恭喜您中奖了，奖金6666元，请添加微信xyz999领取，过期作废！");
        assert!(!index.is_complained(b, settings.max_distance));
        assert_eq!(index.complain(a, 1000, &settings), 1);
        assert!(!index.is_complained(b, settings.max_distance));
        assert_eq!(index.complain(b, 1001, &settings), 2);
        assert!(index.is_complained(a, settings.max_distance));
        assert_eq!(index.campaigns().len(), 1);
        // Outside the window the campaign is forgotten.
        let later = 1001 + i64::from(settings.window_days) * 86_400 + 1;
        assert_eq!(
            index.complain(fp("完全无关的一条短信内容，请忽略"), later, &settings),
            1
        );
        assert_eq!(index.campaigns().len(), 1);
    }
}
