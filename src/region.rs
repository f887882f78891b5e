//! The number-segment (号段) table: first 7 digits of a mainland mobile number → province,
//! city and carrier.
//!
//! # Why
//!
//! Port-type (A2P) spam campaigns are often aimed at, or sent from, numbers of one region or one
//! carrier, and operators write policy per province ("block loan ads to 广东 numbers"). The
//! screening path needs the region of every sender and recipient number, so the lookup must be
//! O(1), lock-free and allocation-free, and the table must be small enough to keep one copy per
//! process and to swap on reload.
//!
//! # Layout
//!
//! A dense `Box<[u16]>` indexed by `prefix - 1_300_000` (700,000 slots, 1.4 MB). Each slot packs
//! a 1-based index into a deduplicated `(province, city)` list (high 13 bits) and a carrier index
//! into [`CARRIERS`] (low 3 bits); 0 means the prefix is unknown. The `"province/city"` label is
//! built once per pair at load time so [`RegionTable::lookup`] only borrows.
//!
//! # Data
//!
//! `config/data/msisdn_prefixes.csv.gz` (embedded in the binary by [`RegionTable::embedded`]) is
//! converted from `phone/phone.dat` of the PyPI package `phone` 0.4.5 (repository `ls0f/phone`),
//! data version 2312 (December 2023); MIT per that repository's README, see
//! `config/data/LICENSE-msisdn_prefixes.md`. Gzip-compressed UTF-8 CSV with the header
//! `prefix,province,city,zip,areacode,carrier`; 499,527 prefixes from 1300000 to 1999979,
//! 31 provinces, 362 province/city pairs. `zip` and `areacode` are validated as columns but not
//! kept (the source drops the leading zero of some zips and has `00479` for one area code).
//!
//! # Caveats
//!
//! - The region is where the number block was *allocated*, not where the subscriber is now.
//! - Since number portability (携号转网) the carrier from the prefix may not be the subscriber's
//!   current carrier; the carrier labels (e.g. 1349xxx as `china_mobile_mvno`) are the source's
//!   opinion, not an authoritative registry.
//! - Not every prefix is present; a missing prefix means "region unknown", not "not a number".

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

/// The table shipped in the binary.
static EMBEDDED_GZ: &[u8] = include_bytes!("../config/data/msisdn_prefixes.csv.gz");

/// The CSV header line the loader expects.
pub const HEADER: &str = "prefix,province,city,zip,areacode,carrier";

/// Smallest prefix the table can hold.
pub const FIRST_PREFIX: u32 = 1_300_000;
/// Largest prefix the table can hold.
pub const LAST_PREFIX: u32 = 1_999_999;
const SLOTS: usize = (LAST_PREFIX - FIRST_PREFIX + 1) as usize;

/// Carrier names as they appear in the data; the position is the packed carrier index.
pub const CARRIERS: [&str; 8] = [
    "china_mobile",
    "china_unicom",
    "china_telecom",
    "china_broadnet",
    "china_mobile_mvno",
    "china_unicom_mvno",
    "china_telecom_mvno",
    "china_broadnet_mvno",
];

const CARRIER_BITS: u32 = 3;
const CARRIER_MASK: u16 = (1 << CARRIER_BITS) - 1;
const _: () = assert!(CARRIERS.len() <= 1 << CARRIER_BITS);
/// Most distinct `(province, city)` pairs the 13-bit packed pair index can address.
pub const MAX_PAIRS: usize = (u16::MAX >> CARRIER_BITS) as usize;

const READ_BUF: usize = 64 * 1024;

/// Region of one number prefix, borrowed from a [`RegionTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region<'a> {
    /// Province-level division without 省/市/自治区, e.g. `广东`, `内蒙古`, `北京`.
    pub province: &'a str,
    /// City, e.g. `深圳`.
    pub city: &'a str,
    /// One of [`CARRIERS`].
    pub carrier: &'a str,
    /// "广东/深圳"
    pub label: &'a str,
}

/// Why a prefix table could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RegionTableError {
    #[error("cannot open region table {}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("read error at line {line}")]
    Read {
        line: usize,
        #[source]
        source: io::Error,
    },
    #[error("corrupt gzip data at line {line}")]
    Gzip {
        line: usize,
        #[source]
        source: io::Error,
    },
    #[error("invalid utf-8 at line {line}")]
    InvalidUtf8 { line: usize },
    #[error("missing header at line 1: input is empty")]
    MissingHeader,
    #[error("bad header at line 1: expected {HEADER:?}, found {found:?}")]
    BadHeader { found: String },
    #[error("wrong column count at line {line}: expected 6, found {found}")]
    ColumnCount { line: usize, found: usize },
    #[error("bad prefix {value:?} at line {line}: expected 7 ascii digits")]
    BadPrefix { line: usize, value: String },
    #[error(
        "prefix out of range at line {line}: {prefix} is not in {FIRST_PREFIX}..={LAST_PREFIX}"
    )]
    OutOfRange { line: usize, prefix: u32 },
    #[error("duplicate prefix {prefix} at line {line}")]
    DuplicatePrefix { line: usize, prefix: u32 },
    #[error("unknown carrier {value:?} at line {line}")]
    UnknownCarrier { line: usize, value: String },
    #[error("bad {column} {value:?} at line {line}: must be non-empty and contain no '/'")]
    BadField {
        line: usize,
        column: &'static str,
        value: String,
    },
    #[error(
        "too many cities at line {line}: the packing holds at most {MAX_PAIRS} province/city pairs"
    )]
    TooManyCities { line: usize },
}

/// One deduplicated `(province, city)` pair.
#[derive(Clone)]
struct Pair {
    /// Index into `RegionTable::provinces`.
    province: usize,
    city: Box<str>,
    /// `"{province}/{city}"`.
    label: Box<str>,
}

/// Prefix → region table; see the module docs. Immutable once loaded; share it with `Arc`.
#[derive(Clone)]
pub struct RegionTable {
    /// `prefix - FIRST_PREFIX` → `(pair index + 1) << CARRIER_BITS | carrier`, 0 = unknown.
    slots: Box<[u16]>,
    pairs: Box<[Pair]>,
    /// Distinct provinces in order of first appearance in the data.
    provinces: Box<[Box<str>]>,
    known: usize,
}

impl fmt::Debug for RegionTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionTable")
            .field("prefixes", &self.known)
            .field("provinces", &self.provinces.len())
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

/// Where the bytes come from, to tell decompression errors from plain read errors.
#[derive(Clone, Copy)]
enum Source {
    Plain,
    Gzip,
}

impl RegionTable {
    /// The table shipped in the binary (`config/data/msisdn_prefixes.csv.gz`).
    pub fn embedded() -> Result<RegionTable, RegionTableError> {
        let decoder = MultiGzDecoder::new(EMBEDDED_GZ);
        parse(BufReader::with_capacity(READ_BUF, decoder), Source::Gzip)
    }

    /// Loads a gzip-compressed CSV file with the same format as the embedded table.
    pub fn from_gz_file(path: &Path) -> Result<RegionTable, RegionTableError> {
        let file = File::open(path).map_err(|source| RegionTableError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(READ_BUF, file));
        parse(BufReader::with_capacity(READ_BUF, decoder), Source::Gzip)
    }

    /// Loads an uncompressed CSV (header line first), for tests and fixtures.
    pub fn from_csv_reader(r: impl BufRead) -> Result<RegionTable, RegionTableError> {
        parse(r, Source::Plain)
    }

    /// Region of a 7-digit prefix (e.g. `1380013`); `None` if unknown or out of range.
    #[inline]
    pub fn lookup(&self, prefix7: u32) -> Option<Region<'_>> {
        let index = usize::try_from(prefix7.checked_sub(FIRST_PREFIX)?).ok()?;
        let packed = *self.slots.get(index)?;
        let pair_index = usize::from(packed >> CARRIER_BITS).checked_sub(1)?;
        let pair = self.pairs.get(pair_index)?;
        Some(Region {
            province: self.provinces.get(pair.province)?,
            city: &pair.city,
            carrier: CARRIERS.get(usize::from(packed & CARRIER_MASK))?,
            label: &pair.label,
        })
    }

    /// Region of a full mobile number (`13800138000`, `8613800138000`, `+8613800138000` or
    /// `008613800138000`); `None` if it is not such a number or its prefix is unknown.
    pub fn lookup_msisdn(&self, msisdn: &str) -> Option<Region<'_>> {
        self.lookup(prefix7(msisdn)?)
    }

    /// Whether `province` (as in the data, e.g. `广东`, not `广东省`) occurs in the table.
    pub fn has_province(&self, province: &str) -> bool {
        self.provinces.iter().any(|p| &**p == province)
    }

    /// Distinct provinces, in order of first appearance in the data.
    pub fn provinces(&self) -> impl Iterator<Item = &str> {
        self.provinces.iter().map(|p| &**p)
    }

    /// Number of known prefixes.
    pub fn len(&self) -> usize {
        self.known
    }

    /// Whether no prefix is known.
    pub fn is_empty(&self) -> bool {
        self.known == 0
    }

    /// Approximate heap memory held by the table, in bytes.
    pub fn heap_bytes(&self) -> usize {
        let slots = std::mem::size_of_val(&*self.slots);
        let pairs = std::mem::size_of_val(&*self.pairs)
            + self
                .pairs
                .iter()
                .map(|p| p.city.len() + p.label.len())
                .sum::<usize>();
        let provinces = std::mem::size_of_val(&*self.provinces)
            + self.provinces.iter().map(|p| p.len()).sum::<usize>();
        slots + pairs + provinces
    }
}

/// First 7 digits of a mainland mobile number: 11 ASCII digits starting with `1`, optionally
/// preceded by `86`, `+86` or `0086`. `None` for anything else.
pub fn prefix7(msisdn: &str) -> Option<u32> {
    let national = match msisdn.len() {
        11 => msisdn,
        13 => msisdn.strip_prefix("86")?,
        14 => msisdn.strip_prefix("+86")?,
        15 => msisdn.strip_prefix("0086")?,
        _ => return None,
    };
    let bytes = national.as_bytes();
    if bytes.len() != 11 || bytes.first() != Some(&b'1') || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        bytes
            .iter()
            .take(7)
            .fold(0, |acc, b| acc * 10 + u32::from(b - b'0')),
    )
}

fn parse(mut r: impl BufRead, source: Source) -> Result<RegionTable, RegionTableError> {
    let mut builder = Builder::new();
    let mut buf = Vec::with_capacity(128);
    let mut line = 0usize;
    loop {
        buf.clear();
        let read = r.read_until(b'\n', &mut buf).map_err(|e| {
            let line = line + 1;
            match source {
                Source::Gzip
                    if matches!(
                        e.kind(),
                        io::ErrorKind::InvalidInput
                            | io::ErrorKind::InvalidData
                            | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    RegionTableError::Gzip { line, source: e }
                }
                _ => RegionTableError::Read { line, source: e },
            }
        })?;
        if read == 0 {
            break;
        }
        line += 1;
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let text =
            std::str::from_utf8(bytes).map_err(|_| RegionTableError::InvalidUtf8 { line })?;
        if line == 1 {
            let header = text.strip_prefix('\u{feff}').unwrap_or(text);
            if header != HEADER {
                return Err(RegionTableError::BadHeader {
                    found: header.to_owned(),
                });
            }
        } else if !text.is_empty() {
            builder.add(text, line)?;
        }
    }
    if line == 0 {
        return Err(RegionTableError::MissingHeader);
    }
    Ok(builder.finish())
}

struct Builder {
    slots: Vec<u16>,
    pairs: Vec<Pair>,
    provinces: Vec<Box<str>>,
    /// label → 1-based pair index.
    pair_index: HashMap<Box<str>, u16>,
    label_buf: String,
    known: usize,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            slots: vec![0; SLOTS],
            pairs: Vec::new(),
            provinces: Vec::new(),
            pair_index: HashMap::new(),
            label_buf: String::new(),
            known: 0,
        }
    }

    fn add(&mut self, text: &str, line: usize) -> Result<(), RegionTableError> {
        let mut cols = [""; 6];
        let mut found = 0usize;
        for field in text.split(',') {
            if let Some(col) = cols.get_mut(found) {
                *col = field;
            }
            found += 1;
        }
        let [prefix, province, city, _zip, _areacode, carrier] = cols;
        if found != cols.len() {
            return Err(RegionTableError::ColumnCount { line, found });
        }

        let prefix = parse_prefix(prefix).ok_or_else(|| RegionTableError::BadPrefix {
            line,
            value: prefix.to_owned(),
        })?;
        let slot = prefix
            .checked_sub(FIRST_PREFIX)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(RegionTableError::OutOfRange { line, prefix })?;
        if *slot != 0 {
            return Err(RegionTableError::DuplicatePrefix { line, prefix });
        }
        let carrier_bits = (0u16..)
            .zip(CARRIERS)
            .find_map(|(i, c)| (c == carrier).then_some(i))
            .ok_or_else(|| RegionTableError::UnknownCarrier {
                line,
                value: carrier.to_owned(),
            })?;
        for (column, value) in [("province", province), ("city", city)] {
            if value.is_empty() || value.contains('/') {
                return Err(RegionTableError::BadField {
                    line,
                    column,
                    value: value.to_owned(),
                });
            }
        }

        self.label_buf.clear();
        self.label_buf.push_str(province);
        self.label_buf.push('/');
        self.label_buf.push_str(city);
        let pair = match self.pair_index.get(self.label_buf.as_str()) {
            Some(&pair) => pair,
            None => {
                let pair = u16::try_from(self.pairs.len() + 1)
                    .ok()
                    .filter(|&p| usize::from(p) <= MAX_PAIRS)
                    .ok_or(RegionTableError::TooManyCities { line })?;
                let province_index = match self.provinces.iter().position(|p| &**p == province) {
                    Some(i) => i,
                    None => {
                        self.provinces.push(province.into());
                        self.provinces.len() - 1
                    }
                };
                let label: Box<str> = self.label_buf.as_str().into();
                self.pairs.push(Pair {
                    province: province_index,
                    city: city.into(),
                    label: label.clone(),
                });
                self.pair_index.insert(label, pair);
                pair
            }
        };
        // 1 <= pair <= MAX_PAIRS and carrier_bits < CARRIERS.len() == 1 << CARRIER_BITS, so the
        // packed value neither overflows u16 nor collides with 0 (= unknown).
        *slot = (pair << CARRIER_BITS) | carrier_bits;
        self.known += 1;
        Ok(())
    }

    fn finish(self) -> RegionTable {
        RegionTable {
            slots: self.slots.into_boxed_slice(),
            pairs: self.pairs.into_boxed_slice(),
            provinces: self.provinces.into_boxed_slice(),
            known: self.known,
        }
    }
}

/// Exactly 7 ASCII digits.
fn parse_prefix(s: &str) -> Option<u32> {
    if s.len() != 7 {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{Cursor, Write};
    use std::sync::OnceLock;

    fn table() -> &'static RegionTable {
        static TABLE: OnceLock<RegionTable> = OnceLock::new();
        TABLE.get_or_init(|| RegionTable::embedded().expect("embedded table loads"))
    }

    fn csv(body: &str) -> Result<RegionTable, RegionTableError> {
        RegionTable::from_csv_reader(Cursor::new(format!("{HEADER}\n{body}")))
    }

    fn region<'a>(
        province: &'a str,
        city: &'a str,
        carrier: &'a str,
        label: &'a str,
    ) -> Region<'a> {
        Region {
            province,
            city,
            carrier,
            label,
        }
    }

    #[test]
    fn embedded_table_has_the_documented_shape() {
        let t = table();
        assert_eq!(t.len(), 499_527);
        assert!(!t.is_empty());
        assert_eq!(t.provinces().count(), 31);
        assert_eq!(t.pairs.len(), 362);
        assert!(t.has_province("广东"));
        assert!(t.has_province("内蒙古"));
        assert!(!t.has_province("广东省"));
        assert!(!t.has_province("香港"));
    }

    #[test]
    fn embedded_carrier_counts_match_the_data_readme() {
        let t = table();
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for p in FIRST_PREFIX..=LAST_PREFIX {
            if let Some(r) = t.lookup(p) {
                *counts.entry(r.carrier).or_default() += 1;
            }
        }
        let expected = [
            ("china_mobile", 234_231),
            ("china_unicom", 129_925),
            ("china_telecom", 114_937),
            ("china_unicom_mvno", 10_884),
            ("china_mobile_mvno", 5_026),
            ("china_broadnet", 4_357),
            ("china_telecom_mvno", 167),
        ];
        assert_eq!(counts.len(), expected.len());
        for (carrier, n) in expected {
            assert_eq!(counts.get(carrier), Some(&n), "{carrier}");
        }
    }

    #[test]
    fn embedded_real_rows() {
        // Checked with `zcat msisdn_prefixes.csv.gz | grep ^PREFIX,`.
        let t = table();
        let cases = [
            (
                1_380_013,
                region("北京", "北京", "china_mobile", "北京/北京"),
            ),
            (
                1_300_000,
                region("山东", "济南", "china_unicom", "山东/济南"),
            ),
            (
                1_330_000,
                region("广西", "南宁", "china_telecom", "广西/南宁"),
            ),
            (
                1_920_000,
                region("广东", "佛山", "china_broadnet", "广东/佛山"),
            ),
            (
                1_709_000,
                region("北京", "北京", "china_unicom_mvno", "北京/北京"),
            ),
            (
                1_621_024,
                region("天津", "天津", "china_telecom_mvno", "天津/天津"),
            ),
            (
                1_349_000,
                region("北京", "北京", "china_mobile_mvno", "北京/北京"),
            ),
            (
                1_300_095,
                region("内蒙古", "包头", "china_unicom", "内蒙古/包头"),
            ),
            (
                1_999_979,
                region("新疆", "石河子", "china_telecom", "新疆/石河子"),
            ),
        ];
        for (prefix, want) in cases {
            assert_eq!(t.lookup(prefix), Some(want), "{prefix}");
        }
        assert_eq!(
            t.lookup_msisdn("+8613800138000").map(|r| r.label),
            Some("北京/北京")
        );
    }

    #[test]
    fn unknown_and_out_of_range_prefixes_are_none() {
        let t = table();
        // The last row of the data is 1999979.
        assert_eq!(t.lookup(1_999_980), None);
        assert_eq!(t.lookup(1_999_999), None);
        for p in [0, 1, 1_299_999, 2_000_000, 1_380_013_800, u32::MAX] {
            assert_eq!(t.lookup(p), None, "{p}");
        }
    }

    #[test]
    fn prefix7_accepts_national_and_international_forms() {
        for s in [
            "13800138000",
            "8613800138000",
            "+8613800138000",
            "008613800138000",
        ] {
            assert_eq!(prefix7(s), Some(1_380_013), "{s}");
        }
        for s in [
            "",
            "1380013800",
            "23800138000",
            "1380013800a",
            "+1380013800",
            "0013800138000",
            "138 0013 8000",
            "一3800138000",
            "86一38001380",
        ] {
            assert_eq!(prefix7(s), None, "{s}");
        }
    }

    #[test]
    fn small_csv_loads_and_dedups_pairs() {
        let t = csv("1300000,山东,济南,250000,0531,china_unicom\r\n\
             1300001,山东,济南,250000,0531,china_mobile\n\
             \n\
             1999999,广东,深圳,518000,0755,china_broadnet_mvno")
        .expect("valid csv");
        assert_eq!(t.len(), 3);
        assert_eq!(t.pairs.len(), 2);
        assert_eq!(t.provinces().collect::<Vec<_>>(), ["山东", "广东"]);
        assert_eq!(
            t.lookup(1_300_001),
            Some(region("山东", "济南", "china_mobile", "山东/济南"))
        );
        assert_eq!(
            t.lookup(1_999_999),
            Some(region("广东", "深圳", "china_broadnet_mvno", "广东/深圳"))
        );
        assert_eq!(t.lookup(1_300_002), None);
    }

    #[test]
    fn header_only_is_empty_and_no_header_is_an_error() {
        let t = csv("").expect("header only");
        assert!(t.is_empty());
        assert_eq!(t.provinces().count(), 0);
        assert!(matches!(
            RegionTable::from_csv_reader(Cursor::new("")),
            Err(RegionTableError::MissingHeader)
        ));
        let err = RegionTable::from_csv_reader(Cursor::new(
            "1300000,山东,济南,250000,0531,china_unicom\n",
        ))
        .expect_err("no header");
        assert!(matches!(err, RegionTableError::BadHeader { .. }));
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn malformed_lines_name_the_line_number() {
        let good = "1300000,山东,济南,250000,0531,china_unicom\n";
        let cases = [
            ("13000x1,山东,济南,250000,0531,china_unicom", "bad prefix"),
            ("130000,山东,济南,250000,0531,china_unicom", "bad prefix"),
            (
                "1200000,山东,济南,250000,0531,china_unicom",
                "prefix out of range",
            ),
            (
                "2000000,山东,济南,250000,0531,china_unicom",
                "prefix out of range",
            ),
            (
                "1300000,山东,济南,250000,0531,china_unicom",
                "duplicate prefix",
            ),
            (
                "1300001,山东,济南,250000,0531,china_tietong",
                "unknown carrier",
            ),
            (
                "1300001,山东,济南,250000,china_unicom",
                "wrong column count",
            ),
            (
                "1300001,山东,济南,250000,0531,china_unicom,x",
                "wrong column count",
            ),
            ("1300001,,济南,250000,0531,china_unicom", "bad province"),
            ("1300001,山东,济/南,250000,0531,china_unicom", "bad city"),
        ];
        for (bad, what) in cases {
            let err = csv(&format!("{good}{bad}\n")).expect_err(bad);
            let msg = err.to_string();
            assert!(msg.starts_with(what), "{bad}: {msg}");
            assert!(msg.contains("line 3"), "{bad}: {msg}");
        }
        let mut bytes = format!("{HEADER}\n{good}").into_bytes();
        bytes.extend_from_slice(b"1300001,\xff,x,1,2,china_unicom\n");
        let err = RegionTable::from_csv_reader(Cursor::new(bytes)).expect_err("bad utf-8");
        assert_eq!(err.to_string(), "invalid utf-8 at line 3");
    }

    #[test]
    fn too_many_pairs_is_an_error() {
        let mut body = String::new();
        for i in 0..=MAX_PAIRS {
            body.push_str(&format!(
                "{},省,城{i},1,1,china_mobile\n",
                FIRST_PREFIX as usize + i
            ));
        }
        let err = csv(&body).expect_err("8192 pairs");
        assert!(matches!(err, RegionTableError::TooManyCities { line } if line == MAX_PAIRS + 2));
        assert!(
            err.to_string().starts_with("too many cities at line 8193"),
            "{err}"
        );
    }

    #[test]
    fn gz_file_round_trip_and_errors() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!(
            "portcullis-region-test-{}.csv.gz",
            std::process::id()
        ));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(format!("{HEADER}\n1380013,北京,北京,100000,010,china_mobile\n").as_bytes())
            .expect("write to vec");
        let gz = enc.finish().expect("finish gzip");
        std::fs::write(&path, &gz).expect("write temp file");
        let t = RegionTable::from_gz_file(&path).expect("loads");
        assert_eq!(t.lookup(1_380_013).map(|r| r.label), Some("北京/北京"));

        // Truncated gzip stream.
        std::fs::write(&path, gz.get(..gz.len() / 2).expect("half")).expect("write temp file");
        let err = RegionTable::from_gz_file(&path).expect_err("truncated");
        assert!(matches!(err, RegionTableError::Gzip { .. }), "{err:?}");
        // Not gzip at all.
        std::fs::write(&path, b"prefix,province\n").expect("write temp file");
        let err = RegionTable::from_gz_file(&path).expect_err("not gzip");
        assert!(
            matches!(err, RegionTableError::Gzip { line: 1, .. }),
            "{err:?}"
        );
        std::fs::remove_file(&path).expect("remove temp file");

        let err = RegionTable::from_gz_file(&path).expect_err("missing");
        assert!(matches!(err, RegionTableError::Open { .. }));
        assert!(
            err.to_string().starts_with("cannot open region table"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn lookup_never_panics(p in any::<u32>()) {
            let r = table().lookup(p);
            if !(FIRST_PREFIX..=LAST_PREFIX).contains(&p) {
                prop_assert!(r.is_none());
            }
            if let Some(r) = r {
                prop_assert_eq!(r.label, format!("{}/{}", r.province, r.city));
                prop_assert!(table().has_province(r.province));
            }
        }

        #[test]
        fn prefix7_never_panics(s in "\\PC{0,16}") {
            if let Some(p) = prefix7(&s) {
                prop_assert!((1_000_000..=1_999_999).contains(&p));
            }
        }

        #[test]
        fn loader_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut input = format!("{HEADER}\n").into_bytes();
            input.extend_from_slice(&bytes);
            let _ = RegionTable::from_csv_reader(Cursor::new(input));
        }

        #[test]
        fn loaded_rows_are_found(
            rows in proptest::collection::btree_map(FIRST_PREFIX..=LAST_PREFIX, (0usize..3, 0usize..8), 0..50)
        ) {
            let cities = [("广东", "深圳"), ("广东", "广州"), ("北京", "北京")];
            let mut body = String::new();
            for (p, (c, k)) in &rows {
                let (prov, city) = cities[*c];
                body.push_str(&format!("{p},{prov},{city},0,0,{}\n", CARRIERS[*k]));
            }
            let t = csv(&body).expect("valid rows");
            prop_assert_eq!(t.len(), rows.len());
            for (p, (c, k)) in &rows {
                let r = t.lookup(*p).expect("present");
                prop_assert_eq!((r.province, r.city), cities[*c]);
                prop_assert_eq!(r.carrier, CARRIERS[*k]);
            }
        }
    }
}
