//! The main config file's parser and validator (`config::check_main_text`): any text is `Ok` or
//! `Err` with every error naming a key path and a message, never a panic; accepted values are in
//! their documented ranges.
//!
//! Relative paths resolve against an empty directory, so the only file the validator may read
//! (`kafka.msisdn_hash_key_file`) is absent unless the input names an absolute path; inputs naming
//! device or proc files are skipped (reading /dev/zero is an operator's problem, not a parser's).
#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis::config::{self, Overrides};

static BASE: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("portcullis-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
});

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if ["/dev", "/proc", "/sys"].iter().any(|p| text.contains(p)) {
        return;
    }
    match config::check_main_text(&text, &Overrides::default(), &BASE) {
        Ok((server, policy)) => {
            assert!(!server.grace_period.is_zero());
            assert!((1..=65_536).contains(&server.stream_buffer));
            assert!(server.retention_consent_months >= 5);
            assert!(server.retention_max_months >= server.retention_consent_months);
            if let Some(kafka) = &server.kafka {
                assert!(!kafka.brokers.trim().is_empty() && !kafka.group.trim().is_empty());
            }
            assert!(policy.max_text_chars >= 1 && policy.max_text_chars <= 2000);
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "Err with no error for {text:?}");
            for e in &errors {
                assert!(!e.path.is_empty() && !e.message.is_empty(), "{e:?}");
            }
        }
    }
});
