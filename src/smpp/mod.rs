//! SMPP `short_message` payloads as a gateway received them from an ESME (API.md "Long SMS",
//! `raw_payload` / `data_coding` / `udhi`): the UDH is split off, the text decoded by its data
//! coding, and the segment count taken from the encoding that was actually sent, since that is what
//! the SMSC bills and what the per-port quotas count.
//!
//! A part of a long message is decoded only once the whole message is there: ESMEs split the
//! encoded bytes, not the characters, so a GSM escape or a UTF-16 surrogate pair can straddle two
//! parts (python smpplib does exactly that).

pub mod gsm7;
pub mod udh;

use crate::pipeline::segments::{self, Encoding, Segments};

pub use udh::ConcatIe;

/// The data codings a message can be screened in (SMPP 3.4 §5.2.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataCoding {
    /// 0: the SMSC default alphabet, GSM 03.38, one septet per octet.
    Gsm7,
    /// 1: IA5 (ASCII).
    Ascii,
    /// 3: ISO-8859-1.
    Latin1,
    /// 8: UCS-2, big-endian; decoded as UTF-16 so emoji in surrogate pairs survive.
    Ucs2,
}

/// Why a payload cannot be screened; the message says which field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("data_coding: {0} is binary data (8-bit), not a text that can be screened")]
    Binary(u32),
    #[error(
        "data_coding: {0} is not supported; send 0 (GSM 7-bit), 1 (IA5), 3 (Latin-1) or 8 (UCS-2)"
    )]
    UnsupportedCoding(u32),
    #[error("raw_payload: {0}")]
    Udh(String),
    #[error("raw_payload: {0}")]
    Undecodable(String),
}

impl PayloadError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            PayloadError::Binary(_) | PayloadError::UnsupportedCoding(_) => "data_coding",
            PayloadError::Udh(_) | PayloadError::Undecodable(_) => "raw_payload",
        }
    }

    /// A stable machine-readable cause.
    pub fn reason(&self) -> &'static str {
        match self {
            PayloadError::Binary(_) => "BINARY_PAYLOAD",
            PayloadError::UnsupportedCoding(_) => "UNSUPPORTED_DATA_CODING",
            PayloadError::Udh(_) => "INVALID_UDH",
            PayloadError::Undecodable(_) => "UNDECODABLE_PAYLOAD",
        }
    }
}

impl DataCoding {
    pub fn from_smpp(data_coding: u32) -> Result<DataCoding, PayloadError> {
        match data_coding {
            0 => Ok(DataCoding::Gsm7),
            1 => Ok(DataCoding::Ascii),
            3 => Ok(DataCoding::Latin1),
            8 => Ok(DataCoding::Ucs2),
            2 | 4 => Err(PayloadError::Binary(data_coding)),
            _ => Err(PayloadError::UnsupportedCoding(data_coding)),
        }
    }

    pub fn as_smpp(self) -> u32 {
        match self {
            DataCoding::Gsm7 => 0,
            DataCoding::Ascii => 1,
            DataCoding::Latin1 => 3,
            DataCoding::Ucs2 => 8,
        }
    }

    /// How many encoding units (septets, octets, UTF-16 units) `body` holds. A trailing odd octet
    /// of UCS-2 (a unit split across two parts of a long message) still travels, so it counts.
    fn units(self, body: &[u8]) -> u32 {
        let n = match self {
            DataCoding::Ucs2 => body.len().div_ceil(2),
            _ => body.len(),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    fn air_encoding(self) -> Encoding {
        match self {
            // IA5 travels as GSM 7-bit on the air interface.
            DataCoding::Gsm7 | DataCoding::Ascii => Encoding::Gsm7,
            DataCoding::Latin1 => Encoding::Octet,
            DataCoding::Ucs2 => Encoding::Ucs2,
        }
    }
}

/// One `short_message` with its header split off; the body is not yet decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payload<'a> {
    pub coding: DataCoding,
    /// From the UDH, when it has a concatenation element.
    pub concat: Option<ConcatIe>,
    /// The user data after the header.
    pub body: &'a [u8],
}

/// Splits the UDH off `raw` (when `udhi`) and checks the data coding.
pub fn split(raw: &[u8], data_coding: u32, udhi: bool) -> Result<Payload<'_>, PayloadError> {
    let coding = DataCoding::from_smpp(data_coding)?;
    let (concat, body) = if udhi {
        let header = udh::parse(raw).map_err(PayloadError::Udh)?;
        (header.concat, raw.get(header.len..).unwrap_or_default())
    } else {
        (None, raw)
    };
    Ok(Payload {
        coding,
        concat,
        body,
    })
}

/// Appends the text `body` holds in `coding` to `out`.
pub fn decode_into(coding: DataCoding, body: &[u8], out: &mut String) -> Result<(), PayloadError> {
    match coding {
        DataCoding::Gsm7 => {
            gsm7::decode_into(body, out).map_err(|e| PayloadError::Undecodable(e.to_string()))
        }
        DataCoding::Ascii => match body.iter().position(|b| !b.is_ascii()) {
            Some(i) => Err(PayloadError::Undecodable(format!(
                "octet 0x{:02X} at offset {i} is not IA5 (ASCII)",
                body[i]
            ))),
            None => {
                out.extend(body.iter().map(|&b| char::from(b)));
                Ok(())
            }
        },
        DataCoding::Latin1 => {
            out.extend(body.iter().map(|&b| char::from(b)));
            Ok(())
        }
        DataCoding::Ucs2 => {
            if body.len() % 2 != 0 {
                return Err(PayloadError::Undecodable(format!(
                    "UCS-2 payload of {} octets is not a whole number of 16-bit units",
                    body.len()
                )));
            }
            let units = body
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            for (i, c) in char::decode_utf16(units).enumerate() {
                match c {
                    Ok(c) => out.push(c),
                    Err(e) => {
                        return Err(PayloadError::Undecodable(format!(
                            "UCS-2 unit 0x{:04X} near offset {} is an unpaired surrogate",
                            e.unpaired_surrogate(),
                            i * 2
                        )));
                    }
                }
            }
            Ok(())
        }
    }
}

/// The text of `body`, with errors replaced by U+FFFD: for evidence of a message that will not be
/// screened (parts of an incomplete long SMS), never for screening.
pub fn decode_lossy(coding: DataCoding, body: &[u8]) -> String {
    let mut out = String::new();
    if decode_into(coding, body, &mut out).is_ok() {
        return out;
    }
    out.clear();
    match coding {
        DataCoding::Ucs2 => {
            let units = body.chunks(2).map(|p| match p {
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0xFFFD,
            });
            out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')));
        }
        DataCoding::Gsm7 => {
            // Within a run of octets below 0x80 the only possible error is an escape at its end,
            // and by then the characters before it are already out.
            for (i, run) in body.split(|&b| b >= 0x80).enumerate() {
                if i > 0 {
                    out.push('\u{FFFD}');
                }
                if gsm7::decode_into(run, &mut out).is_err() {
                    out.push('\u{FFFD}');
                }
            }
        }
        DataCoding::Ascii | DataCoding::Latin1 => out.extend(body.iter().map(|&b| {
            if b.is_ascii() || coding == DataCoding::Latin1 {
                char::from(b)
            } else {
                '\u{FFFD}'
            }
        })),
    }
    out
}

/// The segments a body of this coding takes on the air interface.
pub fn segments(coding: DataCoding, body_len_units: u32) -> Segments {
    segments::of_units(coding.air_encoding(), body_len_units)
}

/// The segments one payload body takes.
pub fn body_segments(coding: DataCoding, body: &[u8]) -> Segments {
    segments(coding, coding.units(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(coding: DataCoding, body: &[u8]) -> Result<String, PayloadError> {
        let mut s = String::new();
        decode_into(coding, body, &mut s).map(|()| s)
    }

    fn ucs2(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn ucs2_with_chinese_and_an_emoji_in_a_surrogate_pair() {
        let text = "【顺丰速运】您的快件已签收😀";
        assert_eq!(decode(DataCoding::Ucs2, &ucs2(text)).unwrap(), text);
    }

    #[test]
    fn broken_ucs2_is_refused_with_the_cause() {
        let err = decode(DataCoding::Ucs2, &[0x4E, 0x2D, 0x00]).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        let err = decode(DataCoding::Ucs2, &[0xD8, 0x3D, 0x00, 0x41]).unwrap_err();
        assert!(err.to_string().contains("unpaired surrogate"), "{err}");
    }

    #[test]
    fn latin1_and_ascii() {
        assert_eq!(decode(DataCoding::Latin1, b"caf\xE9").unwrap(), "café");
        assert_eq!(
            decode(DataCoding::Ascii, b"code 1234").unwrap(),
            "code 1234"
        );
        assert!(decode(DataCoding::Ascii, b"caf\xE9").is_err());
    }

    #[test]
    fn binary_and_unknown_codings_are_refused() {
        assert_eq!(split(b"x", 4, false).unwrap_err(), PayloadError::Binary(4));
        assert!(matches!(
            split(b"x", 5, false).unwrap_err(),
            PayloadError::UnsupportedCoding(5)
        ));
    }

    #[test]
    fn split_reads_the_concatenation_and_leaves_the_body() {
        let mut raw = vec![5, 0x00, 3, 42, 2, 1];
        raw.extend(ucs2("验证码"));
        let p = split(&raw, 8, true).unwrap();
        assert_eq!(
            p.concat,
            Some(ConcatIe {
                reference: 42,
                total: 2,
                seq: 1
            })
        );
        assert_eq!(decode(p.coding, p.body).unwrap(), "验证码");
        // Without udhi the header octets are text.
        assert_eq!(split(&raw, 8, false).unwrap().body.len(), raw.len());
    }

    #[test]
    fn segments_follow_the_coding_sent_not_the_characters() {
        // ASCII text sent as UCS-2 is billed as UCS-2.
        let body = ucs2(&"a".repeat(71));
        let s = body_segments(DataCoding::Ucs2, &body);
        assert_eq!((s.units, s.count), (71, 2));
        let s = body_segments(DataCoding::Gsm7, &[b'a'; 160]);
        assert_eq!((s.units, s.count), (160, 1));
        let s = body_segments(DataCoding::Latin1, &[b'a'; 141]);
        assert_eq!((s.units, s.count), (141, 2));
    }

    #[test]
    fn an_odd_ucs2_octet_is_billed() {
        // Found by fuzz_smpp_payload: a one-octet UCS-2 part (the second half of a unit split
        // across parts) counted 0 units and 0 segments, and 141 octets fit "one" 140-octet segment.
        let s = body_segments(DataCoding::Ucs2, &[0x00]);
        assert_eq!((s.units, s.count), (1, 1));
        let s = body_segments(DataCoding::Ucs2, &[0x4E; 141]);
        assert_eq!((s.units, s.count), (71, 2));
        let s = body_segments(DataCoding::Ucs2, &[0x4E; 140]);
        assert_eq!((s.units, s.count), (70, 1));
    }

    #[test]
    fn lossy_decoding_keeps_what_it_can() {
        assert_eq!(decode_lossy(DataCoding::Gsm7, b"ab\x80cd"), "ab\u{FFFD}cd");
        assert_eq!(
            decode_lossy(DataCoding::Ucs2, &[0x00, 0x41, 0xD8, 0x3D]),
            "A\u{FFFD}"
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics_on_any_payload(
            raw in proptest::collection::vec(any::<u8>(), 0..400),
            data_coding in 0u32..12,
            udhi in any::<bool>(),
        ) {
            if let Ok(p) = split(&raw, data_coding, udhi) {
                let _ = decode(p.coding, p.body);
                let _ = decode_lossy(p.coding, p.body);
                let _ = body_segments(p.coding, p.body);
            }
        }

        #[test]
        fn ucs2_round_trips_any_text(text in any::<String>()) {
            prop_assert_eq!(decode(DataCoding::Ucs2, &ucs2(&text)).unwrap(), text);
        }
    }
}
