//! Number and boolean parsing of `src/basic/parse-util.c`, over a port of
//! glibc's `strtoul()`.

/// Why a number was refused (systemd's `-EINVAL` or `-ERANGE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberError {
    /// Not a number (`EINVAL`).
    Invalid,
    /// Out of range (`ERANGE`).
    Range,
}

impl NumberError {
    /// `strerror()` of the error, as systemd prints it after `: `.
    pub fn strerror(self) -> &'static str {
        match self {
            NumberError::Invalid => "Invalid argument",
            NumberError::Range => "Numerical result out of range",
        }
    }
}

fn c_isspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// glibc's `strtoul(s, &end, base)` on a 64-bit system: the value (wrapped
/// for a leading `-`, saturated with `Range` on overflow) and how many
/// bytes were consumed (0: no number).
fn strtoul(s: &[u8], base: u32) -> (Result<u64, NumberError>, usize) {
    let mut i = 0;
    while i < s.len() && c_isspace(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&c) = s.get(i)
        && (c == b'+' || c == b'-')
    {
        negative = c == b'-';
        i += 1;
    }
    let mut base = base;
    let hex_prefix = |i: usize| {
        s.get(i) == Some(&b'0')
            && matches!(s.get(i + 1), Some(b'x' | b'X'))
            && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    };
    if (base == 0 || base == 16) && hex_prefix(i) {
        i += 2;
        base = 16;
    } else if base == 0 {
        base = if s.get(i) == Some(&b'0') { 8 } else { 10 };
    }
    let start = i;
    let mut value: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(36)) {
        if d >= base {
            break;
        }
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return (Ok(0), 0);
    }
    if overflow {
        return (Err(NumberError::Range), i);
    }
    (
        Ok(if negative {
            value.wrapping_neg()
        } else {
            value
        }),
        i,
    )
}

/// Flags of `safe_atou_full()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AtoFlags {
    /// `SAFE_ATO_REFUSE_PLUS_MINUS`.
    pub refuse_plus_minus: bool,
    /// `SAFE_ATO_REFUSE_LEADING_ZERO`.
    pub refuse_leading_zero: bool,
    /// `SAFE_ATO_REFUSE_LEADING_WHITESPACE`.
    pub refuse_leading_whitespace: bool,
}

/// `safe_atou_full()` (and, with `max`, the narrower `safe_atou16()` etc.):
/// base 0 takes `0x`, `0o`, `0b` and C's leading-zero octal.
pub fn safe_atou(s: &str, base: u32, flags: AtoFlags, max: u64) -> Result<u64, NumberError> {
    let b = s.as_bytes();
    if flags.refuse_leading_whitespace && b.first().is_some_and(|c| b" \t\n\r".contains(c)) {
        return Err(NumberError::Invalid);
    }
    let skip = b.iter().take_while(|c| b" \t\n\r".contains(c)).count();
    let mut s = &b[skip..];
    if flags.refuse_plus_minus && matches!(s.first(), Some(b'+' | b'-')) {
        return Err(NumberError::Invalid);
    }
    if flags.refuse_leading_zero && s.first() == Some(&b'0') && s != b"0" {
        return Err(NumberError::Invalid);
    }
    let mut base = base;
    if base == 0 {
        if let Some(rest) = s.strip_prefix(b"0b").or_else(|| s.strip_prefix(b"0B")) {
            s = rest;
            base = 2;
        } else if let Some(rest) = s.strip_prefix(b"0o").or_else(|| s.strip_prefix(b"0O")) {
            s = rest;
            base = 8;
        }
    }
    let (value, used) = strtoul(s, base);
    if used == 0 || used != s.len() {
        return Err(NumberError::Invalid);
    }
    let value = value?;
    if value != 0 && s.first() == Some(&b'-') {
        return Err(NumberError::Range);
    }
    if value > max {
        return Err(NumberError::Range);
    }
    Ok(value)
}

/// `parse_boolean()`: case-insensitive `1 yes y true t on` / `0 no n false f off`.
pub fn parse_boolean(s: &str) -> Option<bool> {
    const YES: &[&str] = &["1", "yes", "y", "true", "t", "on"];
    const NO: &[&str] = &["0", "no", "n", "false", "f", "off"];
    if YES.iter().any(|y| y.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if NO.iter().any(|n| n.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// `parse_mode()`: octal, at most `07777`, no sign.
pub fn parse_mode(s: &str) -> Result<u32, NumberError> {
    let flags = AtoFlags {
        refuse_plus_minus: true,
        ..AtoFlags::default()
    };
    let m = safe_atou(s, 8, flags, u64::from(u32::MAX))?;
    if m > 0o7777 {
        return Err(NumberError::Range);
    }
    u32::try_from(m).map_err(|_| NumberError::Range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases() {
        let f = AtoFlags::default();
        assert_eq!(safe_atou("027015", 0, f, 65535), Ok(11789));
        assert_eq!(safe_atou("0x10", 0, f, 65535), Ok(16));
        assert_eq!(safe_atou("0o17", 0, f, 65535), Ok(15));
        assert_eq!(safe_atou("0b101", 0, f, 65535), Ok(5));
        assert_eq!(safe_atou("65536", 0, f, 65535), Err(NumberError::Range));
        assert_eq!(safe_atou("-0", 0, f, 65535), Ok(0));
        assert_eq!(safe_atou("-1", 0, f, 65535), Err(NumberError::Range));
        assert_eq!(safe_atou("+7", 0, f, 65535), Ok(7));
        assert_eq!(safe_atou("7x", 0, f, 65535), Err(NumberError::Invalid));
        assert_eq!(safe_atou("", 0, f, 65535), Err(NumberError::Invalid));
        assert_eq!(safe_atou("0x", 0, f, 65535), Err(NumberError::Invalid));
        assert_eq!(safe_atou("08", 0, f, 65535), Err(NumberError::Invalid));
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0027"), Ok(0o27));
        assert_eq!(parse_mode("777"), Ok(0o777));
        assert_eq!(parse_mode("-777"), Err(NumberError::Invalid));
        assert_eq!(parse_mode("999"), Err(NumberError::Invalid));
        assert_eq!(parse_mode("17777"), Err(NumberError::Range));
        assert_eq!(parse_mode("0x1f"), Err(NumberError::Invalid));
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_boolean("YES"), Some(true));
        assert_eq!(parse_boolean("Off"), Some(false));
        assert_eq!(parse_boolean(""), None);
        assert_eq!(parse_boolean("2"), None);
    }
}
