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
        for f in &self.files {
            if let Some(other) = &f.other_config {
                lines.push(format!(
                    "! {}: generated from another config ({other})",
                    f.path
                ));
            }
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
    /// The report as one JSON document; `show` names what was read.
    pub fn to_json(&self, show: &str) -> serde_json::Value {
        let checks: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|c| serde_json::json!({"directive": c.directive.name(), "differs": c.differs(), "text": c.to_string()}))
            .collect();
        serde_json::json!({"unit": self.unit, "show": show, "differ": self.differing(),
            "not_comparable": self.not_comparable(), "checks": checks})
    }

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

/// ANSI colours for report lines, or none.
///
/// ```
/// use left4me_hardening::report::Paint;
///
/// let term = Some(std::ffi::OsStr::new("xterm"));
/// assert!(Paint::detect(None, true, None, term).0);
/// assert!(!Paint::detect(None, false, None, term).0);
/// assert!(!Paint::detect(None, true, Some("1".as_ref()), term).0);
/// assert!(!Paint::detect(None, true, None, Some("dumb".as_ref())).0);
/// assert!(Paint::detect(Some(true), false, Some("1".as_ref()), None).0);
/// assert_eq!(Paint(true).line("+ added"), "\x1b[32m+ added\x1b[0m");
/// assert_eq!(Paint(false).line("+ a\x1b[2J"), "+ a\\u{1b}[2J");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint(pub bool);

impl Paint {
    /// Whether to colour: `forced` (`--color always` or `never`) decides;
    /// otherwise colour only on a `terminal`, and not when `NO_COLOR` is
    /// set to something (see no-color.org) or `TERM` is unset or `dumb`.
    pub fn detect(
        forced: Option<bool>,
        terminal: bool,
        no_color: Option<&std::ffi::OsStr>,
        term: Option<&std::ffi::OsStr>,
    ) -> Paint {
        Paint(forced.unwrap_or_else(|| {
            terminal
                && no_color.is_none_or(|v| v.is_empty())
                && term.is_some_and(|t| !t.is_empty() && t != "dumb")
        }))
    }

    /// `text` with control characters escaped (what is printed comes from
    /// files on the host: an escape sequence in one must not reach the
    /// terminal), coloured with the SGR `code`.
    pub fn paint(self, code: &str, text: &str) -> String {
        let text = dropin::render::escape_controls(text);
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    }

    /// A report line coloured by its leading sign (see the module).
    pub fn line(self, text: &str) -> String {
        let code = match text.chars().next() {
            Some('+') => "32",
            Some('-') => "31",
            Some('~') => "33",
            Some('!') => "35",
            Some('#') => "1",
            _ => return dropin::render::escape_controls(text),
        };
        self.paint(code, text)
    }
}

/// After `write`: the summary (`3 files: 1 updated, 2 unchanged`), then
/// what to run for the running system to read what changed:
/// `systemctl daemon-reload` after a drop-in changed, `sysctl --system`
/// after the sysctl file changed. `done` is the outcome of each of `files`,
/// in order.
///
/// ```
/// use left4me_hardening::{Host, report::after_write};
/// use rootfs::Outcome::{Created, Unchanged, Updated};
///
/// let host = Host::standard()?;
/// let files = host.files(&[], Default::default())?; // server, web, sysctl
/// let done = |o: [rootfs::Outcome; 3]| -> Vec<(std::path::PathBuf, rootfs::Outcome)> {
///     files.iter().zip(o).map(|(f, o)| (f.path.clone().into(), o)).collect()
/// };
/// assert_eq!(after_write(&files, &done([Unchanged; 3])), ["3 files: 3 unchanged"]);
/// let lines = after_write(&files, &done([Updated, Unchanged, Created]));
/// assert_eq!(lines[0], "3 files: 1 created, 1 updated, 1 unchanged");
/// assert!(lines[1].contains("systemctl daemon-reload"));
/// assert!(lines[2].contains("sysctl --system"));
/// let lines = after_write(&files, &done([Unchanged, Unchanged, Updated]));
/// assert_eq!(lines[1..], ["the sysctl file changed: run `sysctl --system`"]);
/// # Ok::<(), left4me_hardening::Error>(())
/// ```
pub fn after_write(
    files: &[crate::output::Generated],
    done: &[(std::path::PathBuf, rootfs::Outcome)],
) -> Vec<String> {
    use rootfs::Outcome;
    let written: Vec<_> = files
        .iter()
        .map(|f| f.profile)
        .zip(done.iter().map(|d| d.1))
        .collect();
    let n = |o: Outcome| written.iter().filter(|(_, w)| *w == o).count();
    let parts: Vec<String> = [Outcome::Created, Outcome::Updated, Outcome::Unchanged]
        .into_iter()
        .filter(|o| n(*o) > 0)
        .map(|o| format!("{} {}", n(o), o.as_str()))
        .collect();
    let mut lines = vec![format!(
        "{}: {}",
        count(written.len(), "file"),
        parts.join(", ")
    )];
    let changed = |sysctl: bool| {
        written
            .iter()
            .any(|(k, o)| *o != Outcome::Unchanged && (*k == crate::ProfileKind::Sysctl) == sysctl)
    };
    if changed(false) {
        lines.push(
            "a drop-in changed: run `systemctl daemon-reload`, then restart the units it hardens"
                .to_owned(),
        );
    }
    if changed(true) {
        lines.push("the sysctl file changed: run `sysctl --system`".to_owned());
    }
    lines
}

/// `list`: each profile with its description, then the files it writes
/// (the server's template drop-in, then one per instance in `instances`).
pub fn list(host: &crate::Host, instances: &[dropin::Instance]) -> crate::Result<Vec<String>> {
    let mut lines = Vec::new();
    for profile in host.profiles() {
        lines.push(format!("{:<7} {}", profile.kind, profile.description));
        let mut files = vec![host.generate(profile.kind, None, Default::default())?];
        if profile.kind == crate::ProfileKind::Server {
            for i in instances {
                files.push(host.generate(profile.kind, Some(i), Default::default())?);
            }
        }
        lines.extend(files.iter().map(|f| format!("        /{}", f.path)));
    }
    Ok(lines)
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
                other_config: None,
            }],
            installed_diagnostics: Vec::new(),
            generated_diagnostics,
        }
    }

    fn at(line: usize) -> Origin {
        Origin {
            file: FILE.into(),
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
