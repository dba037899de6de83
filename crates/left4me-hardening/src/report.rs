//! The reports as text for people: one line per item, no colour. A line's
//! first character says what it is (`#` a unit, `+` `-` `~` a setting
//! added, removed or changed, `!` something systemd reads otherwise than
//! the generated file says), so that a caller can colour by it. Text from
//! host files is quoted as read; [`dropin::render::escape_controls`] it
//! before it reaches a terminal.

use dropin::{Change, Delta, Diagnostic, Level, Origin};

use crate::inspect::{ShowReport, UnitLint, UnitReport};
use crate::lint::Severity;

/// The most diagnostics listed for one unit; the rest are counted.
pub const MAX_DIAGNOSTICS: usize = 20;

/// `n what`, with an `s` when `n` is not one.
pub fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `FILE:LINE` of each origin, at most three.
fn origins(list: &[Origin]) -> String {
    let mut shown: Vec<String> = list.iter().take(3).map(ToString::to_string).collect();
    if list.len() > 3 {
        shown.push(format!("{} more", list.len() - 3));
    }
    shown.join(", ")
}

/// A change, with the lines it came from: the generated lines an added
/// value comes from (nothing installed has it), the installed lines of a
/// removed or changed one.
fn change_line(c: &Change) -> String {
    let (side, list) = match c.delta {
        Delta::Added(_) => ("generated", &c.new_origins),
        Delta::Removed(_) | Delta::Changed(..) => ("installed", &c.old_origins),
    };
    if list.is_empty() {
        c.to_string()
    } else {
        format!("{c}  ({side}: {})", origins(list))
    }
}

/// Diagnostics as lines after `prefix`: a message systemd logs once per
/// item (repeated on one line) is counted, and past [`MAX_DIAGNOSTICS`]
/// the rest are summed up with the files they are in.
pub fn diagnostic_lines(list: &[Diagnostic], prefix: &str) -> Vec<String> {
    let mut grouped: Vec<(String, &Diagnostic, usize)> = Vec::new();
    for d in list {
        let text = format!("{prefix}{}: {d}", d.level);
        match grouped.last_mut() {
            Some((last, _, n)) if *last == text => *n += 1,
            _ => grouped.push((text, d, 1)),
        }
    }
    let mut lines: Vec<String> = grouped
        .iter()
        .take(MAX_DIAGNOSTICS)
        .map(|(text, _, n)| match n {
            1 => text.clone(),
            n => format!("{text} ({n} times)"),
        })
        .collect();
    let rest = &grouped[grouped.len().min(MAX_DIAGNOSTICS)..];
    if !rest.is_empty() {
        let mut files: Vec<&str> = rest.iter().map(|(_, d, _)| d.file.as_str()).collect();
        files.dedup();
        let n: usize = rest.iter().map(|(_, _, n)| n).sum();
        lines.push(format!("{prefix}… and {n} more in {}", files.join(", ")));
    }
    lines
}

impl UnitReport {
    /// The unit's block of `diff`: a `#` status line, then each change,
    /// override and diagnostic.
    pub fn lines(&self) -> Vec<String> {
        let mut status = match (
            self.changes.len(),
            self.files.iter().any(|f| f.text_differs),
        ) {
            (0, false) => "same settings".to_owned(),
            (0, true) => "same settings, the text differs".to_owned(),
            (1, _) => "1 setting differs".to_owned(),
            (n, _) => format!("{n} settings differ"),
        };
        match self.overridden.len() {
            0 => {}
            1 => status.push_str(", 1 overridden by a later drop-in"),
            n => status.push_str(&format!(", {n} overridden by later drop-ins")),
        }
        let own: Vec<&str> = self.files.iter().map(|f| f.path.as_str()).collect();
        let read = match self.read.as_slice() {
            [] => " — nothing installed".to_owned(),
            [only] if own.contains(&only.as_str()) => String::new(),
            files => format!(" — read {}", files.join(", ")),
        };
        let state = match self.state {
            dropin::LoadState::Masked => " — the unit is masked: systemd starts nothing",
            dropin::LoadState::Error => " — the unit fails to load",
            _ => "",
        };
        let mut lines = vec![format!("# {}: {status}{read}{state}", self.unit)];
        if let Some(sc) = &self.score {
            let show = |x: &Option<String>| x.clone().unwrap_or_else(|| "not scored".to_owned());
            let level = sc.level.map(|l| format!(" {l}")).unwrap_or_default();
            lines.push(if sc.before == sc.after {
                format!("= exposure {}{level}", show(&sc.after))
            } else {
                format!(
                    "= exposure {} -> {}{level}",
                    show(&sc.before),
                    show(&sc.after)
                )
            });
            lines.extend(sc.moves.iter().map(|m| format!("=   {m}")));
        }
        lines.extend(self.changes.iter().map(change_line));
        lines.extend(self.not_read.iter().map(|why| format!("! {why}")));
        for c in &self.overridden {
            let by = match c.new_origins.as_slice() {
                [] => "by a later drop-in that resets it".to_owned(),
                list => format!("by {}", origins(list)),
            };
            lines.push(format!("! overridden {by}: {c}"));
        }
        lines.extend(diagnostic_lines(&self.installed_diagnostics, "! "));
        for d in &self.generated_diagnostics {
            lines.push(format!(
                "! generated {}: {d} — systemd would ignore a line the generated file relies on",
                d.level
            ));
        }
        lines
    }
}

impl ShowReport {
    /// `diff --show`'s text: a `#` summary of the comparison with `shown`
    /// (what was read), then every check that is not the same, with notes.
    pub fn lines(&self, shown: &str) -> Vec<String> {
        let (differ, not_comparable) = (self.differing(), self.not_comparable());
        let same = self.checks.len() - differ - not_comparable;
        let mut lines = vec![format!(
            "# {} against systemctl show ({shown}): {same} same, {differ} differ, {not_comparable} not comparable",
            self.unit
        )];
        for c in &self.checks {
            let text = c.to_string();
            let mut it = text.lines();
            let first = it.next().unwrap_or_default();
            if !matches!(c.verdict, dropin::show::Verdict::Same) {
                lines.push(first.to_owned());
            }
            lines.extend(it.map(str::to_owned));
        }
        lines
    }
}

/// What `lint` found over several units: every line and the counts.
#[derive(Clone, Debug, Default)]
pub struct LintTally {
    /// `UNIT: finding` lines, waived ones marked.
    pub lines: Vec<String>,
    /// Unwaived errors (with directives too new and what systemd logs as errors).
    pub errors: usize,
    /// Unwaived warnings (with what systemd logs as warnings).
    pub warnings: usize,
    /// Unwaived notes.
    pub notes: usize,
}

impl LintTally {
    /// Tallies `reports` for a host whose systemd is `version`.
    pub fn of(reports: &[UnitLint], version: u32) -> LintTally {
        let mut t = LintTally::default();
        for r in reports {
            for lf in &r.findings {
                let f = &lf.finding;
                if let Some(w) = &lf.waived_by {
                    t.lines.push(format!(
                        "{}: {f} (waived by {}: {})",
                        r.unit, w.origin, w.reason
                    ));
                    continue;
                }
                match f.severity {
                    Severity::Error => t.errors += 1,
                    Severity::Warning => t.warnings += 1,
                    Severity::Note => t.notes += 1,
                }
                t.lines.push(format!("{}: {f}", r.unit));
            }
            for new in &r.too_new {
                t.errors += 1;
                t.lines.push(format!(
                    "{}: error: systemd {version} does not know {new}",
                    r.unit
                ));
            }
            // What systemd logs loading the unit: a line it ignores, a
            // file it stops reading.
            for d in &r.diagnostics {
                match d.level {
                    Level::Error => t.errors += 1,
                    _ => t.warnings += 1,
                }
            }
            t.lines
                .extend(diagnostic_lines(&r.diagnostics, &format!("{}: ", r.unit)));
        }
        t
    }

    /// `WHAT: N errors, N warnings, N notes`.
    pub fn summary(&self, what: &str) -> String {
        format!(
            "{what}: {}, {}, {}",
            count(self.errors, "error"),
            count(self.warnings, "warning"),
            count(self.notes, "note")
        )
    }
}

#[cfg(test)]
mod tests {
    use dropin::{Change, Delta, Diagnostic, Level, LoadState, Origin, UnifiedDiff};

    use crate::inspect::{FileDiff, UnitReport};
    use crate::profiles::ProfileKind;

    const FILE: &str = "/etc/systemd/system/left4me-web.service.d/10-hardening.conf";

    fn report(changes: Vec<Change>, generated_diagnostics: Vec<Diagnostic>) -> UnitReport {
        let text = "[Service]\nProtectProc=invisible\n";
        UnitReport {
            unit: "left4me-web.service".to_owned(),
            profile: ProfileKind::Web,
            state: LoadState::Loaded,
            read: vec![FILE.to_owned()],
            changes,
            overridden: Vec::new(),
            not_read: None,
            score: None,
            files: vec![FileDiff {
                path: FILE.to_owned(),
                installed: true,
                diff: UnifiedDiff::new("a", text, "b", text),
                text_differs: false,
            }],
            installed_diagnostics: Vec::new(),
            generated_diagnostics,
        }
    }

    fn at(line: usize) -> Origin {
        Origin {
            file: FILE.to_owned(),
            line,
        }
    }

    fn change(delta: Delta, old: Vec<Origin>, new: Vec<Origin>) -> Change {
        Change {
            key: "ProtectProc".to_owned(),
            directive: None,
            delta,
            old_origins: old,
            new_origins: new,
        }
    }

    #[test]
    fn a_generated_line_systemd_ignores_is_a_difference_with_its_own_line() {
        let d = Diagnostic::new(
            FILE,
            2,
            Level::Warning,
            "Failed to parse ProtectProc=invisible\u{a0}, ignoring: Invalid argument",
        );
        let r = report(Vec::new(), vec![d]);
        assert!(r.differs());
        assert_eq!(
            r.lines(),
            [
                "# left4me-web.service: same settings".to_owned(),
                format!(
                    "! generated warning: {FILE}:2: Failed to parse ProtectProc=invisible\u{a0}, \
                     ignoring: Invalid argument — systemd would ignore a line the generated \
                     file relies on"
                ),
            ]
        );
        // Negative: without it, the same unit is the same.
        let r = report(Vec::new(), Vec::new());
        assert!(!r.differs());
        assert_eq!(r.lines(), ["# left4me-web.service: same settings"]);
    }

    #[test]
    fn each_change_names_the_lines_its_side_comes_from() {
        let r = report(
            vec![
                change(Delta::Added("invisible".into()), vec![], vec![at(7)]),
                change(Delta::Removed("pid".into()), vec![at(3)], vec![at(9)]),
                change(
                    Delta::Changed("noaccess".into(), "invisible".into()),
                    vec![at(4)],
                    vec![at(8)],
                ),
                change(Delta::Added("x".into()), vec![], vec![]),
            ],
            Vec::new(),
        );
        assert_eq!(
            r.lines()[1..],
            [
                format!("+ ProtectProc=invisible  (generated: {FILE}:7)"),
                format!("- ProtectProc=pid  (installed: {FILE}:3)"),
                format!("~ ProtectProc noaccess -> invisible  (installed: {FILE}:4)"),
                "+ ProtectProc=x".to_owned(),
            ]
        );
    }
}
