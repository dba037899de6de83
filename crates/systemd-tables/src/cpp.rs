//! A small C preprocessor: enough of one to read the `#define`s of the
//! kernel and C library headers the way systemd's build scripts do with
//! `cpp -dM` (`generate-errno-list.sh`, `generate-af-list.sh`,
//! `generate-cap-list.sh`).
//!
//! It follows `#include`/`#include_next` through the given include
//! directories, keeps `#define`/`#undef`, and evaluates `#if` expressions
//! with object- and function-like macro expansion, `defined` and
//! `__has_include`. What it does not model, it says: `__has_attribute`,
//! `__has_builtin` and their kin evaluate to 0 (the E*, AF_* and CAP_*
//! macros do not depend on them), and the compiler's own headers
//! (`stddef.h`, `stdarg.h`, ...) are not read, as they define none of those
//! macros. A missing header that is not one of those, an `#error` in a
//! live branch or an expression it cannot evaluate is an error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Headers of the compiler (GCC's private include directory), skipped.
const COMPILER_HEADERS: &[&str] = &[
    "stddef.h",
    "stdarg.h",
    "stdbool.h",
    "float.h",
    "stdint-gcc.h",
    "stdalign.h",
    "stdnoreturn.h",
    "iso646.h",
    "varargs.h",
];

/// The macros GCC 14 predefines for x86-64 Linux that the headers test
/// (`gcc -dM -E - </dev/null`, the subset that matters here), plus
/// `__OPTIMIZE__` from Debian's `-O2`.
const PREDEFINED: &[(&str, &str)] = &[
    ("__STDC__", "1"),
    ("__STDC_VERSION__", "201710L"),
    ("__STDC_HOSTED__", "1"),
    ("__GNUC__", "14"),
    ("__GNUC_MINOR__", "2"),
    ("__GNUC_PATCHLEVEL__", "0"),
    ("__x86_64__", "1"),
    ("__x86_64", "1"),
    ("__amd64__", "1"),
    ("__amd64", "1"),
    ("__linux__", "1"),
    ("__linux", "1"),
    ("__gnu_linux__", "1"),
    ("__unix__", "1"),
    ("__unix", "1"),
    ("__ELF__", "1"),
    ("__LP64__", "1"),
    ("_LP64", "1"),
    ("__CHAR_BIT__", "8"),
    ("__SIZEOF_INT__", "4"),
    ("__SIZEOF_LONG__", "8"),
    ("__SIZEOF_LONG_LONG__", "8"),
    ("__SIZEOF_POINTER__", "8"),
    ("__SIZEOF_SIZE_T__", "8"),
    ("__OPTIMIZE__", "1"),
    ("__ORDER_LITTLE_ENDIAN__", "1234"),
    ("__ORDER_BIG_ENDIAN__", "4321"),
    ("__ORDER_PDP_ENDIAN__", "3412"),
    ("__BYTE_ORDER__", "__ORDER_LITTLE_ENDIAN__"),
];

/// A macro definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// Parameters of a function-like macro.
    pub params: Option<Vec<String>>,
    /// The replacement text, whitespace squeezed.
    pub body: String,
}

impl Macro {
    /// The line `cpp -dM` prints for it (`#define NAME BODY`).
    pub fn dm_line(&self, name: &str) -> String {
        match &self.params {
            Some(p) => format!("#define {name}({}) {}", p.join(","), self.body),
            None => format!("#define {name} {}", self.body),
        }
    }
}

/// The preprocessor state.
#[derive(Debug)]
pub struct Cpp {
    dirs: Vec<PathBuf>,
    macros: BTreeMap<String, Macro>,
    once: BTreeSet<PathBuf>,
    depth: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(String),
    Char(String),
    Str(String),
    Punct(String),
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Ident(s) | Tok::Num(s) | Tok::Char(s) | Tok::Str(s) | Tok::Punct(s) => s,
        }
    }
}

impl Cpp {
    /// A preprocessor searching `dirs` in order for `<...>` headers.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        let mut cpp = Cpp {
            dirs,
            macros: BTreeMap::new(),
            once: BTreeSet::new(),
            depth: 0,
        };
        for (n, v) in PREDEFINED {
            cpp.define(n, v);
        }
        cpp
    }

    /// `-D NAME=VALUE`.
    pub fn define(&mut self, name: &str, value: &str) {
        self.macros.insert(
            name.to_owned(),
            Macro {
                params: None,
                body: value.to_owned(),
            },
        );
    }

    /// The macros defined now, by name.
    pub fn macros(&self) -> &BTreeMap<String, Macro> {
        &self.macros
    }

    /// `-include <header>`: reads a header found in the include directories.
    pub fn include_system(&mut self, header: &str) -> Result<()> {
        let path = self.find(header, 0).ok_or_else(|| {
            Error::shape(header, "#include", "not found in the include directories")
        })?;
        self.file(&path.0, path.1)
    }

    /// Reads the file at `path` (an `-include` of a file given by path).
    pub fn include_path(&mut self, path: &Path) -> Result<()> {
        self.file(path, usize::MAX)
    }

    /// Processes text as if it were a file named `name`.
    pub fn text(&mut self, name: &str, text: &str) -> Result<()> {
        self.lines(name, Path::new("."), usize::MAX, text)
    }

    /// The integer value of the object-like macro `name`, fully expanded;
    /// `None` if it is not defined or not an integer constant expression.
    pub fn value(&self, name: &str) -> Option<i128> {
        let m = self.macros.get(name)?;
        if m.params.is_some() {
            return None;
        }
        let toks = tokenize(&m.body);
        let mut disabled = BTreeSet::new();
        disabled.insert(name.to_owned());
        let expanded = self.expand(&toks, &disabled, false).ok()?;
        if expanded
            .iter()
            .any(|t| matches!(t, Tok::Ident(_) | Tok::Str(_)))
        {
            return None;
        }
        Expr::new(&expanded).parse().ok()
    }

    /// `defined NAME`: a macro, or one of the `__has_*` operators GCC has.
    fn is_defined(&self, name: &str) -> bool {
        self.macros.contains_key(name) || name.starts_with("__has_")
    }

    fn find(&self, header: &str, from: usize) -> Option<(PathBuf, usize)> {
        self.dirs
            .iter()
            .enumerate()
            .skip(from)
            .map(|(i, d)| (d.join(header), i))
            .find(|(p, _)| p.is_file())
    }

    fn file(&mut self, path: &Path, dir_index: usize) -> Result<()> {
        if self.once.contains(path) {
            return Ok(());
        }
        if self.depth > 64 {
            return Err(Error::shape(
                path.display().to_string(),
                "#include",
                "nested too deep",
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        self.depth += 1;
        let r = self.lines(&name, &dir, dir_index, &text);
        self.depth -= 1;
        r
    }

    fn lines(&mut self, file: &str, dir: &Path, dir_index: usize, text: &str) -> Result<()> {
        let joined = text.replace("\\\r\n", "").replace("\\\n", "");
        let clean = crate::text::strip_comments(&joined);
        // (parent live, some branch taken, this branch live)
        let mut stack: Vec<(bool, bool, bool)> = Vec::new();
        for (n, line) in clean.lines().enumerate() {
            let live = stack.last().is_none_or(|s| s.2);
            let t = line.trim_start();
            let Some(d) = t.strip_prefix('#') else {
                continue;
            };
            let d = d.trim_start();
            let (kw, rest) = d
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .map_or((d, ""), |i| (&d[..i], d[i..].trim()));
            let at = || format!("line {}", n + 1);
            match kw {
                "if" | "ifdef" | "ifndef" => {
                    let v = if !live {
                        false
                    } else if kw == "if" {
                        self.condition(rest, dir, dir_index)
                            .map_err(|m| Error::shape(file, at(), m))?
                    } else {
                        let name = rest.split_whitespace().next().unwrap_or_default();
                        self.is_defined(name) == (kw == "ifdef")
                    };
                    stack.push((live, v, live && v));
                }
                "elif" | "elifdef" | "elifndef" => {
                    let Some(top) = stack.last().copied() else {
                        return Err(Error::shape(file, at(), "#elif without #if"));
                    };
                    let v = if !top.0 || top.1 {
                        false
                    } else if kw == "elif" {
                        self.condition(rest, dir, dir_index)
                            .map_err(|m| Error::shape(file, at(), m))?
                    } else {
                        let name = rest.split_whitespace().next().unwrap_or_default();
                        self.is_defined(name) == (kw == "elifdef")
                    };
                    if let Some(s) = stack.last_mut() {
                        *s = (top.0, top.1 || v, top.0 && v);
                    }
                }
                "else" => {
                    let Some(s) = stack.last_mut() else {
                        return Err(Error::shape(file, at(), "#else without #if"));
                    };
                    *s = (s.0, true, s.0 && !s.1);
                }
                "endif" => {
                    if stack.pop().is_none() {
                        return Err(Error::shape(file, at(), "#endif without #if"));
                    }
                }
                _ if !live => {}
                "" => {}
                "define" => self
                    .directive_define(rest)
                    .map_err(|m| Error::shape(file, at(), m))?,
                "undef" => {
                    self.macros
                        .remove(rest.split_whitespace().next().unwrap_or_default());
                }
                "include" | "include_next" => {
                    let (quoted, header) = header_name(rest)
                        .ok_or_else(|| Error::shape(file, at(), format!("#include {rest}")))?;
                    let found = if kw == "include_next" {
                        self.find(&header, dir_index.saturating_add(1))
                    } else if quoted && dir.join(&header).is_file() {
                        Some((dir.join(&header), dir_index))
                    } else {
                        self.find(&header, 0)
                    };
                    match found {
                        Some((p, i)) => self.file(&p, i)?,
                        None if COMPILER_HEADERS.contains(&header.as_str()) => {}
                        None => {
                            return Err(Error::shape(
                                file,
                                at(),
                                format!("header {header} not found"),
                            ));
                        }
                    }
                }
                "pragma" => {
                    if rest.trim() == "once" {
                        self.once.insert(PathBuf::from(file));
                    }
                }
                "error" => return Err(Error::shape(file, at(), format!("#error {rest}"))),
                "warning" | "line" | "ident" | "sccs" => {}
                other => {
                    return Err(Error::shape(
                        file,
                        at(),
                        format!("unknown directive #{other}"),
                    ));
                }
            }
        }
        if !stack.is_empty() {
            return Err(Error::shape(file, "end of file", "unterminated #if"));
        }
        Ok(())
    }

    fn directive_define(&mut self, rest: &str) -> std::result::Result<(), String> {
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(rest.len());
        let name = &rest[..end];
        if name.is_empty() {
            return Err(format!("#define {rest}"));
        }
        let after = &rest[end..];
        let (params, body) = if let Some(p) = after.strip_prefix('(') {
            let close = p.find(')').ok_or_else(|| format!("#define {rest}"))?;
            let params = p[..close]
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            (Some(params), &p[close + 1..])
        } else {
            (None, after)
        };
        let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
        self.macros.insert(name.to_owned(), Macro { params, body });
        Ok(())
    }

    fn condition(
        &self,
        expr: &str,
        dir: &Path,
        dir_index: usize,
    ) -> std::result::Result<bool, String> {
        let toks = tokenize(expr);
        // `defined` and `__has_include` see their operands unexpanded.
        let toks = self.resolve_special(&toks, dir, dir_index)?;
        let expanded = self.expand(&toks, &BTreeSet::new(), true)?;
        let expanded = self.resolve_special(&expanded, dir, dir_index)?;
        let ints: Vec<Tok> = expanded
            .into_iter()
            .map(|t| match t {
                Tok::Ident(_) => Tok::Num("0".to_owned()),
                t => t,
            })
            .collect();
        Expr::new(&ints)
            .parse()
            .map(|v| v != 0)
            .map_err(|e| format!("cannot evaluate #if {expr}: {e}"))
    }

    fn resolve_special(
        &self,
        toks: &[Tok],
        dir: &Path,
        dir_index: usize,
    ) -> std::result::Result<Vec<Tok>, String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            match &toks[i] {
                Tok::Ident(d) if d == "defined" => {
                    let (name, next) = match (toks.get(i + 1), toks.get(i + 2), toks.get(i + 3)) {
                        (Some(Tok::Punct(p)), Some(Tok::Ident(n)), Some(Tok::Punct(q)))
                            if p == "(" && q == ")" =>
                        {
                            (n.clone(), i + 4)
                        }
                        (Some(Tok::Ident(n)), ..) => (n.clone(), i + 2),
                        _ => return Err("malformed defined".to_owned()),
                    };
                    let yes = self.is_defined(&name);
                    out.push(Tok::Num(if yes { "1" } else { "0" }.to_owned()));
                    i = next;
                }
                Tok::Ident(h) if h.starts_with("__has_") => {
                    let Some(Tok::Punct(p)) = toks.get(i + 1) else {
                        // Bare name (as in `#ifdef`-like tests): leave it.
                        out.push(toks[i].clone());
                        i += 1;
                        continue;
                    };
                    if p != "(" {
                        return Err(format!("malformed {h}"));
                    }
                    let close = toks[i..]
                        .iter()
                        .position(|t| *t == Tok::Punct(")".to_owned()))
                        .map(|c| i + c)
                        .ok_or_else(|| format!("unclosed {h}("))?;
                    let arg: String = toks[i + 2..close].iter().map(Tok::text).collect();
                    let v = match h.as_str() {
                        "__has_include" | "__has_include_next" => {
                            let (quoted, header) =
                                header_name(&arg).ok_or_else(|| format!("{h}({arg})"))?;
                            let from = if h == "__has_include_next" {
                                dir_index.saturating_add(1)
                            } else {
                                0
                            };
                            (quoted && dir.join(&header).is_file())
                                || self.find(&header, from).is_some()
                                || COMPILER_HEADERS.contains(&header.as_str())
                        }
                        _ => false,
                    };
                    out.push(Tok::Num(if v { "1" } else { "0" }.to_owned()));
                    i = close + 1;
                }
                t => {
                    out.push(t.clone());
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    /// Expands macros in `toks`; `in_if` keeps `defined X` operands and
    /// `__has_*(...)` calls as they are.
    fn expand(
        &self,
        toks: &[Tok],
        disabled: &BTreeSet<String>,
        in_if: bool,
    ) -> std::result::Result<Vec<Tok>, String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            let Tok::Ident(name) = t else {
                out.push(t.clone());
                i += 1;
                continue;
            };
            if in_if && name == "defined" {
                // Copy `defined X` / `defined ( X )` unexpanded.
                let n = if toks.get(i + 1) == Some(&Tok::Punct("(".to_owned())) {
                    4
                } else {
                    2
                };
                out.extend(toks[i..(i + n).min(toks.len())].iter().cloned());
                i += n;
                continue;
            }
            let Some(m) = self.macros.get(name).filter(|_| !disabled.contains(name)) else {
                out.push(t.clone());
                i += 1;
                continue;
            };
            let mut inner = disabled.clone();
            inner.insert(name.clone());
            match &m.params {
                None => {
                    out.extend(self.expand(&tokenize(&m.body), &inner, in_if)?);
                    i += 1;
                }
                Some(params) => {
                    if toks.get(i + 1) != Some(&Tok::Punct("(".to_owned())) {
                        out.push(t.clone());
                        i += 1;
                        continue;
                    }
                    let (args, next) = call_args(toks, i + 1)?;
                    let variadic = params.last().is_some_and(|p| p == "...");
                    let body = tokenize(&m.body);
                    let mut subst = Vec::new();
                    let mut j = 0;
                    while j < body.len() {
                        let b = &body[j];
                        if *b == Tok::Punct("#".to_owned())
                            && let Some(Tok::Ident(p)) = body.get(j + 1)
                            && let Some(k) = params.iter().position(|q| q == p)
                        {
                            let text: String = args
                                .get(k)
                                .map(|a| a.iter().map(Tok::text).collect::<Vec<_>>().join(" "))
                                .unwrap_or_default();
                            subst.push(Tok::Str(format!("\"{text}\"")));
                            j += 2;
                            continue;
                        }
                        let param = match b {
                            Tok::Ident(p) if p == "__VA_ARGS__" && variadic => {
                                let rest: Vec<Tok> = args
                                    .iter()
                                    .skip(params.len() - 1)
                                    .enumerate()
                                    .flat_map(|(n, a)| {
                                        let comma = (n > 0).then(|| Tok::Punct(",".to_owned()));
                                        comma.into_iter().chain(a.iter().cloned())
                                    })
                                    .collect();
                                Some(rest)
                            }
                            Tok::Ident(p) => params
                                .iter()
                                .position(|q| q == p)
                                .map(|k| args.get(k).cloned().unwrap_or_default()),
                            _ => None,
                        };
                        match param {
                            Some(arg) => subst.extend(self.expand(&arg, disabled, in_if)?),
                            None => subst.push(b.clone()),
                        }
                        j += 1;
                    }
                    let pasted = paste(subst);
                    out.extend(self.expand(&pasted, &inner, in_if)?);
                    i = next;
                }
            }
        }
        Ok(out)
    }
}

/// `<name>` or `"name"`: (quoted, name).
fn header_name(rest: &str) -> Option<(bool, String)> {
    let r = rest.trim();
    if let Some(r) = r.strip_prefix('<') {
        return r.find('>').map(|e| (false, r[..e].trim().to_owned()));
    }
    if let Some(r) = r.strip_prefix('"') {
        return r.find('"').map(|e| (true, r[..e].to_owned()));
    }
    None
}

/// The arguments of a call whose `(` is at `open`; returns them and the
/// index after the `)`.
fn call_args(toks: &[Tok], open: usize) -> std::result::Result<(Vec<Vec<Tok>>, usize), String> {
    let mut depth = 0;
    let mut args = vec![Vec::new()];
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.text() {
            "(" => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ")" => {
                depth -= 1;
                if depth == 0 {
                    if args.len() == 1 && args[0].is_empty() {
                        args.clear();
                    }
                    return Ok((args, k + 1));
                }
            }
            "," if depth == 1 => {
                args.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(a) = args.last_mut() {
            a.push(t.clone());
        }
    }
    Err("unclosed macro call".to_owned())
}

/// Applies `##`.
fn paste(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    let mut it = toks.into_iter().peekable();
    while let Some(t) = it.next() {
        if t == Tok::Punct("##".to_owned()) {
            if let (Some(prev), Some(next)) = (out.pop(), it.next()) {
                let joined = format!("{}{}", prev.text(), next.text());
                out.extend(tokenize(&joined));
            }
            continue;
        }
        out.push(t);
    }
    out
}

fn tokenize(s: &str) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && crate::text::is_ident(b[i]) {
                i += 1;
            }
            out.push(Tok::Ident(s[start..i].to_owned()));
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (crate::text::is_ident(b[i]) || b[i] == b'.') {
                i += 1;
            }
            out.push(Tok::Num(s[start..i].to_owned()));
        } else if c == b'\'' || c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            let text = s[start..i].to_owned();
            out.push(if c == b'"' {
                Tok::Str(text)
            } else {
                Tok::Char(text)
            });
        } else {
            let two = s.get(i..i + 2).unwrap_or("");
            let p = if ["<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "##"].contains(&two) {
                two
            } else {
                &s[i..i + 1]
            };
            i += p.len();
            out.push(Tok::Punct(p.to_owned()));
        }
    }
    out
}

/// Integer constant expressions, by precedence climbing.
struct Expr<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Expr<'a> {
    fn new(toks: &'a [Tok]) -> Self {
        Expr { toks, pos: 0 }
    }

    fn parse(mut self) -> std::result::Result<i128, String> {
        let v = self.ternary()?;
        if self.pos != self.toks.len() {
            return Err(format!("unexpected {:?}", self.toks[self.pos].text()));
        }
        Ok(v)
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(Tok::text)
    }

    fn ternary(&mut self) -> std::result::Result<i128, String> {
        let c = self.binary(0)?;
        if self.peek() == Some("?") {
            self.pos += 1;
            let a = self.ternary()?;
            if self.peek() != Some(":") {
                return Err("missing :".to_owned());
            }
            self.pos += 1;
            let b = self.ternary()?;
            return Ok(if c != 0 { a } else { b });
        }
        Ok(c)
    }

    fn binary(&mut self, min: u8) -> std::result::Result<i128, String> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek() {
            let prec = match op {
                "||" => 1,
                "&&" => 2,
                "|" => 3,
                "^" => 4,
                "&" => 5,
                "==" | "!=" => 6,
                "<" | ">" | "<=" | ">=" => 7,
                "<<" | ">>" => 8,
                "+" | "-" => 9,
                "*" | "/" | "%" => 10,
                _ => break,
            };
            if prec < min.max(1) {
                break;
            }
            let op = op.to_owned();
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = match op.as_str() {
                "||" => i128::from(lhs != 0 || rhs != 0),
                "&&" => i128::from(lhs != 0 && rhs != 0),
                "|" => lhs | rhs,
                "^" => lhs ^ rhs,
                "&" => lhs & rhs,
                "==" => i128::from(lhs == rhs),
                "!=" => i128::from(lhs != rhs),
                "<" => i128::from(lhs < rhs),
                ">" => i128::from(lhs > rhs),
                "<=" => i128::from(lhs <= rhs),
                ">=" => i128::from(lhs >= rhs),
                "<<" => lhs
                    .checked_shl(u32::try_from(rhs).map_err(|_| "shift")?)
                    .ok_or("shift")?,
                ">>" => lhs
                    .checked_shr(u32::try_from(rhs).map_err(|_| "shift")?)
                    .ok_or("shift")?,
                "+" => lhs.checked_add(rhs).ok_or("overflow")?,
                "-" => lhs.checked_sub(rhs).ok_or("overflow")?,
                "*" => lhs.checked_mul(rhs).ok_or("overflow")?,
                "/" => lhs.checked_div(rhs).ok_or("division by zero")?,
                _ => lhs.checked_rem(rhs).ok_or("division by zero")?,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> std::result::Result<i128, String> {
        let Some(t) = self.toks.get(self.pos) else {
            return Err("unexpected end".to_owned());
        };
        self.pos += 1;
        match t {
            Tok::Num(n) => number(n),
            Tok::Char(c) => char_value(c),
            Tok::Punct(p) => match p.as_str() {
                "(" => {
                    let v = self.ternary()?;
                    if self.peek() != Some(")") {
                        return Err("missing )".to_owned());
                    }
                    self.pos += 1;
                    Ok(v)
                }
                "!" => Ok(i128::from(self.unary()? == 0)),
                "~" => Ok(!self.unary()?),
                "-" => Ok(-self.unary()?),
                "+" => self.unary(),
                other => Err(format!("unexpected {other:?}")),
            },
            other => Err(format!("unexpected {:?}", other.text())),
        }
    }
}

fn number(n: &str) -> std::result::Result<i128, String> {
    let digits = n.trim_end_matches(['u', 'U', 'l', 'L']);
    let (radix, body) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if let Some(b) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, b)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    i128::from_str_radix(body, radix).map_err(|_| format!("bad number {n:?}"))
}

fn char_value(c: &str) -> std::result::Result<i128, String> {
    let inner = c
        .strip_prefix('\'')
        .and_then(|c| c.strip_suffix('\''))
        .ok_or_else(|| format!("bad character {c}"))?;
    match inner.as_bytes() {
        [x] => Ok(i128::from(*x)),
        [b'\\', b'0'] => Ok(0),
        [b'\\', b'n'] => Ok(10),
        _ => Err(format!("unsupported character {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> Cpp {
        let mut cpp = Cpp::new(Vec::new());
        cpp.text("t.h", src).unwrap();
        cpp
    }

    #[test]
    fn conditions_and_function_macros() {
        let cpp = run(
            "#define PREREQ(maj, min) ((__GNUC__ << 16) + __GNUC_MINOR__ >= ((maj) << 16) + (min))\n\
             #if PREREQ (4, 1) && !defined NOPE\n#define A 1\n#elif 1\n#define A 2\n#else\n#define A 3\n#endif\n\
             #if defined(A) && A == 1\n#define B A\n#endif\n\
             #ifndef C\n#define C (B + 0x10)\n#endif\n\
             #define D C\n#undef C\n",
        );
        assert_eq!(cpp.value("A"), Some(1));
        assert_eq!(cpp.value("B"), Some(1));
        assert_eq!(cpp.value("C"), None);
        assert_eq!(cpp.value("D"), None, "D names an undefined macro");
    }

    #[test]
    fn an_error_in_a_live_branch_fails_and_a_dead_one_does_not() {
        let mut cpp = Cpp::new(Vec::new());
        assert!(cpp.text("t.h", "#if 0\n#error no\n#endif\n").is_ok());
        assert!(cpp.text("t.h", "#if 1\n#error yes\n#endif\n").is_err());
        assert!(cpp.text("t.h", "#include <nowhere.h>\n").is_err());
        assert!(cpp.text("t.h", "#include <stddef.h>\n").is_ok());
    }
}
