//! Path checks of `src/basic/path-util.c` and `path_simplify_and_warn()`
//! of `src/shared/parse-helpers.c`.

/// `PATH_MAX`, counted with the trailing NUL.
pub const PATH_MAX: usize = 4096;
/// `NAME_MAX`.
pub const NAME_MAX: usize = 255;

fn skip_slash_or_dot(p: &[u8]) -> &[u8] {
    let mut p = p;
    loop {
        match p {
            [b'/', rest @ ..] => p = rest,
            [b'.', b'/', rest @ ..] => p = rest,
            _ => return p,
        }
    }
}

/// `path_find_first_component()`: the next component of `p` and the rest,
/// `Ok(None)` at the end, `Err` for a component over `NAME_MAX` (or `..`
/// when not accepted).
#[allow(clippy::type_complexity)]
fn first_component(p: &[u8], accept_dot_dot: bool) -> Result<Option<(&[u8], &[u8])>, ()> {
    let first = skip_slash_or_dot(p);
    if first.is_empty() {
        return Ok(None);
    }
    if first == b"." {
        return Ok(None);
    }
    let len = first.iter().position(|&b| b == b'/').unwrap_or(first.len());
    if len > NAME_MAX {
        return Err(());
    }
    if !accept_dot_dot && &first[..len] == b".." {
        return Err(());
    }
    let next = skip_slash_or_dot(&first[len..]);
    let next = if next == b"." { &next[1..] } else { next };
    Ok(Some((&first[..len], next)))
}

/// `path_is_valid_full()`.
pub fn is_valid(p: &str, accept_dot_dot: bool) -> bool {
    let bytes = p.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut e = bytes;
    loop {
        match first_component(e, accept_dot_dot) {
            Err(()) => return false,
            Ok(None) => {
                // e is at the end (or "." was skipped): length so far is all.
                return bytes.len() < PATH_MAX;
            }
            Ok(Some((_, next))) => {
                let consumed = bytes.len() - next.len();
                if consumed >= PATH_MAX {
                    return false;
                }
                if next.is_empty() {
                    return true;
                }
                e = next;
            }
        }
    }
}

/// `path_is_normalized()`.
pub fn is_normalized(p: &str) -> bool {
    if !is_valid(p, false) {
        return false;
    }
    if p == "." || p.starts_with("./") || p.ends_with("/.") || p.contains("/./") {
        return false;
    }
    !p.contains("//")
}

/// `path_simplify_full(path, 0)`: removes redundant slashes and `.`
/// components, and `..` right after the root of an absolute path.
pub fn simplify(path: &str) -> String {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return String::new();
    }
    let absolute = bytes[0] == b'/';
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    if absolute {
        out.push(b'/');
    }
    let mut p = &bytes[usize::from(absolute)..];
    let mut add_slash = false;
    let mut beginning = true;
    loop {
        match first_component(p, true) {
            Ok(None) => break,
            Ok(Some((c, next))) => {
                if absolute && beginning && c == b".." {
                    p = next;
                    continue;
                }
                beginning = false;
                if add_slash {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
                add_slash = true;
                p = next;
            }
            Err(()) => {
                if add_slash {
                    out.push(b'/');
                }
                out.extend_from_slice(p);
                return crate::systemd::extract::into_string(out);
            }
        }
    }
    if out.is_empty() {
        out.push(b'.');
    }
    // Components of a `&str` cut at ASCII `/`: still UTF-8.
    crate::systemd::extract::into_string(out)
}

/// `path_simplify_and_warn(path, PATH_CHECK_ABSOLUTE, …)` for directive
/// `lvalue`: the simplified path, or systemd's warning (the item is then
/// ignored).
pub fn simplify_absolute(path: &str, lvalue: &str) -> Result<String, String> {
    if crate::lexer::systemd_utf8(path.as_bytes()).is_none() {
        return Err(format!(
            "String is not UTF-8 clean, ignoring assignment: {path}"
        ));
    }
    if !path.starts_with('/') {
        return Err(format!("{lvalue}= path is not absolute, ignoring: {path}"));
    }
    let p = simplify(path);
    if !is_valid(&p, true) {
        return Err(format!(
            "{lvalue}= path has invalid length ({} bytes), ignoring.",
            p.len()
        ));
    }
    if !is_normalized(&p) {
        return Err(format!("{lvalue}= path is not normalized, ignoring: {p}"));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplifies_like_systemd() {
        for (input, want) in [
            ("///foo//./bar/.", "/foo/bar"),
            (".//./foo//./bar/.", "foo/bar"),
            ("/../foo/bar", "/foo/bar"),
            ("/../foo/bar/..", "/foo/bar/.."),
            ("/", "/"),
            ("/./", "/"),
            (".", "."),
            ("a/", "a"),
        ] {
            assert_eq!(simplify(input), want, "{input}");
        }
    }

    #[test]
    fn absolute_paths_are_checked() {
        assert_eq!(simplify_absolute("/a//b/", "X"), Ok("/a/b".into()));
        assert!(
            simplify_absolute("a", "X")
                .unwrap_err()
                .contains("not absolute")
        );
        assert!(
            simplify_absolute("/a/../b", "X")
                .unwrap_err()
                .contains("not normalized")
        );
        let long = format!("/{}", "a".repeat(256));
        assert!(
            simplify_absolute(&long, "X")
                .unwrap_err()
                .contains("invalid length")
        );
        let deep = "/aaaaaaaa".repeat(500);
        assert!(
            simplify_absolute(&deep, "X")
                .unwrap_err()
                .contains("invalid length")
        );
    }
}
