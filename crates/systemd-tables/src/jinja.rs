//! The subset of Jinja that `load-fragment-gperf.gperf.in` uses, rendered
//! the way `tools/meson-render-jinja2.py` does (`trim_blocks`,
//! `lstrip_blocks`, `StrictUndefined`), line by line: comments `{# #}`,
//! `{% macro NAME(param) %}` ... `{% endmacro %}`, `{% if VAR %}` /
//! `{% else %}` / `{% endif %}` on config.h names, `{{ NAME('Arg') }}`
//! calls and `{{param}}` inside a macro. Anything else is an error.

use std::collections::BTreeMap;

use crate::{Error, Result, feature};

struct Macro {
    param: String,
    lines: Vec<String>,
}

/// Renders `text` (from `file`) into output lines.
pub(crate) fn render(text: &str, file: &str) -> Result<Vec<String>> {
    let text = strip_comments(text, file)?;
    let mut macros = BTreeMap::new();
    let mut top = Vec::new();
    let mut current: Option<(String, Macro)> = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        let ctx = || format!("line {}", n + 1);
        if let Some(tag) = block_tag(t) {
            if let Some(def) = tag.strip_prefix("macro ") {
                let (name, rest) = def
                    .split_once('(')
                    .ok_or_else(|| Error::shape(file, ctx(), format!("macro {def}")))?;
                let param = rest
                    .strip_suffix(')')
                    .ok_or_else(|| Error::shape(file, ctx(), format!("macro {def}")))?;
                if current.is_some() {
                    return Err(Error::shape(file, ctx(), "nested macro"));
                }
                current = Some((
                    name.trim().to_owned(),
                    Macro {
                        param: param.trim().to_owned(),
                        lines: Vec::new(),
                    },
                ));
                continue;
            }
            if tag == "endmacro" {
                let (name, m) = current
                    .take()
                    .ok_or_else(|| Error::shape(file, ctx(), "endmacro without macro"))?;
                macros.insert(name, m);
                continue;
            }
        }
        match &mut current {
            Some((_, m)) => m.lines.push(t.to_owned()),
            None => top.push(t.to_owned()),
        }
    }
    if current.is_some() {
        return Err(Error::shape(file, "end", "unterminated macro"));
    }
    let mut out = Vec::new();
    expand(&top, None, &macros, file, &mut out)?;
    Ok(out)
}

/// The inside of a `{% ... %}` / `{%- ... -%}` tag making up a whole line.
fn block_tag(line: &str) -> Option<&str> {
    let inner = line.strip_prefix("{%")?.strip_suffix("%}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

fn strip_comments(text: &str, file: &str) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{#") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("#}")
            .ok_or_else(|| Error::shape(file, "{# comment", "unterminated"))?;
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand(
    lines: &[String],
    arg: Option<(&str, &str)>,
    macros: &BTreeMap<String, Macro>,
    file: &str,
    out: &mut Vec<String>,
) -> Result<()> {
    // (parent live, this branch live)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    for line in lines {
        let live = stack.last().is_none_or(|s| s.1);
        if let Some(tag) = block_tag(line) {
            if let Some(var) = tag.strip_prefix("if ") {
                let v = feature(var.trim()).map_err(|m| Error::shape(file, line, m))?;
                stack.push((live, live && v));
            } else if tag == "else" {
                let s = stack
                    .last_mut()
                    .ok_or_else(|| Error::shape(file, line, "else without if"))?;
                *s = (s.0, s.0 && !s.1);
            } else if tag == "endif" {
                stack
                    .pop()
                    .ok_or_else(|| Error::shape(file, line, "endif without if"))?;
            } else {
                return Err(Error::shape(file, line, "unsupported tag"));
            }
            continue;
        }
        if !live || line.is_empty() {
            continue;
        }
        if let Some(call) = line.strip_prefix("{{").and_then(|l| l.strip_suffix("}}")) {
            let call = call.trim();
            if let Some((name, a)) = call.split_once('(') {
                let a = a
                    .strip_suffix(')')
                    .and_then(|a| a.trim().strip_prefix('\''))
                    .and_then(|a| a.strip_suffix('\''))
                    .ok_or_else(|| Error::shape(file, line, "unsupported call"))?;
                let m = macros
                    .get(name.trim())
                    .ok_or_else(|| Error::shape(file, line, "undefined macro"))?;
                expand(&m.lines, Some((&m.param, a)), macros, file, out)?;
                continue;
            }
        }
        let mut text = line.clone();
        if let Some((param, value)) = arg {
            text = text.replace(&format!("{{{{{param}}}}}", param = param), value);
        }
        if text.contains("{{") || text.contains("{%") || text.contains("{#") {
            return Err(Error::shape(file, line, "unsupported template syntax"));
        }
        out.push(text);
    }
    if !stack.is_empty() {
        return Err(Error::shape(file, "end", "unterminated if"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_macros_and_conditions() {
        let t = "{# c #}\n{%- macro M(type) -%}\n{# inner #}\n{{type}}.A, f, 0, 0\n\
                 {% if HAVE_SECCOMP %}\n{{type}}.B, g, 0, 0\n{% else %}\n{{type}}.B, w, 0, 0\n\
                 {% endif %}\n{%- endmacro -%}\n%%\nUnit.X, h, 0, 0\n{{ M('Service') }}\n";
        assert_eq!(
            render(t, "t").unwrap(),
            [
                "%%",
                "Unit.X, h, 0, 0",
                "Service.A, f, 0, 0",
                "Service.B, g, 0, 0"
            ]
        );
        assert!(render("{% if NOPE %}\n{% endif %}\n", "t").is_err());
        assert!(render("{{ other }}\n", "t").is_err());
    }
}
