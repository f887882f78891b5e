//! Traditional characters read as simplified ones: 貸款 is 贷款, 賭場 is 赌场, 驗證碼 is 验证码.
//!
//! Why: the rules' keywords, the opt-out pattern and the model all learnt simplified Chinese, but
//! Hong Kong and Macau senders write traditional script, and spammers switch to it to walk past
//! simplified keyword lists. One character at a time, from OpenCC's table (Apache-2.0; source,
//! license and what was left out in `config/data/LICENSE-traditional_to_simplified.md`): characters
//! that are also in everyday simplified use (乾, 覆, 於 ...) are not in it, nor the formal numerals
//! 貳 參 陸, which the digit reader knows as they are. Character by character is not OpenCC's
//! phrase-aware conversion, but a filter needs the same canonical text for a message whichever
//! script it came in, not publishable prose.

include!(concat!(env!("OUT_DIR"), "/traditional_pairs.rs"));

/// One bit per ideograph of U+4E00..=U+9FFF that `PAIRS` maps: most characters of a message are
/// in that block and most of them are not traditional, so one bit test answers them.
pub static IDEOGRAPH_BITS: [u64; 328] = {
    let mut bits = [0u64; 328];
    let mut i = 0;
    while i < PAIRS.len() {
        let v = PAIRS[i].0 as u32;
        if v >= 0x4E00 && v <= 0x9FFF {
            let offset = v - 0x4E00;
            bits[(offset / 64) as usize] |= 1 << (offset % 64);
        }
        i += 1;
    }
    bits
};

/// The simplified form of `c` if it is a traditional character of the table, else `c`.
#[inline]
pub fn simplified(c: char) -> char {
    let v = u32::from(c);
    if v < 0x3400 {
        return c;
    }
    if (0x4E00..=0x9FFF).contains(&v) {
        let offset = v - 0x4E00;
        let word = IDEOGRAPH_BITS.get((offset / 64) as usize).copied();
        if word.unwrap_or(0) & (1 << (offset % 64)) == 0 {
            return c;
        }
    }
    PAIRS
        .binary_search_by_key(&c, |&(t, _)| t)
        .map_or(c, |i| PAIRS[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_characters_become_simplified_and_others_stay() {
        let s: String = "貸款驗證碼賭場發票訂閱澳門"
            .chars()
            .map(simplified)
            .collect();
        assert_eq!(s, "贷款验证码赌场发票订阅澳门");
        // Simplified text, ASCII, and characters in simplified use too, are left alone.
        for c in "贷款验证码 abc 123 覆盖 乾坤 于是 【】，。".chars() {
            assert_eq!(simplified(c), c, "{c}");
        }
        // The formal numerals stay for the digit reader.
        for c in ['貳', '參', '陸'] {
            assert_eq!(simplified(c), c);
        }
    }

    #[test]
    fn the_table_is_sorted_maps_every_bit_and_never_maps_to_itself() {
        assert!(PAIRS.len() > 4000);
        assert!(PAIRS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PAIRS.iter().all(|&(t, s)| t != s && simplified(t) == s));
        // Nothing maps to a character the table would map again: one pass is canonical.
        assert!(PAIRS.iter().all(|&(_, s)| simplified(s) == s));
    }
}
