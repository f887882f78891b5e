//! INTERFACE STUB — to be implemented.

/// How a text travels on the air interface.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    #[default]
    Gsm7,
    Ucs2,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// septets (GSM 7-bit, extension characters count two) or UTF-16 code units (UCS-2)
    pub units: u32,
    /// 1 for a single SMS (GSM 160 / UCS-2 70), else ceil(units / 153) or ceil(units / 67)
    pub count: u32,
}

pub fn count(_text: &str) -> Segments {
    Segments::default()
}
