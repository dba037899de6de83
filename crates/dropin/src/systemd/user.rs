//! User and group names: `valid_user_group_name()` and `parse_uid()` of
//! `src/basic/user-util.c`.

use super::number::{AtoFlags, safe_atou};

/// `parse_uid()`: decimal, no sign, no leading zero or whitespace, not
/// one of the two invalid ids.
pub fn parse_uid(s: &str) -> Option<u32> {
    let flags = AtoFlags {
        refuse_plus_minus: true,
        refuse_leading_zero: true,
        refuse_leading_whitespace: true,
    };
    let v = safe_atou(s, 10, flags, u64::from(u32::MAX)).ok()?;
    let v = u32::try_from(v).ok()?;
    (v != u32::MAX && v != 0xFFFF).then_some(v)
}

/// `valid_user_group_name()`: with `relax`, the flags
/// `VALID_USER_ALLOW_NUMERIC|VALID_USER_RELAX` unit files are read with;
/// without, the strict rules (`0`).
pub fn valid_user_group_name(u: &str, relax: bool) -> bool {
    if u.is_empty() {
        return false;
    }
    if parse_uid(u).is_some() {
        return relax;
    }
    if relax {
        if u.starts_with(' ') || u.ends_with(' ') {
            return false;
        }
        if u.chars().any(|c| (c as u32) < 0x20 || c as u32 == 0x7f) {
            return false;
        }
        if u.contains([':', '/']) {
            return false;
        }
        if u.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if let Some(rest) = u.strip_prefix('-')
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
        return u != "." && u != "..";
    }
    let b = u.as_bytes();
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_') {
        return false;
    }
    if !b[1..]
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
    {
        return false;
    }
    b.len() <= 31
}
