//! How many SMS segments a text needs on the air interface (3GPP TS 23.038 / 23.040).
//!
//! Throttles and quotas count segments, not messages (RULES.md: "throttles that count every segment
//! of a long SMS"), so this must agree with what the SMSC bills. A text travels in the GSM 7-bit
//! default alphabet when every character is in it (extension characters take an escape septet, so
//! two), else in UCS-2. A single SMS carries 160 septets or 70 UTF-16 units; a concatenated one
//! loses room to the UDH and carries 153 septets or 67 units per part.

/// How a text travels on the air interface.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Gsm7,
    Ucs2,
    /// 8-bit text (SMPP data_coding 3, Latin-1): 140 octets, 134 per concatenated part.
    Octet,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// septets (GSM 7-bit, extension characters count two) or UTF-16 code units (UCS-2)
    pub units: u32,
    /// 1 for a single SMS (GSM 160 / UCS-2 70), else ceil(units / 153) or ceil(units / 67)
    pub count: u32,
}

/// Septets in one single-part GSM 7-bit SMS.
const GSM7_SINGLE: u32 = 160;
/// Septets per part of a concatenated GSM 7-bit SMS (160 less the 6-octet UDH, rounded to septets).
const GSM7_PART: u32 = 153;
/// UTF-16 code units in one single-part UCS-2 SMS (140 octets).
const UCS2_SINGLE: u32 = 70;
/// UTF-16 code units per part of a concatenated UCS-2 SMS (134 octets).
const UCS2_PART: u32 = 67;

/// Octets in one single-part 8-bit SMS.
const OCTET_SINGLE: u32 = 140;
/// Octets per part of a concatenated 8-bit SMS (140 less the 6-octet UDH).
const OCTET_PART: u32 = 134;

/// Segments a payload of `units` in `encoding` needs (septets, UTF-16 units or octets): what an
/// SMSC bills for a raw SMPP payload, whatever characters it holds.
pub fn of_units(encoding: Encoding, units: u32) -> Segments {
    let (single, part) = match encoding {
        Encoding::Gsm7 => (GSM7_SINGLE, GSM7_PART),
        Encoding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
        Encoding::Octet => (OCTET_SINGLE, OCTET_PART),
    };
    let count = match units {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(part),
    };
    Segments {
        encoding,
        units,
        count,
    }
}

/// Segments `text` needs. An empty text needs none (GSM 7-bit, 0 units).
///
/// The count is the plain ceiling the contract documents; an encoder that refuses to split an
/// escape pair or a surrogate pair across parts can need one more part in rare edge cases.
pub fn count(text: &str) -> Segments {
    let mut septets: u32 = 0;
    for c in text.chars() {
        match gsm7_septets(c) {
            Some(n) => septets = septets.saturating_add(n),
            None => return ucs2(text),
        }
    }
    of_units(Encoding::Gsm7, septets)
}

/// `text` as UCS-2: every character is one UTF-16 unit, except those outside the BMP (four UTF-8
/// bytes, lead byte 0xF0 or above), which take a surrogate pair.
fn ucs2(text: &str) -> Segments {
    let units = text.chars().count() + text.bytes().filter(|&b| b >= 0xF0).count();
    of_units(Encoding::Ucs2, u32::try_from(units).unwrap_or(u32::MAX))
}

/// Septets `c` takes in the GSM 7-bit default alphabet: 1 in the basic table, 2 in the extension
/// table (escape + code), `None` when the text has to go as UCS-2.
fn gsm7_septets(c: char) -> Option<u32> {
    match c {
        // Extension table: ESC (0x1B) followed by the code.
        '\u{0C}' | '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' => Some(2),
        // The only ASCII printable character in neither table.
        '`' => None,
        '\n' | '\r' | ' '..='~' => Some(1),
        // The basic table's non-ASCII characters (0x1B is the escape, not a character).
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ' | 'Γ'
        | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡' | 'Ä'
        | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(encoding: Encoding, units: u32, count: u32) -> Segments {
        Segments {
            encoding,
            units,
            count,
        }
    }

    #[test]
    fn empty_text_needs_no_segment() {
        assert_eq!(count(""), seg(Encoding::Gsm7, 0, 0));
    }

    #[test]
    fn basic_table_has_exactly_127_characters_plus_escape() {
        let basic = (0u32..0x300)
            .filter_map(char::from_u32)
            .chain("ΔΦΓΛΩΠΨΣΘΞ".chars())
            .filter(|&c| gsm7_septets(c) == Some(1))
            .count();
        assert_eq!(basic, 127);
        let extension = (0u32..0x2100)
            .filter_map(char::from_u32)
            .filter(|&c| gsm7_septets(c) == Some(2))
            .count();
        assert_eq!(extension, 10);
    }

    #[test]
    fn gsm7_single_part_boundary() {
        assert_eq!(count(&"a".repeat(160)), seg(Encoding::Gsm7, 160, 1));
        assert_eq!(count(&"a".repeat(161)), seg(Encoding::Gsm7, 161, 2));
    }

    #[test]
    fn gsm7_concatenated_boundary() {
        assert_eq!(count(&"a".repeat(153 * 2)), seg(Encoding::Gsm7, 306, 2));
        assert_eq!(count(&"a".repeat(153 * 2 + 1)), seg(Encoding::Gsm7, 307, 3));
    }

    #[test]
    fn gsm7_extension_character_counts_two_at_the_boundary() {
        let fits = format!("{}€", "a".repeat(158));
        assert_eq!(count(&fits), seg(Encoding::Gsm7, 160, 1));
        let overflows = format!("{}{{", "a".repeat(159));
        assert_eq!(count(&overflows), seg(Encoding::Gsm7, 161, 2));
    }

    #[test]
    fn gsm7_accented_and_greek_stay_gsm() {
        assert_eq!(count("Çà ΔΩ £5 @home\r\n"), seg(Encoding::Gsm7, 16, 1));
    }

    #[test]
    fn ucs2_single_part_boundary() {
        assert_eq!(count(&"验".repeat(70)), seg(Encoding::Ucs2, 70, 1));
        assert_eq!(count(&"验".repeat(71)), seg(Encoding::Ucs2, 71, 2));
        assert_eq!(count(&"验".repeat(67 * 2)), seg(Encoding::Ucs2, 134, 2));
        assert_eq!(count(&"验".repeat(67 * 2 + 1)), seg(Encoding::Ucs2, 135, 3));
    }

    #[test]
    fn one_non_gsm_character_makes_the_whole_text_ucs2() {
        let text = format!("{}`", "a".repeat(69));
        assert_eq!(count(&text), seg(Encoding::Ucs2, 70, 1));
        let text = format!("{}ç", "a".repeat(70));
        assert_eq!(count(&text), seg(Encoding::Ucs2, 71, 2));
    }

    #[test]
    fn emoji_takes_two_utf16_units() {
        assert_eq!(count("😀"), seg(Encoding::Ucs2, 2, 1));
        let text = format!("{}😀", "验".repeat(68));
        assert_eq!(count(&text), seg(Encoding::Ucs2, 70, 1));
        let text = format!("{}😀", "验".repeat(69));
        assert_eq!(count(&text), seg(Encoding::Ucs2, 71, 2));
    }

    #[test]
    fn typical_chinese_verification_sms_is_one_segment() {
        let s = count("【招商银行】您的验证码是123456，5分钟内有效，请勿泄露。");
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(s.count, 1);
    }

    proptest! {
        #[test]
        fn never_panics_and_non_empty_needs_a_segment(text in any::<String>()) {
            let s = count(&text);
            prop_assert_eq!(s.count == 0, text.is_empty());
            let single = match s.encoding {
                Encoding::Gsm7 => GSM7_SINGLE,
                Encoding::Ucs2 => UCS2_SINGLE,
                Encoding::Octet => OCTET_SINGLE,
            };
            prop_assert_eq!(s.count <= 1, s.units <= single);
        }
    }
}
