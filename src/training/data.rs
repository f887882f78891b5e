//! Labeled TSV files (API.md: UTF-8, a header line naming `label` and `text`, TAB-separated,
//! never quoted) and the one adaptation the public sets need: their anonymisation placeholders are
//! put back as ordinary text of the same kind, so the normalizer and rules see what they would see
//! in live traffic (a mobile number where the fake-base-station set says `CELLPHONE`).

use std::path::{Path, PathBuf};

/// One labeled row.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub text: String,
    /// File and 1-based line, for errors.
    pub line: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Bad {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// Reads a labeled file; every row must have a label and a non-empty text.
pub fn read_tsv(path: &Path) -> Result<Vec<Row>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |line: usize, message: String| DataError::Bad {
        path: path.to_owned(),
        line,
        message,
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(label_col), Some(text_col)) = (column("label"), column("text")) else {
        return Err(bad(
            1,
            format!(
                "the header must name the columns `label` and `text`, found {:?}",
                header
            ),
        ));
    };
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(label), Some(text)) = (fields.get(label_col), fields.get(text_col)) else {
            return Err(bad(
                n,
                format!("{} columns, the header has {}", fields.len(), header.len()),
            ));
        };
        if label.trim().is_empty() || text.trim().is_empty() {
            return Err(bad(n, "empty label or text".into()));
        }
        rows.push(Row {
            label: label.trim().to_owned(),
            text: restore_placeholders(text),
            line: n,
        });
    }
    Ok(rows)
}

/// The public sets' masks and what stands in for each: `<NUM>` (the Chinese spam/ham set's digit
/// mask) and the fake-base-station set's `DIGIT`, `CELLPHONE`, `URL`, ... Only texts with CJK
/// characters are touched, so English words such as "URL" in the English set stay as they are.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("<NUM>", "8"),
    ("CELLPHONE", "13800138000"),
    ("HOTLINE", "4008008000"),
    ("PHONE", "02088888888"),
    ("DIGIT", "8"),
    ("WECHAT", "微信"),
    ("URL", "http://www.example.com"),
    ("NAME", "某某"),
    ("PLACE", "某地"),
    ("BANK", "银行"),
];

pub fn restore_placeholders(text: &str) -> String {
    let has_cjk = text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    if !has_cjk || !text.bytes().any(|b| b.is_ascii_uppercase() || b == b'<') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (mask, stand_in) in PLACEHOLDERS {
            if let Some(after) = rest.strip_prefix(mask) {
                let glued_before = out.chars().last().is_some_and(|c| c.is_ascii_alphabetic());
                if !glued_before {
                    out.push_str(stand_in);
                    // The set glues leftover fragments to URL ("URLdfge"): part of the link.
                    rest = if *mask == "URL" {
                        after.trim_start_matches(|c: char| c.is_ascii_alphanumeric())
                    } else {
                        after
                    };
                    continue 'scan;
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_live_looking_text() {
        assert_eq!(
            restore_placeholders("手头紧找平安贷最快天放款月息最低 DIGIT 大平台 URLdfge"),
            "手头紧找平安贷最快天放款月息最低 8 大平台 http://www.example.com"
        );
        assert_eq!(restore_placeholders("验证码<NUM>请查收"), "验证码8请查收");
        assert_eq!(
            restore_placeholders("Click the URL now"),
            "Click the URL now"
        );
    }

    #[test]
    fn a_file_without_the_columns_is_refused_with_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.tsv");
        std::fs::write(&p, "category\ttext\nspam\thi\n").unwrap();
        let e = read_tsv(&p).unwrap_err().to_string();
        assert!(e.contains("x.tsv:1") && e.contains("label"), "{e}");
        std::fs::write(&p, "label\ttext\nspam\thi\nham\n").unwrap();
        let e = read_tsv(&p).unwrap_err().to_string();
        assert!(e.contains("x.tsv:3"), "{e}");
    }
}
