//! SMPP `short_message` payloads as the gRPC and Kafka ingresses take them (`raw_payload`,
//! `data_coding`, `udhi`): splitting off the UDH, decoding each coding, lossy decoding and segment
//! counting never panic; a refusal is an `Err`; what decodes re-encodes to the same text.
//!
//! Input: octet 0 is the data coding (0..=9 covers every supported and refused one), octet 1's low
//! bit is UDHI, the rest is the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::proto::ScreenRequest;
use portcullis::screening;
use portcullis::smpp::{self, DataCoding, gsm7, udh};

fuzz_target!(|data: &[u8]| {
    let [coding, flags, raw @ ..] = data else {
        return;
    };
    let data_coding = u32::from(*coding % 10);
    let udhi = flags & 1 == 1;

    if let Ok(header) = udh::parse(raw) {
        assert!(header.len >= 1 && header.len <= raw.len());
    }
    // Every coding on the bare bytes too, whatever the header says.
    for coding in [
        DataCoding::Gsm7,
        DataCoding::Ascii,
        DataCoding::Latin1,
        DataCoding::Ucs2,
    ] {
        check_body(coding, raw);
    }
    let mut gsm = String::new();
    let _ = gsm7::decode_into(raw, &mut gsm);

    if let Ok(payload) = smpp::split(raw, data_coding, udhi) {
        assert_eq!(payload.coding.as_smpp(), data_coding);
        assert!(raw.ends_with(payload.body));
        check_body(payload.coding, payload.body);
    }

    // The request validation the ingresses run on a raw payload.
    let req = ScreenRequest {
        message_id: "m-1".into(),
        sender_port: "10690001234".into(),
        msisdn: "13800138000".into(),
        raw_payload: raw.to_vec(),
        data_coding,
        udhi,
        ..Default::default()
    };
    if let Ok(checked) = screening::validate(&req, 2000) {
        let (coding, body) = checked.body.coded_bytes();
        assert!(coding.is_some());
        assert!(raw.ends_with(body));
        if let Some(part) = checked.part {
            assert!(part.seq >= 1 && part.seq <= part.total && part.total <= 16);
        }
    }
});

fn check_body(coding: DataCoding, body: &[u8]) {
    let mut text = String::new();
    let decoded = smpp::decode_into(coding, body, &mut text);
    let lossy = smpp::decode_lossy(coding, body);
    let segments = smpp::body_segments(coding, body);
    assert!(segments.count >= 1 || body.is_empty(), "{segments:?}");
    match decoded {
        Ok(()) => {
            assert_eq!(lossy, text, "lossy decoding differs from a successful one");
            match coding {
                DataCoding::Gsm7 => {
                    let septets = gsm7::encode(&text).expect("decoded GSM text re-encodes");
                    let mut again = String::new();
                    gsm7::decode_into(&septets, &mut again).expect("re-encoded GSM text decodes");
                    assert_eq!(again, text);
                }
                DataCoding::Ucs2 => {
                    let units: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
                    assert_eq!(units, body);
                }
                DataCoding::Ascii | DataCoding::Latin1 => {
                    assert_eq!(text.chars().count(), body.len());
                }
            }
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            assert_eq!(e.field(), "raw_payload");
            // Lossy decoding marks what it could not read.
            assert!(lossy.contains('\u{FFFD}'), "{e}: {lossy:?}");
        }
    }
}
