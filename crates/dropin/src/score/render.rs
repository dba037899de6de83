//! The output of `systemd-analyze security`: its details table as
//! `table_print()` and `table_to_json()` of `src/shared/format-table.c`
//! print it when standard output is not a terminal, and the summary line
//! under it.

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::generated::exposure::{ARROW_RIGHT, CHECK_MARK, CROSS_MARK, Glyph, WIDE_CHARACTERS};

use super::{Check, Score};

/// Which glyphs systemd prints, as its environment decides
/// (`is_locale_utf8()` and `emoji_enabled()` of `src/basic/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Glyphs {
    /// The locale is UTF-8: `✓`, `✗` and `→` rather than `+`, `-`, `->`.
    pub utf8: bool,
    /// Emoji are enabled: smileys such as `🙂` rather than `:-)`.
    pub emoji: bool,
}

impl Glyphs {
    /// What systemd shows when run with the environment `var` gives:
    /// `SYSTEMD_UTF8` and `SYSTEMD_EMOJI` (booleans) override; otherwise
    /// the locale (`LC_ALL`, `LC_CTYPE`, `LANG`, first set) is UTF-8 when
    /// unset, `C`, `POSIX` or naming UTF-8, and emoji need a UTF-8 locale
    /// and a `TERM` other than `dumb` or `linux`.
    ///
    /// systemd asks the C library (`setlocale()`, `nl_langinfo()`); this
    /// reads the variables instead, so a locale that names no character
    /// set (`de_DE`) counts as not UTF-8 even where it is not installed
    /// (systemd then assumes UTF-8).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Glyphs {
        let boolean =
            |name: &str| var(name).and_then(|v| crate::systemd::number::parse_boolean(&v));
        let utf8 = boolean("SYSTEMD_UTF8").unwrap_or_else(|| {
            let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
                .iter()
                .find_map(|n| var(n).filter(|v| !v.is_empty()));
            match locale {
                None => true,
                Some(l) => {
                    let lower = l.to_ascii_lowercase();
                    l == "C"
                        || l == "POSIX"
                        || lower.ends_with(".utf-8")
                        || lower.ends_with(".utf8")
                        || lower.contains(".utf-8@")
                        || lower.contains(".utf8@")
                }
            }
        });
        let emoji = boolean("SYSTEMD_EMOJI").unwrap_or_else(|| {
            let term = var("TERM");
            match term.as_deref() {
                None | Some("dumb" | "linux") => false,
                Some(_) => utf8,
            }
        });
        Glyphs { utf8, emoji }
    }

    /// `special_glyph()`.
    pub(crate) fn show(self, g: Glyph) -> &'static str {
        if (g.emoji && self.emoji) || (!g.emoji && self.utf8) {
            g.utf8
        } else {
            g.ascii
        }
    }
}

/// An output format of `systemd-analyze security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The table and the summary line (`--json=off`, the default).
    Text(Glyphs),
    /// `--json=short`: one line per unit.
    JsonShort,
    /// `--json=pretty`: indented with tabs.
    JsonPretty,
}

/// `utf8_console_width()`: a tab is 8 cells, a wide character 2.
pub(crate) fn console_width(s: &str) -> usize {
    if plain_ascii(s.as_bytes()) {
        return s.len();
    }
    s.chars()
        .map(|c| {
            let c = c as u32;
            if c == u32::from(b'\t') {
                8
            } else if WIDE_CHARACTERS
                .binary_search_by(|(lo, hi)| {
                    if *hi < c {
                        Ordering::Less
                    } else if *lo > c {
                        Ordering::Greater
                    } else {
                        Ordering::Equal
                    }
                })
                .is_ok()
            {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Whether `b` is ASCII without a tab (one cell a byte), in one pass of
/// eight bytes at a time: a byte with its top bit set is not ASCII; a
/// byte equal to a tab is zero in `x ^ TABS`, and a zero byte is found by
/// the borrow it leaves in `y - ONES`.
fn plain_ascii(b: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TABS: u64 = 0x0909_0909_0909_0909;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let x = u64::from_le_bytes(word);
        let y = x ^ TABS;
        if (x | (y.wrapping_sub(ONES) & !y)) & HIGH != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&c| c.is_ascii() && c != b'\t')
}

/// The sort cells of each row (row 0, the header, has none): a check's
/// description (`None`: an empty cell) and name.
type Cells<'a> = Vec<Option<(Option<&'a str>, &'a str)>>;

fn cells(checks: &[Check]) -> Cells<'_> {
    std::iter::once(None)
        .chain(
            checks
                .iter()
                .map(|c| Some((c.description.as_deref(), c.id))),
        )
        .collect()
}

/// `table_data_compare()` with the sort map systemd sets (DESCRIPTION,
/// reversed, then NAME) on rows `a` and `b` (row 0 is the header).
fn compare_cells(rows: &Cells<'_>, a: usize, b: usize) -> Ordering {
    let (Some(Some((dx, nx))), Some(Some((dy, ny)))) = (rows.get(a), rows.get(b)) else {
        // The header sorts first (it is the only row without cells).
        return match (a, b) {
            (0, 0) => Ordering::Equal,
            (0, _) => Ordering::Less,
            _ => Ordering::Greater,
        };
    };
    // Cells of different types (a missing description is an empty cell)
    // or of a type without an order fall back to the order added.
    let by_description = match (dx, dy) {
        (Some(p), Some(q)) => p.as_bytes().cmp(q.as_bytes()),
        _ => a.cmp(&b),
    };
    if by_description != Ordering::Equal {
        return by_description.reverse();
    }
    let by_name = nx.as_bytes().cmp(ny.as_bytes());
    if by_name != Ordering::Equal {
        return by_name;
    }
    a.cmp(&b)
}

/// glibc's `qsort_r()` for an array this size: a top-down merge sort
/// (`msort_with_tmp()`), which with systemd's comparator (not transitive
/// once a description is missing) gives systemd's order where another
/// stable sort would not.
fn merge_sort<F: Fn(usize, usize) -> Ordering>(v: &mut [usize], tmp: &mut Vec<usize>, cmp: &F) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    if n == 2 {
        // The merge of two single elements, written out: one comparison.
        if cmp(v[0], v[1]) == Ordering::Greater {
            v.swap(0, 1);
        }
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], tmp, cmp);
    merge_sort(&mut v[n1..], tmp, cmp);
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(v[i], v[j]) != Ordering::Greater {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    tmp.extend_from_slice(&v[j..n]);
    v.copy_from_slice(tmp);
}

/// The rows in the order systemd prints them (indices into
/// `score.checks`).
pub(crate) fn sorted(score: &Score) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..=score.checks.len()).collect();
    let mut tmp = Vec::with_capacity(rows.len());
    let cells = cells(&score.checks);
    merge_sort(&mut rows, &mut tmp, &|a, b| compare_cells(&cells, a, b));
    rows.into_iter().skip(1).map(|r| r - 1).collect()
}

/// `align_string_mem()` for a left (`right == false`) or right aligned
/// cell of `width` cells, `text` being `text_width` cells wide.
fn pad(out: &mut String, text: &str, text_width: usize, width: usize, right: bool) {
    let space = width.saturating_sub(text_width);
    if right {
        blanks(out, space);
        out.push_str(text);
    } else {
        out.push_str(text);
        blanks(out, space);
    }
}

/// `n` spaces.
fn blanks(out: &mut String, mut n: usize) {
    const SLAB: &str = "                                                                ";
    while n > 0 {
        let k = n.min(SLAB.len());
        out.push_str(&SLAB[..k]);
        n -= k;
    }
}

/// The details table and the summary line.
pub(crate) fn text(score: &Score, glyphs: Glyphs) -> String {
    let order = sorted(score);
    // The EXPOSURE cells written one after another into one string.
    let mut cells = String::with_capacity(score.checks.len() * 4);
    let spans: Vec<Option<std::ops::Range<usize>>> = score
        .checks
        .iter()
        .map(|c| {
            let x = c.exposure?;
            let start = cells.len();
            write_tenths(&mut cells, x);
            Some(start..cells.len())
        })
        .collect();
    let exposures: Vec<Option<&str>> = spans
        .into_iter()
        .map(|r| r.and_then(|r| cells.get(r)))
        .collect();
    fn description(c: &Check) -> &str {
        c.description.as_deref().unwrap_or("")
    }
    // Each cell's width, worked out once; every column as wide as its
    // widest cell (the header's included); the check mark column is one
    // cell.
    let widths: Vec<[usize; 3]> = score
        .checks
        .iter()
        .zip(&exposures)
        .map(|(c, e)| {
            [
                console_width(c.id),
                console_width(description(c)),
                e.map_or(0, console_width),
            ]
        })
        .collect();
    let header = ["NAME", "DESCRIPTION", "EXPOSURE"].map(console_width);
    let column = |k: usize| widths.iter().map(|w| w[k]).fold(header[k], usize::max);
    let (name_width, description_width, exposure_width) = (column(0), column(1), column(2));
    let mut out = String::with_capacity((order.len() + 3) * (name_width + description_width + 16));
    let mut line =
        |(mark, mark_width): (&str, usize), cells: [&str; 3], cell_widths: [usize; 3]| {
            pad(&mut out, mark, mark_width, 1, false);
            out.push(' ');
            pad(&mut out, cells[0], cell_widths[0], name_width, false);
            out.push(' ');
            pad(&mut out, cells[1], cell_widths[1], description_width, false);
            out.push(' ');
            // The last column: right-aligned, trailing blanks dropped.
            if !cells[2].is_empty() {
                pad(&mut out, cells[2], cell_widths[2], exposure_width, true);
            }
            out.push('\n');
        };
    line((" ", 1), ["NAME", "DESCRIPTION", "EXPOSURE"], header);
    let [check, cross] = [CHECK_MARK, CROSS_MARK].map(|g| {
        let shown = glyphs.show(g);
        (shown, console_width(shown))
    });
    for &i in &order {
        let c = &score.checks[i];
        let mark = match c.set() {
            None => ("", 0),
            Some(true) => check,
            Some(false) => cross,
        };
        line(
            mark,
            [c.id, description(c), exposures[i].unwrap_or("")],
            widths[i],
        );
    }
    let level = score.level();
    let _ = writeln!(
        out,
        "\n{} Overall exposure level for {}: {} {} {}",
        glyphs.show(ARROW_RIGHT),
        score.unit,
        tenths(score.exposure),
        level.name,
        glyphs.show(level.smiley),
    );
    out
}

/// `x/10 "." x%10`.
pub(crate) fn tenths(x: u64) -> String {
    let mut out = String::with_capacity(4);
    write_tenths(&mut out, x);
    out
}

/// [`tenths`] written at the end of `out`.
fn write_tenths(out: &mut String, x: u64) {
    if x < 100 {
        // The usual case, written without the formatting machinery.
        out.push(char::from(b'0' + (x / 10) as u8));
    } else {
        let _ = write!(out, "{}", x / 10);
    }
    out.push('.');
    out.push(char::from(b'0' + (x % 10) as u8));
}

/// `json_format_string()`.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON value of a row.
enum Json<'a> {
    Null,
    Bool(bool),
    Str(&'a str),
    Number(u64),
}

impl Json<'_> {
    fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Str(s) => json_string(out, s),
            Json::Number(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
}

/// The JSON array of the table (`sd_json_variant_dump()` with
/// `SD_JSON_FORMAT_NEWLINE`, and `SD_JSON_FORMAT_PRETTY` when `pretty`);
/// with `debug`, the columns `SYSTEMD_ANALYZE_DEBUG=1` adds.
pub(crate) fn json(score: &Score, pretty: bool, debug: bool) -> String {
    let order = sorted(score);
    let mut out = String::from(if pretty { "[\n" } else { "[" });
    for (n, &i) in order.iter().enumerate() {
        let c = &score.checks[i];
        let exposure = c.exposure_text();
        let mut fields: Vec<(&str, Json<'_>)> = vec![
            ("set", c.set().map_or(Json::Null, Json::Bool)),
            ("name", Json::Str(c.id)),
            ("json_field", Json::Str(c.json_field)),
            (
                "description",
                c.description.as_deref().map_or(Json::Null, Json::Str),
            ),
        ];
        if debug {
            fields.push(("weight", Json::Number(c.weight)));
            fields.push(("badness", Json::Number(c.badness.unwrap_or(u64::MAX))));
            fields.push(("range", Json::Number(c.range)));
        }
        fields.push((
            "exposure",
            exposure.as_deref().map_or(Json::Null, Json::Str),
        ));
        if n > 0 {
            out.push_str(if pretty { ",\n" } else { "," });
        }
        out.push_str(if pretty { "\t{\n" } else { "{" });
        for (k, (key, value)) in fields.iter().enumerate() {
            if k > 0 {
                out.push_str(if pretty { ",\n" } else { "," });
            }
            if pretty {
                out.push_str("\t\t");
            }
            json_string(&mut out, key);
            out.push_str(if pretty { " : " } else { ":" });
            value.write(&mut out);
        }
        out.push_str(if pretty { "\n\t}" } else { "}" });
    }
    out.push_str(if pretty { "\n]\n" } else { "]\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's `msort_with_tmp()` as it is written: no case unrolled.
    fn reference_sort(v: &mut [usize], cmp: &dyn Fn(usize, usize) -> Ordering) {
        let n = v.len();
        if n <= 1 {
            return;
        }
        let n1 = n / 2;
        reference_sort(&mut v[..n1], cmp);
        reference_sort(&mut v[n1..], cmp);
        let mut tmp = Vec::with_capacity(n);
        let (mut i, mut j) = (0, n1);
        while i < n1 && j < n {
            if cmp(v[i], v[j]) != Ordering::Greater {
                tmp.push(v[i]);
                i += 1;
            } else {
                tmp.push(v[j]);
                j += 1;
            }
        }
        tmp.extend_from_slice(&v[i..n1]);
        tmp.extend_from_slice(&v[j..n]);
        v.copy_from_slice(&tmp);
    }

    #[test]
    fn the_merge_sort_orders_as_glibcs_even_with_a_comparator_that_is_not_an_order() {
        // A comparator given by a fixed pseudo-random table: not
        // transitive, not even antisymmetric, so any change to the
        // sequence of comparisons shows in the result.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in 0..90 {
            let table: Vec<Ordering> = (0..n * n)
                .map(|_| match next() % 3 {
                    0 => Ordering::Less,
                    1 => Ordering::Equal,
                    _ => Ordering::Greater,
                })
                .collect();
            let cmp = |a: usize, b: usize| table[a * n + b];
            let mut ours: Vec<usize> = (0..n).collect();
            let mut theirs = ours.clone();
            merge_sort(&mut ours, &mut Vec::new(), &cmp);
            reference_sort(&mut theirs, &cmp);
            assert_eq!(ours, theirs, "{n} elements");
        }
    }

    #[test]
    fn plain_ascii_is_ascii_without_a_tab() {
        let naive = |b: &[u8]| b.iter().all(|&c| c.is_ascii() && c != b'\t');
        for len in 0..40 {
            let base = vec![b'a'; len];
            assert_eq!(plain_ascii(&base), naive(&base));
            for at in 0..len {
                for c in [b'\t', 0x80, 0xff, 0x08, 0x0a, 0x89, 0x19, 0x7f, 0x00] {
                    let mut b = base.clone();
                    b[at] = c;
                    assert_eq!(plain_ascii(&b), naive(&b), "{b:?}");
                }
            }
        }
        assert_eq!(console_width("a\tb"), 10);
        assert_eq!(console_width("✓ a"), 3);
    }

    #[test]
    fn tenths_are_written_as_format_writes_them() {
        for x in 0..2500 {
            assert_eq!(tenths(x), format!("{}.{}", x / 10, x % 10), "{x}");
        }
        assert_eq!(
            tenths(u64::MAX),
            format!("{}.{}", u64::MAX / 10, u64::MAX % 10)
        );
    }
}
