//! The exposure checks of `systemd-analyze security`
//! (`security_assessor_table[]` in `src/analyze/analyze-security.c`).

use std::fmt::Write as _;
use std::path::Path;

use crate::emit::{doc, header, lit, opt_lit};
use crate::names::Names;
use crate::syscalls::designated;
use crate::text::{self, balanced, c_strings, split_top_level, squeeze, strip_comments};
use crate::{Error, Result, Source, feature};

const FILE: &str = "src/analyze/analyze-security.c";
const WHAT: &str = "security_assessor_table[]";

/// What a check's `.parameter` means, decoded from its C expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    /// No `.parameter`.
    None,
    /// A capability mask `(UINT64_C(1) << CAP_X) | ...`: the names.
    Capabilities(Vec<String>),
    /// `SYSCALL_FILTER_SET_X`: the group's enum name.
    SyscallGroup(String),
    /// `CLONE_NEWX`: the namespace clone flag's name.
    Namespace(String),
    /// `true` / `false`.
    Bool(bool),
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// `.id`: the NAME column.
    pub id: String,
    /// `.json_field`.
    pub json_field: String,
    /// `.description_good`.
    pub description_good: Option<String>,
    /// `.description_bad`.
    pub description_bad: Option<String>,
    /// `.description_na`.
    pub description_na: Option<String>,
    /// `.url`.
    pub url: Option<String>,
    /// `.weight`.
    pub weight: u64,
    /// `.range`.
    pub range: u64,
    /// `.assess`: the function name.
    pub assess: String,
    /// `.offset`'s field of `SecurityInfo` (for `assess_bool`).
    pub offset: Option<String>,
    /// `.parameter` as written in C (whitespace squeezed).
    pub parameter_c: Option<String>,
    /// `.parameter` decoded.
    pub parameter: Parameter,
    /// `.default_dependencies_only`.
    pub default_dependencies_only: bool,
    /// The `#if` the row is under, if any (e.g. `HAVE_SECCOMP`).
    pub condition: Option<String>,
}

/// Reads the table in order, keeping the rows the Debian build compiles.
pub fn checks(src: &Path) -> Result<Vec<Check>> {
    let c = strip_comments(&text::read(src, FILE)?);
    let decl = "static const struct security_assessor security_assessor_table[] =";
    let at = c
        .find(decl)
        .ok_or_else(|| Error::shape(FILE, WHAT, "declaration not found"))?;
    let open = at
        + c[at..]
            .find('{')
            .ok_or_else(|| Error::shape(FILE, WHAT, "no initializer"))?;
    let (body, _) = balanced(&c, open, FILE, WHAT)?;
    // Mark each row with the #if it sits under, then split the rows.
    let mut rows_text = String::new();
    let mut cond: Option<String> = None;
    for line in body.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix("#if ") {
            if cond.is_some() {
                return Err(Error::shape(FILE, WHAT, "nested #if"));
            }
            let c = c.trim().to_owned();
            feature(&c).map_err(|m| Error::shape(FILE, WHAT, m))?;
            cond = Some(c);
        } else if t == "#endif" {
            if cond.take().is_none() {
                return Err(Error::shape(FILE, WHAT, "#endif without #if"));
            }
        } else if t.starts_with('#') {
            return Err(Error::shape(FILE, WHAT, format!("unexpected {t:?}")));
        } else {
            // Carry the condition into the row text as a pseudo field.
            if t == "{"
                && let Some(c) = &cond
            {
                rows_text.push_str(&format!("{{ .__condition = \"{c}\","));
                continue;
            }
            rows_text.push_str(line);
            rows_text.push('\n');
        }
    }
    if cond.is_some() {
        return Err(Error::shape(FILE, WHAT, "#if without #endif"));
    }
    let mut out = Vec::new();
    for (i, entry) in split_top_level(&rows_text).into_iter().enumerate() {
        let ctx = format!("{WHAT} row {}", i + 1);
        let (designator, fields) = designated(entry, FILE, &ctx)?;
        if designator.is_some() {
            return Err(Error::shape(FILE, &ctx, "unexpected designator"));
        }
        let mut row = Check {
            id: String::new(),
            json_field: String::new(),
            description_good: None,
            description_bad: None,
            description_na: None,
            url: None,
            weight: 0,
            range: 0,
            assess: String::new(),
            offset: None,
            parameter_c: None,
            parameter: Parameter::None,
            default_dependencies_only: false,
            condition: None,
        };
        for (field, expr) in fields {
            let s = || c_strings(&expr, FILE, &ctx);
            let n = || {
                expr.parse::<u64>()
                    .map_err(|_| Error::shape(FILE, &ctx, format!(".{field} = {expr:?}")))
            };
            match field.as_str() {
                "__condition" => row.condition = Some(s()?),
                "id" => row.id = s()?,
                "json_field" => row.json_field = s()?,
                "description_good" => row.description_good = Some(s()?),
                "description_bad" => row.description_bad = Some(s()?),
                "description_na" => row.description_na = Some(s()?),
                "url" => row.url = Some(s()?),
                "weight" => row.weight = n()?,
                "range" => row.range = n()?,
                "assess" => {
                    if !expr.bytes().all(text::is_ident) {
                        return Err(Error::shape(FILE, &ctx, format!(".assess = {expr:?}")));
                    }
                    row.assess = expr;
                }
                "offset" => {
                    let f = expr
                        .strip_prefix("offsetof(SecurityInfo,")
                        .and_then(|r| r.strip_suffix(')'))
                        .map(str::trim)
                        .ok_or_else(|| Error::shape(FILE, &ctx, format!(".offset = {expr:?}")))?;
                    row.offset = Some(f.to_owned());
                }
                "parameter" => {
                    row.parameter = parameter(&expr).ok_or_else(|| {
                        Error::shape(FILE, &ctx, format!(".parameter = {expr:?}"))
                    })?;
                    row.parameter_c = Some(squeeze(&expr));
                }
                "default_dependencies_only" => {
                    row.default_dependencies_only = match expr.as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(Error::shape(FILE, &ctx, format!("{field} = {expr}"))),
                    }
                }
                other => return Err(Error::shape(FILE, &ctx, format!("unknown field .{other}"))),
            }
        }
        if row.id.is_empty() || row.json_field.is_empty() || row.assess.is_empty() || row.range == 0
        {
            return Err(Error::shape(
                FILE,
                &ctx,
                "missing .id, .json_field, .assess or .range",
            ));
        }
        let keep = match &row.condition {
            Some(c) => feature(c).map_err(|m| Error::shape(FILE, &ctx, m))?,
            None => true,
        };
        if keep {
            out.push(row);
        }
    }
    Ok(out)
}

const GLYPH_FILE: &str = "src/basic/glyph-util.c";
const GLYPH_HEADER: &str = "src/basic/glyph-util.h";

/// One level of the overall exposure (`badness_table[]` of `assess()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// The lowest exposure (in tenths) of the level.
    pub min: u64,
    /// Its name (`OK`).
    pub name: String,
    /// The `SPECIAL_GLYPH_*` smiley shown with it.
    pub smiley: String,
}

/// A glyph of `special_glyph()`: its two forms and whether it is an
/// emoji (shown only when emoji are enabled, not merely UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glyph {
    /// The `SPECIAL_GLYPH_*` name.
    pub name: String,
    /// The UTF-8 form.
    pub utf8: String,
    /// The ASCII fallback.
    pub ascii: String,
    /// At or after `_SPECIAL_GLYPH_FIRST_EMOJI`.
    pub emoji: bool,
}

/// What the scorer takes from around the table: the exposure levels, the
/// glyphs it prints and the string tables of the settings it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extras {
    /// `badness_table[]`, in order.
    pub levels: Vec<Level>,
    /// The check and cross marks, the arrow and the levels' smileys.
    pub glyphs: Vec<Glyph>,
    /// `notify_access_table[]` (`src/basic/unit-def.c`), in index order.
    pub notify_access: Vec<String>,
    /// `cgroup_device_policy_table[]` (`src/core/cgroup.c`), in index order.
    pub device_policies: Vec<String>,
    /// The intervals `unichar_iswide()` (`src/basic/gunicode.c`) counts
    /// as two cells wide, in order.
    pub wide: Vec<(u32, u32)>,
}

/// Reads the exposure levels, glyphs and string tables.
pub fn extras(src: &Path) -> Result<Extras> {
    let c = strip_comments(&text::read(src, FILE)?);
    let what = "badness_table[]";
    let at = c
        .find("badness_table[] = {")
        .ok_or_else(|| Error::shape(FILE, what, "not found"))?;
    let open = at + "badness_table[] = ".len();
    let (body, _) = balanced(&c, open, FILE, what)?;
    let mut levels = Vec::new();
    for row in split_top_level(body) {
        let inner = row
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| Error::shape(FILE, what, format!("row {row:?}")))?;
        let f = split_top_level(inner);
        let [min, name, _color, smiley] = f.as_slice() else {
            return Err(Error::shape(FILE, what, format!("row {row:?}")));
        };
        levels.push(Level {
            min: min
                .parse()
                .map_err(|_| Error::shape(FILE, what, format!("exposure {min:?}")))?,
            name: c_strings(name, FILE, what)?,
            smiley: smiley.to_string(),
        });
    }
    if levels.is_empty() || levels.last().map(|l| l.min) != Some(0) {
        return Err(Error::shape(FILE, what, "the last level must start at 0"));
    }
    let mut wanted: Vec<String> = vec![
        "SPECIAL_GLYPH_CHECK_MARK".into(),
        "SPECIAL_GLYPH_CROSS_MARK".into(),
        "SPECIAL_GLYPH_ARROW_RIGHT".into(),
    ];
    for l in &levels {
        if !wanted.contains(&l.smiley) {
            wanted.push(l.smiley.clone());
        }
    }
    let glyphs = glyphs(src, &wanted)?;
    Ok(Extras {
        levels,
        glyphs,
        notify_access: string_table(src, "src/basic/unit-def.c", "notify_access_table")?,
        device_policies: string_table(src, "src/core/cgroup.c", "cgroup_device_policy_table")?,
        wide: wide(src)?,
    })
}

const GUNICODE_FILE: &str = "src/basic/gunicode.c";

/// The `wide[]` intervals of `unichar_iswide()`.
fn wide(src: &Path) -> Result<Vec<(u32, u32)>> {
    let what = "unichar_iswide() wide[]";
    let c = strip_comments(&text::read(src, GUNICODE_FILE)?);
    let body = text::function_body(&c, "unichar_iswide")
        .ok_or_else(|| Error::shape(GUNICODE_FILE, what, "function not found"))?;
    let at = body
        .find("wide[] = ")
        .ok_or_else(|| Error::shape(GUNICODE_FILE, what, "table not found"))?;
    let (table, _) = balanced(body, at + "wide[] = ".len(), GUNICODE_FILE, what)?;
    let hex = |t: &str| {
        t.trim()
            .strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| Error::shape(GUNICODE_FILE, what, format!("bound {t:?}")))
    };
    let mut out: Vec<(u32, u32)> = Vec::new();
    for entry in split_top_level(table) {
        let inner = entry
            .strip_prefix('{')
            .and_then(|e| e.strip_suffix('}'))
            .ok_or_else(|| Error::shape(GUNICODE_FILE, what, format!("entry {entry:?}")))?;
        let (a, b) = inner
            .split_once(',')
            .ok_or_else(|| Error::shape(GUNICODE_FILE, what, format!("entry {entry:?}")))?;
        let (a, b) = (hex(a)?, hex(b)?);
        if a > b || out.last().is_some_and(|(_, hi)| *hi >= a) {
            return Err(Error::shape(GUNICODE_FILE, what, "intervals out of order"));
        }
        out.push((a, b));
    }
    if out.is_empty() {
        return Err(Error::shape(GUNICODE_FILE, what, "empty"));
    }
    Ok(out)
}

/// The entries of `static const char* const NAME[…] = { [X] = "s", … };`
/// in declaration order (which is index order for these tables: checked
/// by the entries' designators being distinct and none skipped).
fn string_table(src: &Path, file: &str, name: &str) -> Result<Vec<String>> {
    let c = strip_comments(&text::read(src, file)?);
    let what = format!("{name}[]");
    let at = text::word_positions(&c, name)
        .find(|&i| {
            c[i..]
                .trim_start_matches(name)
                .trim_start()
                .starts_with('[')
        })
        .ok_or_else(|| Error::shape(file, &what, "not found"))?;
    let open = at
        + c[at..]
            .find('{')
            .ok_or_else(|| Error::shape(file, &what, "no initializer"))?;
    let (body, _) = balanced(&c, open, file, &what)?;
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for entry in split_top_level(body) {
        let (designator, value) = entry
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .and_then(|(d, v)| Some((d.trim(), v.trim().strip_prefix('=')?.trim())))
            .ok_or_else(|| Error::shape(file, &what, format!("entry {entry:?}")))?;
        if seen.contains(&designator) {
            return Err(Error::shape(file, &what, format!("{designator} twice")));
        }
        seen.push(designator);
        out.push(c_strings(value, file, &what)?);
    }
    if out.is_empty() {
        return Err(Error::shape(file, &what, "empty"));
    }
    Ok(out)
}

/// The forms of the `wanted` glyphs from `draw_table[][]`, and which are
/// emoji (declared at or after `_SPECIAL_GLYPH_FIRST_EMOJI`).
fn glyphs(src: &Path, wanted: &[String]) -> Result<Vec<Glyph>> {
    let what = "draw_table[][]";
    let c = strip_comments(&text::read(src, GLYPH_FILE)?);
    let at = c
        .find("draw_table[2][_SPECIAL_GLYPH_MAX] = {")
        .ok_or_else(|| Error::shape(GLYPH_FILE, what, "not found"))?;
    let open = at + "draw_table[2][_SPECIAL_GLYPH_MAX] = ".len();
    let (body, _) = balanced(&c, open, GLYPH_FILE, what)?;
    let mut forms: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
    for half in split_top_level(body) {
        let (designator, rest) = half
            .strip_prefix('[')
            .and_then(|r| r.split_once(']'))
            .ok_or_else(|| Error::shape(GLYPH_FILE, what, "an unnamed half"))?;
        let k = match designator.trim() {
            "false" => 0,
            "true" => 1,
            d => return Err(Error::shape(GLYPH_FILE, what, format!("half [{d}]"))),
        };
        let rest = rest.trim().strip_prefix('=').map(str::trim).unwrap_or("");
        let (inner, _) = balanced(rest, 0, GLYPH_FILE, what)?;
        for entry in split_top_level(inner) {
            let (name, value) = entry
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .and_then(|(d, v)| Some((d.trim(), v.trim().strip_prefix('=')?.trim())))
                .ok_or_else(|| Error::shape(GLYPH_FILE, what, format!("entry {entry:?}")))?;
            let value = value.strip_prefix("u8").unwrap_or(value);
            forms[k].push((name.to_owned(), c_strings(value, GLYPH_FILE, what)?));
        }
    }
    let h = strip_comments(&text::read(src, GLYPH_HEADER)?);
    let enum_at = h
        .find("typedef enum SpecialGlyph {")
        .ok_or_else(|| Error::shape(GLYPH_HEADER, "SpecialGlyph", "not found"))?;
    let (enum_body, _) = balanced(
        &h,
        enum_at + "typedef enum SpecialGlyph ".len(),
        GLYPH_HEADER,
        "SpecialGlyph",
    )?;
    let order: Vec<&str> = split_top_level(enum_body)
        .into_iter()
        .map(|e| e.split('=').next().unwrap_or(e).trim())
        .collect();
    let first_emoji = order
        .iter()
        .position(|n| *n == "_SPECIAL_GLYPH_FIRST_EMOJI")
        .ok_or_else(|| {
            Error::shape(
                GLYPH_HEADER,
                "SpecialGlyph",
                "no _SPECIAL_GLYPH_FIRST_EMOJI",
            )
        })?;
    wanted
        .iter()
        .map(|name| {
            let form = |k: usize| {
                forms[k]
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| Error::shape(GLYPH_FILE, what, format!("no {name}")))
            };
            let pos = order
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| Error::shape(GLYPH_HEADER, "SpecialGlyph", format!("no {name}")))?;
            Ok(Glyph {
                name: name.clone(),
                utf8: form(1)?,
                ascii: form(0)?,
                emoji: pos >= first_emoji,
            })
        })
        .collect()
}

/// Decodes a `.parameter` expression; `None` for a shape not understood.
fn parameter(expr: &str) -> Option<Parameter> {
    let e = squeeze(expr);
    match e.as_str() {
        "true" => return Some(Parameter::Bool(true)),
        "false" => return Some(Parameter::Bool(false)),
        _ => {}
    }
    let ident = |s: &str| !s.is_empty() && s.bytes().all(text::is_ident);
    if let Some(g) = e.strip_prefix("SYSCALL_FILTER_SET_") {
        return ident(g).then(|| Parameter::SyscallGroup(e.clone()));
    }
    if let Some(n) = e.strip_prefix("CLONE_NEW") {
        return ident(n).then(|| Parameter::Namespace(e.clone()));
    }
    // (UINT64_C(1) << CAP_X) | UINT64_C(1) << CAP_Y ...
    let mut caps = Vec::new();
    for term in e.split('|') {
        let t = term.trim();
        let t = t
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or(t)
            .trim();
        let cap = t.strip_prefix("UINT64_C(1) <<")?.trim();
        if !cap.starts_with("CAP_") || !ident(cap) {
            return None;
        }
        caps.push(cap.to_owned());
    }
    Some(Parameter::Capabilities(caps))
}

/// `exposure.rs`.
pub(crate) fn emit(s: &Source, checks: &[Check], extras: &Extras, names: &Names) -> String {
    let mut out = header(
        "The exposure checks of `systemd-analyze security`, in table order.",
        &s.version,
        &[
            FILE,
            GLYPH_FILE,
            GLYPH_HEADER,
            "src/basic/unit-def.c",
            "src/core/cgroup.c",
            GUNICODE_FILE,
        ],
        &[
            "Rows under `#if HAVE_SECCOMP` are kept: Debian builds with seccomp. A \
             capability parameter is also given as its mask, with the numbers of the \
             capability table (names.rs).",
        ],
    );
    out.push_str(
        "/// What a check's `.parameter` means.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) enum Parameter {\n\
         \x20   /// No parameter.\n\
         \x20   None,\n\
         \x20   /// A capability bounding set mask: the capabilities (upper-case names) and the mask.\n\
         \x20   Capabilities(&'static [&'static str], u64),\n\
         \x20   /// A system call group (its `@name`).\n\
         \x20   SyscallGroup(&'static str),\n\
         \x20   /// A namespace (its `RestrictNamespaces=` name).\n\
         \x20   Namespace(&'static str),\n\
         \x20   /// A flag (`true`: the check is inverted).\n\
         \x20   Bool(bool),\n\
         }\n\n\
         /// One row of `security_assessor_table[]`.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct ExposureCheck {\n\
         \x20   /// The NAME column (`.id`).\n\
         \x20   pub(crate) id: &'static str,\n\
         \x20   /// The key in `--json` output.\n\
         \x20   pub(crate) json_field: &'static str,\n\
         \x20   /// Shown when the badness is 0.\n\
         \x20   pub(crate) description_good: Option<&'static str>,\n\
         \x20   /// Shown when the badness is above 0.\n\
         \x20   pub(crate) description_bad: Option<&'static str>,\n\
         \x20   /// Shown when the check does not apply.\n\
         \x20   pub(crate) description_na: Option<&'static str>,\n\
         \x20   /// The documentation link.\n\
         \x20   pub(crate) url: Option<&'static str>,\n\
         \x20   /// The weight in the overall score.\n\
         \x20   pub(crate) weight: u64,\n\
         \x20   /// The badness range (the maximum badness).\n\
         \x20   pub(crate) range: u64,\n\
         \x20   /// The C function that assesses it.\n\
         \x20   pub(crate) assess: &'static str,\n\
         \x20   /// The `SecurityInfo` field `assess_bool` reads.\n\
         \x20   pub(crate) offset: Option<&'static str>,\n\
         \x20   /// The parameter as written in C.\n\
         \x20   pub(crate) parameter_c: Option<&'static str>,\n\
         \x20   /// The parameter, decoded.\n\
         \x20   pub(crate) parameter: Parameter,\n\
         \x20   /// Not applicable when the unit has `DefaultDependencies=no`.\n\
         \x20   pub(crate) default_dependencies_only: bool,\n\
         }\n\n",
    );
    out.push_str(&doc(
        &format!(
            "The {} checks, in table order (the order ties keep when sorting).",
            checks.len()
        ),
        0,
    ));
    out.push_str("#[rustfmt::skip]\npub(crate) static EXPOSURE_CHECKS: &[ExposureCheck] = &[\n");
    for c in checks {
        let parameter = match &c.parameter {
            Parameter::None => "Parameter::None".to_owned(),
            Parameter::Bool(b) => format!("Parameter::Bool({b})"),
            Parameter::SyscallGroup(e) => {
                let group = e
                    .strip_prefix("SYSCALL_FILTER_SET_")
                    .unwrap_or(e)
                    .to_lowercase()
                    .replace('_', "-");
                format!("Parameter::SyscallGroup({})", lit(&format!("@{group}")))
            }
            Parameter::Namespace(e) => {
                let ns = names
                    .namespaces
                    .iter()
                    .find(|n| n.clone_flag == *e)
                    .map_or(e.as_str(), |n| n.name.as_str());
                format!("Parameter::Namespace({})", lit(ns))
            }
            Parameter::Capabilities(caps) => {
                let mask = caps.iter().fold(0u64, |m, c| {
                    names
                        .capabilities
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or(m, |(_, v)| m | (1u64 << v))
                });
                let lits: Vec<String> = caps.iter().map(|c| lit(c)).collect();
                format!("Parameter::Capabilities(&[{}], {mask:#x})", lits.join(", "))
            }
        };
        let _ = write!(
            out,
            "    ExposureCheck {{\n        id: {},\n        json_field: {},\n        \
             description_good: {},\n        description_bad: {},\n        description_na: {},\n        \
             url: {},\n        weight: {},\n        range: {},\n        assess: {},\n        \
             offset: {},\n        parameter_c: {},\n        parameter: {},\n        \
             default_dependencies_only: {},\n    }},\n",
            lit(&c.id),
            lit(&c.json_field),
            opt_lit(c.description_good.as_deref()),
            opt_lit(c.description_bad.as_deref()),
            opt_lit(c.description_na.as_deref()),
            opt_lit(c.url.as_deref()),
            c.weight,
            c.range,
            lit(&c.assess),
            opt_lit(c.offset.as_deref()),
            opt_lit(c.parameter_c.as_deref()),
            parameter,
            c.default_dependencies_only,
        );
    }
    out.push_str("];\n");
    emit_extras(&mut out, extras);
    out
}

fn emit_extras(out: &mut String, e: &Extras) {
    let glyph_const = |name: &str| name.trim_start_matches("SPECIAL_GLYPH_").to_owned();
    out.push_str(
        "\n/// A glyph of `special_glyph()`.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct Glyph {\n\
         \x20   /// The UTF-8 form.\n\
         \x20   pub(crate) utf8: &'static str,\n\
         \x20   /// The ASCII fallback.\n\
         \x20   pub(crate) ascii: &'static str,\n\
         \x20   /// An emoji: its UTF-8 form needs emoji enabled, not only a UTF-8 locale.\n\
         \x20   pub(crate) emoji: bool,\n\
         }\n",
    );
    for g in &e.glyphs {
        let _ = write!(
            out,
            "\n/// `{}`.\n#[rustfmt::skip]\npub(crate) const {}: Glyph = Glyph {{ utf8: {}, ascii: {}, emoji: {} }};\n",
            g.name,
            glyph_const(&g.name),
            lit(&g.utf8),
            lit(&g.ascii),
            g.emoji
        );
    }
    out.push_str(
        "\n/// One level of the overall exposure (`badness_table[]` of `assess()`).\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub(crate) struct ExposureLevel {\n\
         \x20   /// The lowest exposure of the level, in tenths.\n\
         \x20   pub(crate) min: u64,\n\
         \x20   /// Its name.\n\
         \x20   pub(crate) name: &'static str,\n\
         \x20   /// The smiley shown with it.\n\
         \x20   pub(crate) smiley: Glyph,\n\
         }\n\n\
         /// The levels, highest first: an exposure has the first level whose `min` it reaches.\n\
         #[rustfmt::skip]\n\
         pub(crate) const EXPOSURE_LEVELS: &[ExposureLevel] = &[\n",
    );
    for l in &e.levels {
        let _ = writeln!(
            out,
            "    ExposureLevel {{ min: {}, name: {}, smiley: {} }},",
            l.min,
            lit(&l.name),
            glyph_const(&l.smiley)
        );
    }
    out.push_str("];\n");
    let na: Vec<&str> = e.notify_access.iter().map(String::as_str).collect();
    let dp: Vec<&str> = e.device_policies.iter().map(String::as_str).collect();
    let _ = write!(
        out,
        "\n/// `notify_access_table[]`, in index order.\n#[rustfmt::skip]\npub(crate) const NOTIFY_ACCESS: &[&str] = {};\n",
        crate::emit::str_slice(&na, 40, 0)
    );
    let _ = write!(
        out,
        "\n/// `cgroup_device_policy_table[]`, in index order.\n#[rustfmt::skip]\npub(crate) const DEVICE_POLICIES: &[&str] = {};\n",
        crate::emit::str_slice(&dp, 42, 0)
    );
    let intervals: Vec<String> = e
        .wide
        .iter()
        .map(|(a, b)| format!("({a:#x}, {b:#x})"))
        .collect();
    let _ = write!(
        out,
        "\n/// The intervals `unichar_iswide()` counts as two cells wide, in order.\n\
         #[rustfmt::skip]\n\
         pub(crate) const WIDE_CHARACTERS: &[(u32, u32)] = &[\n{}];\n",
        crate::emit::wrapped(&intervals, 4)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_parameters() {
        assert_eq!(
            parameter("(UINT64_C(1) << CAP_SETUID)|\n (UINT64_C(1) << CAP_SETGID)"),
            Some(Parameter::Capabilities(vec![
                "CAP_SETUID".into(),
                "CAP_SETGID".into()
            ]))
        );
        assert_eq!(
            parameter("UINT64_C(1) << CAP_SYS_ADMIN"),
            Some(Parameter::Capabilities(vec!["CAP_SYS_ADMIN".into()]))
        );
        assert_eq!(parameter("1 << CAP_X"), None);
        assert_eq!(parameter("true"), Some(Parameter::Bool(true)));
    }
}
