//! `sms.submit` record values: whatever the `content-type` header and the value hold, decoding is
//! an `Ok` request or an `Err` with a dead-letter reason, never a panic; a decoded request encodes
//! back (in the record's own encoding) to the same request; validation never panics.
//!
//! Input: octet 0 picks the header (none, protobuf, JSON, JSON with parameters, or the next
//! `octet0 % 32` octets as a raw header value); the rest is the record value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::ingress::kafka::record::{self, Encoding, RecordError};
use portcullis::proto::ScreenRequest;
use portcullis::screening;

fuzz_target!(|data: &[u8]| {
    let [pick, rest @ ..] = data else {
        return;
    };
    let (header, value): (Option<&[u8]>, &[u8]) = match pick % 8 {
        0 => (None, rest),
        1 => (Some(record::PROTOBUF.as_bytes()), rest),
        2 | 3 => (Some(record::JSON.as_bytes()), rest),
        4 => (Some(b"Application/JSON ; charset=utf-8"), rest),
        _ => {
            let n = usize::from(pick % 32).min(rest.len());
            let (h, v) = rest.split_at(n);
            (Some(h), v)
        }
    };
    match record::decode_screen_request(header, value) {
        Ok((encoding, request)) => {
            let bytes = record::encode(record::SCREEN_REQUEST, encoding, &request);
            let again: ScreenRequest = record::decode(record::SCREEN_REQUEST, encoding, &bytes)
                .unwrap_or_else(|e| panic!("re-encoded {encoding:?} request does not decode: {e}"));
            assert_eq!(again, request);
            if encoding == Encoding::Json {
                // The protobuf encoding of a request read from JSON reads back the same.
                let pb = record::encode(record::SCREEN_REQUEST, Encoding::Protobuf, &request);
                let from_pb: ScreenRequest =
                    record::decode(record::SCREEN_REQUEST, Encoding::Protobuf, &pb)
                        .expect("our own protobuf decodes");
                assert_eq!(from_pb, request);
            }
            if let Err(e) = screening::validate(&request, 2000) {
                let e = RecordError::from(e);
                assert!(!e.reason().is_empty() && e.field().is_some());
            }
        }
        Err(e) => {
            assert!(!e.reason().is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
});
