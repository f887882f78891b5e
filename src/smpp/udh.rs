//! The User Data Header at the start of a `short_message` when SMPP's esm_class has UDHI set
//! (3GPP TS 23.040 §9.2.3.24): a length octet, then information elements. Only concatenation is read
//! (IE 0x00 with an 8-bit reference, 0x08 with a 16-bit one); every other element (ports, special
//! SMS indication, national language shifts, ...) is skipped by its length.

/// A concatenation element: which long message this part belongs to, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcatIe {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// A parsed header and where the user data after it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udh {
    pub concat: Option<ConcatIe>,
    /// Octets taken by the header, its length octet included.
    pub len: usize,
}

/// Parses the header at the start of `payload`. The first concatenation element wins.
pub fn parse(payload: &[u8]) -> Result<Udh, String> {
    let Some(&udhl) = payload.first() else {
        return Err("udhi is set but raw_payload is empty".to_owned());
    };
    let len = 1 + usize::from(udhl);
    let Some(mut ies) = payload.get(1..len) else {
        return Err(format!(
            "UDH length {udhl} runs past the {}-octet payload",
            payload.len()
        ));
    };
    let mut concat = None;
    while let [iei, iel, rest @ ..] = ies {
        let Some(data) = rest.get(..usize::from(*iel)) else {
            return Err(format!(
                "UDH element 0x{iei:02X} declares {iel} octets, only {} remain",
                rest.len()
            ));
        };
        let ie = match (*iei, data) {
            (0x00, &[reference, total, seq]) => Some(ConcatIe {
                reference: u16::from(reference),
                total,
                seq,
            }),
            (0x08, &[hi, lo, total, seq]) => Some(ConcatIe {
                reference: u16::from_be_bytes([hi, lo]),
                total,
                seq,
            }),
            (0x00 | 0x08, _) => {
                return Err(format!(
                    "UDH concatenation element 0x{iei:02X} has {iel} octets (expected {})",
                    if *iei == 0 { 3 } else { 4 }
                ));
            }
            _ => None,
        };
        concat = concat.or(ie);
        ies = &rest[usize::from(*iel)..];
    }
    if !ies.is_empty() {
        return Err("UDH ends inside an element header".to_owned());
    }
    Ok(Udh { concat, len })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eight_and_sixteen_bit_references() {
        let u = parse(&[5, 0x00, 3, 0xAB, 3, 2, b'x']).unwrap();
        assert_eq!(
            u,
            Udh {
                concat: Some(ConcatIe {
                    reference: 0xAB,
                    total: 3,
                    seq: 2
                }),
                len: 6
            }
        );
        let u = parse(&[6, 0x08, 4, 0x12, 0x34, 4, 4]).unwrap();
        assert_eq!(u.concat.unwrap().reference, 0x1234);
        assert_eq!(u.len, 7);
    }

    #[test]
    fn other_elements_are_skipped() {
        // application port addressing (0x05, 4 octets), then concatenation
        let u = parse(&[11, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, 0x00, 3, 7, 2, 1]).unwrap();
        assert_eq!(
            u.concat,
            Some(ConcatIe {
                reference: 7,
                total: 2,
                seq: 1
            })
        );
        let u = parse(&[3, 0x24, 1, 0x0D]).unwrap();
        assert_eq!(u.concat, None);
    }

    #[test]
    fn broken_headers_are_refused() {
        assert!(parse(&[]).unwrap_err().contains("empty"));
        assert!(parse(&[9, 0, 3]).unwrap_err().contains("runs past"));
        assert!(
            parse(&[4, 0x05, 4, 1, 2])
                .unwrap_err()
                .contains("declares 4")
        );
        assert!(
            parse(&[4, 0x00, 2, 1, 1])
                .unwrap_err()
                .contains("expected 3")
        );
        assert!(parse(&[1, 0x00]).unwrap_err().contains("inside an element"));
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_inside_the_payload(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(u) = parse(&bytes) {
                prop_assert!(u.len <= bytes.len());
            }
        }
    }
}
