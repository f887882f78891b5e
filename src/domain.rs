//! The nouns of the domain (ARCHITECTURE.md §1): parsed newtypes with their invariants, no I/O.
//!
//! `Msisdn::parse` is the only way to build a subscriber number, so every layer after ingress can
//! rely on it being a mainland mobile number.

use std::fmt;

/// A mainland Chinese mobile number `1[3-9]xxxxxxxxx`, stored as its 11 digits in a `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(u64);

impl Msisdn {
    /// Accepts the 11 digits with an optional `+86`, `86` or `0086` prefix (spaces and dashes between
    /// digit groups are tolerated, as gateways send them).
    pub fn parse(raw: &str) -> Option<Msisdn> {
        let mut digits = [0u8; 16];
        let mut n = 0usize;
        let mut chars = raw.trim().chars().peekable();
        if chars.peek() == Some(&'+') {
            chars.next();
        }
        for c in chars {
            match c {
                '0'..='9' => {
                    if n == digits.len() {
                        return None;
                    }
                    digits[n] = c as u8 - b'0';
                    n += 1;
                }
                ' ' | '-' => {}
                _ => return None,
            }
        }
        let national = match n {
            11 => &digits[..11],
            13 if digits[..2] == [8, 6] => &digits[2..13],
            15 if digits[..4] == [0, 0, 8, 6] => &digits[4..15],
            _ => return None,
        };
        if national[0] != 1 || national[1] < 3 {
            return None;
        }
        let value = national
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(*d));
        Some(Msisdn(value))
    }

    /// Rebuilds a number from its stored `u64` form, checking the same invariants as `parse`.
    pub fn from_u64(v: u64) -> Option<Msisdn> {
        (13_000_000_000..20_000_000_000)
            .contains(&v)
            .then_some(Msisdn(v))
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The number-segment key: the first seven digits.
    pub fn prefix7(self) -> u32 {
        (self.0 / 10_000) as u32
    }

    /// `138****1234`, for logs (RULES.md: msisdns are masked in logs).
    pub fn masked(self) -> String {
        format!("{:03}****{:04}", self.0 / 100_000_000, self.0 % 10_000)
    }

    /// What a request gave as a msisdn, masked for any text that may reach a log (PIPL): a
    /// malformed number is usually still a subscriber's number with a typo, so it is masked too.
    /// A number that parses is masked as `masked` does; anything else keeps its first 3 and last 4
    /// characters only when at least 4 are hidden, else nothing.
    pub fn mask(raw: &str) -> String {
        if let Some(m) = Msisdn::parse(raw) {
            return m.masked();
        }
        let chars: Vec<char> = raw.trim().chars().collect();
        if chars.len() < 11 {
            return "****".to_owned();
        }
        let mut out: String = chars.iter().take(3).collect();
        out.push_str("****");
        out.extend(chars.iter().skip(chars.len() - 4));
        out
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:011}", self.0)
    }
}

/// What a message is, for policy (API.md `Category`). "Commercial" is configuration (RULES.md).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Verification,
    Service,
    Marketing,
    LoanMarketing,
    Collection,
    FraudSuspect,
    Illegal,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::Verification,
        Category::Service,
        Category::Marketing,
        Category::LoanMarketing,
        Category::Collection,
        Category::FraudSuspect,
        Category::Illegal,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Verification => "VERIFICATION",
            Category::Service => "SERVICE",
            Category::Marketing => "MARKETING",
            Category::LoanMarketing => "LOAN_MARKETING",
            Category::Collection => "COLLECTION",
            Category::FraudSuspect => "FRAUD_SUSPECT",
            Category::Illegal => "ILLEGAL",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

/// A small set of categories as a bit mask (consent scopes, a port's registered categories).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CategorySet(u8);

impl CategorySet {
    pub const EMPTY: CategorySet = CategorySet(0);

    pub fn of(categories: &[Category]) -> CategorySet {
        CategorySet(categories.iter().fold(0, |m, c| m | 1 << c.index()))
    }

    pub fn from_bits(bits: u8) -> CategorySet {
        CategorySet(bits & 0x7f)
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn contains(self, c: Category) -> bool {
        self.0 & (1 << c.index()) != 0
    }

    pub fn insert(&mut self, c: Category) {
        self.0 |= 1 << c.index();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// The registered enterprise behind one or more ports; consents and opt-outs are keyed by it.
pub type EnterpriseId = std::sync::Arc<str>;

/// What an opt-out refuses (API.md `OptOutScope`): commercial traffic, or an enterprise's debt
/// collection. Verification and service messages can never be opted out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptOutScope {
    Commercial,
    Collection,
}

/// A fixed-seed 64-bit hash, stable across runs and processes (it keys maps and is persisted by the
/// registries issue), so no per-process random seed.
pub fn stable_hash64(bytes: &[u8]) -> u64 {
    // FNV-1a folded through a final avalanche (splitmix64): fast on short keys, no allocation.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(h)
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn msisdn_prefixes_parse_to_one_number() {
        let plain = Msisdn::parse("13800138000").unwrap();
        for raw in [
            "+8613800138000",
            "8613800138000",
            "008613800138000",
            "138 0013 8000",
            "138-0013-8000",
        ] {
            assert_eq!(Msisdn::parse(raw), Some(plain), "{raw}");
        }
        assert_eq!(plain.to_string(), "13800138000");
        assert_eq!(plain.masked(), "138****8000");
        assert_eq!(plain.prefix7(), 1_380_013);
    }

    #[test]
    fn mask_hides_the_middle_of_anything_given_as_a_msisdn() {
        assert_eq!(Msisdn::mask("13800138000"), "138****8000");
        assert_eq!(Msisdn::mask("+86 138-0013-8000"), "138****8000");
        // Malformed: a typo of a real number is masked as much.
        assert_eq!(Msisdn::mask("138001380001"), "138****0001");
        assert_eq!(Msisdn::mask("1380013800x"), "138****800x");
        assert_eq!(Msisdn::mask(" 1380013800 "), "****");
        assert_eq!(Msisdn::mask(""), "****");
        assert_eq!(Msisdn::mask("一二三四五六七八九十百"), "一二三****八九十百");
    }

    #[test]
    fn msisdn_rejects_non_mobile_numbers() {
        for raw in [
            "",
            "12800138000",
            "1380013800",
            "138001380001",
            "02012345678",
            "+44 7700 900123",
            "1380013800x",
            "10690001234",
        ] {
            assert_eq!(Msisdn::parse(raw), None, "{raw}");
        }
    }

    proptest! {
        #[test]
        fn any_mobile_number_parses_with_every_prefix(n in 3u64..10, rest in 0u64..1_000_000_000) {
            let s = format!("1{n}{rest:09}");
            let m = Msisdn::parse(&s).unwrap();
            prop_assert_eq!(Msisdn::parse(&format!("+86{s}")), Some(m));
            prop_assert_eq!(Msisdn::parse(&format!("0086{s}")), Some(m));
            prop_assert_eq!(m.to_string(), s);
        }

        #[test]
        fn msisdn_parse_never_panics(s in ".{0,40}") {
            let _ = Msisdn::parse(&s);
        }

        #[test]
        fn a_masked_msisdn_never_contains_the_number(n in 3u64..10, rest in 0u64..1_000_000_000, junk in "[0-9x+ -]{0,3}") {
            let s = format!("1{n}{rest:09}");
            for given in [s.clone(), format!("{s}{junk}"), format!("{junk}{s}")] {
                let masked = Msisdn::mask(&given);
                prop_assert!(!masked.contains(&s), "{} -> {}", given, masked);
            }
        }
    }
}
