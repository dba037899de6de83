//! Texts of the generated tables, kept without pointers.
//!
//! A `&'static str` in a table is a pointer, and in a position-independent
//! executable every such pointer is relocated when the process starts:
//! the dynamic loader writes each one, so each page of a table is copied
//! before `main` runs. A [`Span`] is a place in one long string of its
//! table's module instead: read through [`Span::of`], the table itself is
//! plain read-only data.

/// Where one text of a table starts in its module's string of texts, and
/// how long it is (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    at: u32,
    len: u32,
}

impl Span {
    /// The span of `len` bytes at `at` (the generated tables write these).
    pub(crate) const fn new(at: u32, len: u32) -> Span {
        Span { at, len }
    }

    /// The text this span marks in `texts`. The generator writes only
    /// spans that lie inside their module's string, on character
    /// boundaries (a test of each table checks every one); a span that did
    /// not would read as empty.
    pub(crate) fn of(self, texts: &'static str) -> &'static str {
        let start = self.at as usize;
        texts
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }

    /// Whether this span lies inside `texts`, on character boundaries.
    #[cfg(test)]
    pub(crate) fn lies_in(self, texts: &str) -> bool {
        let start = self.at as usize;
        texts.get(start..start + self.len as usize).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_reads_its_text_and_a_stray_one_reads_empty() {
        let texts = "Servicename→x";
        assert_eq!(Span::new(0, 7).of(texts), "Service");
        assert_eq!(Span::new(7, 4).of(texts), "name");
        assert!(Span::new(11, 3).lies_in(texts));
        // Past the end, and inside a character: empty, not a panic.
        assert_eq!(Span::new(12, 9).of(texts), "");
        assert!(!Span::new(12, 1).lies_in(texts));
        assert_eq!(Span::new(12, 1).of(texts), "");
    }
}
