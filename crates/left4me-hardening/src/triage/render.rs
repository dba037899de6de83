//! The text report of `triage`.

use std::fmt::Write as _;

use super::{Check, Fix, Group, Report, SettingsSource, UnitSource};

fn times(g: &Group) -> String {
    match (&g.first, &g.last) {
        (Some(f), Some(l)) if g.count > 1 && f.text != l.text => {
            format!(", first {}, last {}", f.text, l.text)
        }
        (Some(f), _) => format!(", {}", f.text),
        _ => String::new(),
    }
}

/// At most ten numbers, then how many more.
fn some<T: ToString>(list: &[T]) -> String {
    const SHOWN: usize = 10;
    let mut out: Vec<String> = list.iter().take(SHOWN).map(ToString::to_string).collect();
    if list.len() > SHOWN {
        out.push(format!("… ({} more)", list.len() - SHOWN));
    }
    out.join(" ")
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("{by}{l}\n")
            }
        })
        .collect()
}

/// Lines of at most about `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

fn para(out: &mut String, label: &str, text: &str) {
    let pad = " ".repeat(label.len());
    for (i, l) in wrap(text, 96 - label.len()).iter().enumerate() {
        let _ = writeln!(out, "{}{l}", if i == 0 { label } else { &pad });
    }
}

/// The report as text: one block per group, then the lines that could not
/// be read.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    for g in &report.groups {
        let number = g.number.map(|n| format!(" ({n})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}: {} {}{number}, {} — {} record{}{}",
            g.unit.as_deref().unwrap_or("(unit unknown)"),
            g.architecture,
            g.call,
            g.action.name(),
            g.count,
            if g.count == 1 { "" } else { "s" },
            times(g)
        );
        let mut process = g.comms.join(", ");
        if !g.exes.is_empty() {
            let _ = write!(process, " ({})", g.exes.join(", "));
        }
        if !g.pids.is_empty() {
            let _ = write!(process, ", pid {}", some(&g.pids));
        }
        let _ = writeln!(out, "  process: {process}; input line {}", some(&g.lines));
        let unit_from = match &g.unit_source {
            UnitSource::Journal { line } => {
                format!("systemd's status=31/SYS line (input line {line})")
            }
            UnitSource::Executable => "the instance in the executable's path".to_owned(),
            UnitSource::Given => "given".to_owned(),
            UnitSource::Unknown => "not found".to_owned(),
        };
        let settings = match g.settings {
            SettingsSource::Installed => "the unit as installed",
            SettingsSource::Profile => "the unit with its generated profile",
            SettingsSource::None => "none",
        };
        let _ = writeln!(out, "  unit: {unit_from}; settings judged: {settings}");
        let f = &g.finding;
        let label = match &f.directive {
            Some(d) => format!("  {d}: "),
            None => "  cause: ".to_owned(),
        };
        para(&mut out, &label, &f.cause);
        for c in &f.lines {
            let _ = writeln!(out, "    {}  {}", c.at, c.assignment);
            para(&mut out, "      ", &c.role);
        }
        if !f.groups.is_empty() {
            let _ = writeln!(out, "  groups holding {}: {}", g.call, f.groups.join(" "));
        }
        if let Some(k) = &f.known {
            para(&mut out, &format!("  known ({}): ", k.test), k.text);
        }
        for n in &f.notes {
            para(&mut out, "  note: ", n);
        }
        match &f.fix {
            Fix::None { why } => para(&mut out, "  fix: none — ", why),
            Fix::HostConfig { snippet, check, .. } => {
                let _ = writeln!(
                    out,
                    "  fix: add to the host configuration, then run left4me-harden write:"
                );
                out.push_str(&indent(snippet, "    "));
                match check {
                    Check::Verified(why) => para(&mut out, "  checked: ", why),
                    Check::NotVerified(why) => para(&mut out, "  not checked: ", why),
                }
            }
            Fix::Remove {
                entries,
                snippet,
                check,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  fix: take out of the host configuration ({}), then run left4me-harden write:",
                    entries.join(", ")
                );
                out.push_str(&indent(snippet, "    "));
                match check {
                    Check::Verified(why) => para(&mut out, "  checked: ", why),
                    Check::NotVerified(why) => para(&mut out, "  not checked: ", why),
                }
            }
            Fix::Write { why } => para(&mut out, "  fix: ", why),
            Fix::Edit {
                at,
                assignment,
                suggestion,
            } => {
                let _ = writeln!(out, "  fix: edit {at} ({assignment}):");
                para(&mut out, "    ", suggestion);
            }
            Fix::Unknown { why } => para(&mut out, "  fix: unknown — ", why),
        }
        out.push('\n');
    }
    for e in &report.errors {
        let _ = writeln!(out, "input line {}: {}\n  {}", e.line, e.message, e.excerpt);
    }
    let _ = writeln!(
        out,
        "{} record{} in {} group{}, {} unreadable, {} duplicate{} (same event in two forms), {} other line{} ignored",
        report.records,
        if report.records == 1 { "" } else { "s" },
        report.groups.len(),
        if report.groups.len() == 1 { "" } else { "s" },
        report.errors.len(),
        report.duplicates,
        if report.duplicates == 1 { "" } else { "s" },
        report.ignored,
        if report.ignored == 1 { "" } else { "s" },
    );
    out
}
