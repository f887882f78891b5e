//! The GSM 03.38 default alphabet and its extension table (3GPP TS 23.038 §6.2.1), one septet per
//! octet as SMPP's `short_message` carries it with `data_coding` 0 (SMSCs pack septets on the air
//! interface; ESMEs and gateways do not).

/// The basic table: septet value -> character. 0x1B is the escape to the extension table.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The escape septet.
pub const ESC: u8 = 0x1B;

/// The extension table: (septet after ESC, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// Why septets do not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gsm7Error {
    /// An octet with the high bit set: not a septet.
    NotASeptet { offset: usize, byte: u8 },
    /// ESC as the last septet: the character it begins is missing.
    DanglingEscape { offset: usize },
}

impl std::fmt::Display for Gsm7Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gsm7Error::NotASeptet { offset, byte } => write!(
                f,
                "octet 0x{byte:02X} at offset {offset} is not a GSM 7-bit septet"
            ),
            Gsm7Error::DanglingEscape { offset } => write!(
                f,
                "GSM 7-bit escape at offset {offset} ends the payload without a character"
            ),
        }
    }
}

/// Appends the text of `septets` (one per octet) to `out`.
///
/// An escape followed by a code the extension table does not define shows the basic table's
/// character for that code, as TS 23.038 tells a receiver to; ESC ESC (reserved for a future
/// extension table) shows a space.
pub fn decode_into(septets: &[u8], out: &mut String) -> Result<(), Gsm7Error> {
    let mut i = 0;
    while i < septets.len() {
        let b = septets[i];
        if b >= 0x80 {
            return Err(Gsm7Error::NotASeptet { offset: i, byte: b });
        }
        if b != ESC {
            out.push(BASIC[usize::from(b)]);
            i += 1;
            continue;
        }
        let Some(&code) = septets.get(i + 1) else {
            return Err(Gsm7Error::DanglingEscape { offset: i });
        };
        if code >= 0x80 {
            return Err(Gsm7Error::NotASeptet {
                offset: i + 1,
                byte: code,
            });
        }
        let c = match EXTENSION.iter().find(|(k, _)| *k == code) {
            Some((_, c)) => *c,
            None if code == ESC => ' ',
            None => BASIC[usize::from(code)],
        };
        out.push(c);
        i += 2;
    }
    Ok(())
}

/// The septets of `text` (one per octet), or `None` when a character is in neither table.
pub fn encode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{1B}' {
            return None;
        }
        if let Some(i) = BASIC.iter().position(|&b| b == c) {
            out.push(u8::try_from(i).ok()?);
        } else if let Some((code, _)) = EXTENSION.iter().find(|(_, e)| *e == c) {
            out.extend([ESC, *code]);
        } else {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(septets: &[u8]) -> Result<String, Gsm7Error> {
        let mut s = String::new();
        decode_into(septets, &mut s).map(|()| s)
    }

    #[test]
    fn basic_and_extension_characters() {
        assert_eq!(decode(&[0x00, 0x01, 0x02, 0x5F, 0x60]).unwrap(), "@£$§¿");
        assert_eq!(decode(b"Hello").unwrap(), "Hello");
        assert_eq!(decode(&[ESC, 0x65, b'5']).unwrap(), "€5");
        assert_eq!(decode(&[ESC, 0x28, ESC, 0x29]).unwrap(), "{}");
    }

    #[test]
    fn unknown_escape_falls_back_to_the_basic_character() {
        assert_eq!(decode(&[ESC, b'A']).unwrap(), "A");
        assert_eq!(decode(&[ESC, ESC]).unwrap(), " ");
    }

    #[test]
    fn broken_septets_name_the_offset() {
        assert_eq!(
            decode(b"ab\x80"),
            Err(Gsm7Error::NotASeptet {
                offset: 2,
                byte: 0x80
            })
        );
        assert_eq!(
            decode(&[b'a', ESC]),
            Err(Gsm7Error::DanglingEscape { offset: 1 })
        );
    }

    #[test]
    fn agrees_with_the_segment_counter_on_what_is_gsm() {
        // segments::count treats a text as GSM 7-bit exactly when this encoder can encode it, and
        // charges two septets for the characters that take an escape.
        for cp in 0u32..0x2100 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let s = c.to_string();
            let seg = crate::pipeline::segments::count(&s);
            match encode(&s) {
                Some(septets) => {
                    assert_eq!(
                        seg.encoding,
                        crate::pipeline::segments::Encoding::Gsm7,
                        "{c:?}"
                    );
                    assert_eq!(seg.units as usize, septets.len(), "{c:?}");
                }
                None => assert_eq!(
                    seg.encoding,
                    crate::pipeline::segments::Encoding::Ucs2,
                    "{c:?}"
                ),
            }
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn encode_then_decode_round_trips(
            text in proptest::collection::vec(
                proptest::sample::select(
                    BASIC.iter().copied().filter(|&c| c != '\u{1B}')
                        .chain(EXTENSION.iter().map(|(_, c)| *c)).collect::<Vec<_>>()),
                0..300)
        ) {
            let text: String = text.into_iter().collect();
            let septets = encode(&text).expect("every character is in a table");
            prop_assert_eq!(decode(&septets).unwrap(), text);
        }
    }
}
