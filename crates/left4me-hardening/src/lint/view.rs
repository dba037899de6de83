//! The file-system view: Test 2's clean slate (`TemporaryFileSystem=` over
//! whole trees, binds bringing back what the service needs).

use std::fmt;

use dropin::{BindList, BindMount, Directive, PathList, ProtectHome, ProtectSystem, TmpfsList};

use super::{Finding, Lint, LintId, Severity, Subject, TestRef};

/// Whether `path` is `prefix` or lies below it (whole components).
fn under(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Path depth in components (`/` is 0).
fn depth(p: &str) -> usize {
    p.split('/').filter(|c| !c.is_empty()).count()
}

/// Something that hides a tree of the file system from the service.
struct Hider<'e> {
    path: &'e str,
    /// What hides it.
    by: HiddenBy<'e>,
}

/// The assignment that hides a tree, written out only for a finding.
#[derive(Clone, Copy)]
enum HiddenBy<'e> {
    /// `TemporaryFileSystem=PATH`.
    Tmpfs,
    /// `ProtectHome=` with this value (`yes` or `tmpfs`).
    Home(&'e str),
}

impl fmt::Display for Hider<'_> {
    /// The assignment, such as `TemporaryFileSystem=/var/lib`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.by {
            HiddenBy::Tmpfs => write!(f, "TemporaryFileSystem={}", self.path),
            HiddenBy::Home("yes") => f.write_str("ProtectHome=true"),
            HiddenBy::Home(h) => write!(f, "ProtectHome={h}"),
        }
    }
}

/// A bind mount in the service's view.
struct Bind<'e> {
    mount: &'e BindMount,
}

impl Bind<'_> {
    fn source(&self) -> &str {
        &self.mount.source
    }
    fn target(&self) -> &str {
        &self.mount.destination
    }
    /// The line, such as `BindReadOnlyPaths=/etc/ssl`.
    fn line(&self) -> String {
        let d = if self.mount.read_only {
            Directive::BindReadOnlyPaths
        } else {
            Directive::BindPaths
        };
        format!("{}={}", d.name(), self.mount)
    }
}

/// What the service sees of the file system: the hidden trees and the
/// binds that bring parts of them back.
struct View<'e> {
    hiders: Vec<Hider<'e>>,
    binds: Vec<Bind<'e>>,
}

impl<'e> View<'e> {
    fn of(s: &Subject<'e>) -> View<'e> {
        let e = s.effective;
        let mut hiders: Vec<Hider<'e>> = e
            .get::<TmpfsList>(Directive::TemporaryFileSystem)
            .into_iter()
            .flatten()
            .map(|t| Hider {
                path: &t.path,
                by: HiddenBy::Tmpfs,
            })
            .collect();
        if let Some(Some(h)) = e.get::<ProtectHome>(Directive::ProtectHome)
            && matches!(*h, "yes" | "tmpfs")
        {
            for dir in ["/home", "/root", "/run/user"] {
                hiders.push(Hider {
                    path: dir,
                    by: HiddenBy::Home(h),
                });
            }
        }
        let binds = e
            .get::<BindList>(Directive::BindPaths)
            .into_iter()
            .flatten()
            .map(|mount| Bind { mount })
            .collect();
        View { hiders, binds }
    }

    /// What hides `p` from the service, if anything: the deepest hidden
    /// tree it lies in, unless a bind at or below that tree brings it back.
    fn hidden_by(&self, p: &str) -> Option<&Hider<'e>> {
        let hider = self
            .hiders
            .iter()
            .filter(|h| under(p, h.path))
            .max_by_key(|h| depth(h.path))?;
        let rebound = self
            .binds
            .iter()
            .any(|b| under(p, b.target()) && under(b.target(), hider.path));
        (!rebound).then_some(hider)
    }
}

/// The command keys whose executables run inside the sandbox (unless
/// prefixed with `+`), in the order systemd runs them.
const EXEC_KEYS: &[&str] = dropin::directive::key::EXEC;

/// A command line of an `Exec*=` setting, as far as the lint needs it.
struct Command {
    /// `+`: runs with full privileges, outside the file-system sandbox.
    outside: bool,
    /// `-`: a failure (including not finding the executable) is ignored.
    ignore_failure: bool,
    /// The executable, where it is an absolute path without variables.
    path: Option<String>,
}

/// An absolute, variable-free path, or `None`.
fn absolute(text: &str) -> Option<String> {
    (text.starts_with('/') && !text.contains('$')).then(|| text.to_owned())
}

impl Command {
    /// Reads the prefixes systemd.service(5) documents (`@`, `-`, `:`,
    /// `+`, `!`, `!!`, `|`) and the executable.
    fn parse(text: &str) -> Command {
        let body = text.trim_start_matches(['@', '-', ':', '+', '!', '|']);
        let prefixes = &text[..text.len() - body.len()];
        let first = body.split_whitespace().next().unwrap_or_default();
        Command {
            outside: prefixes.contains('+'),
            ignore_failure: prefixes.contains('-'),
            path: absolute(first.trim_matches(['"', '\''])),
        }
    }
}

/// The parent directory of a path, for a suggested bind.
fn parent(p: &str) -> String {
    match p.rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
    }
}

/// A path the service needs that its file-system view hides.
pub(super) struct PathHidden;

impl Lint for PathHidden {
    fn id(&self) -> LintId {
        LintId::PathHidden
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn test(&self) -> TestRef {
        TestRef::Test(2)
    }
    fn summary(&self) -> &'static str {
        "an ExecStart*= binary or the WorkingDirectory= of the base unit is hidden by \
         TemporaryFileSystem= (or ProtectHome=) and not bound back; a warning where a - prefix \
         makes it optional"
    }
    fn finding(&self) -> &'static str {
        "if a bind path is missing on disk, the unit fails to start; only the listed paths \
         are bound back into the empty tmpfs"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let view = View::of(s);
        for key in EXEC_KEYS {
            for (text, expanded) in s.raw(key) {
                let cmd = Command::parse(&expanded);
                if cmd.outside {
                    continue;
                }
                let Some(path) = cmd.path else { continue };
                let Some(h) = view.hidden_by(&path) else {
                    continue;
                };
                // The main command cannot be optional: without it the
                // service has nothing to run.
                let optional = cmd.ignore_failure && *key != dropin::directive::key::EXEC_START;
                let outcome = if optional {
                    "the command never runs, and its - prefix hides that failure"
                } else {
                    "the command fails with status 203/EXEC"
                };
                let finding = Finding::new(
                    self.id(),
                    format!(
                        "{key}={text} runs {path}, which {} hides and no bind brings back: \
                         {outcome}",
                        h
                    ),
                    format!(
                        "bind its directory back (BindReadOnlyPaths={}), or prefix the command \
                         with + if it must run outside the sandbox",
                        parent(&path)
                    ),
                );
                out.push(if optional {
                    finding.with_severity(Severity::Warning)
                } else {
                    finding
                });
            }
        }
        if let Some((text, expanded)) = s.raw(dropin::directive::key::WORKING_DIRECTORY).last() {
            let (optional, rest) = match expanded.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, expanded.as_str()),
            };
            let Some(path) = absolute(rest) else { return };
            let Some(h) = view.hidden_by(&path) else {
                return;
            };
            let outcome = if optional {
                "the - prefix lets the service start elsewhere, where it may not find its files"
            } else {
                "the service fails to start with status 200/CHDIR"
            };
            let finding = Finding::new(
                self.id(),
                format!(
                    "WorkingDirectory={text} is {path}, which {} hides and no bind brings back: \
                     {outcome}",
                    h
                ),
                format!("bind it back (BindPaths={path} or BindReadOnlyPaths={path})"),
            );
            out.push(if optional {
                finding.with_severity(Severity::Warning)
            } else {
                finding
            });
        }
    }
}

/// A bind that exposes a hidden tree elsewhere.
pub(super) struct BindSourceHidden;

impl Lint for BindSourceHidden {
    fn id(&self) -> LintId {
        LintId::BindSourceHidden
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(2)
    }
    fn summary(&self) -> &'static str {
        "a bind whose source lies in a hidden tree and whose target is elsewhere exposes what \
         the tree hides"
    }
    fn finding(&self) -> &'static str {
        "left4me.db and web.env invisible (D1 closed): the tmpfs trees exist to hide them"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let view = View::of(s);
        for b in &view.binds {
            let Some(h) = view.hidden_by(b.source()) else {
                continue;
            };
            // Rearranging inside the same hidden tree exposes nothing new.
            if under(b.target(), h.path) {
                continue;
            }
            out.push(Finding::new(
                self.id(),
                format!(
                    "{} exposes {}, which {} hides, at {}: what the hidden tree keeps out of \
                     view comes back through another path",
                    b.line(),
                    b.source(),
                    h,
                    b.target()
                ),
                format!(
                    "bind it at its own place ({}) if the service needs it, or drop the bind if \
                     it is meant to stay hidden",
                    b.source()
                ),
            ));
        }
    }
}

/// Two binds onto one target.
pub(super) struct BindTargetTwice;

impl Lint for BindTargetTwice {
    fn id(&self) -> LintId {
        LintId::BindTargetTwice
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(2)
    }
    fn summary(&self) -> &'static str {
        "two binds (BindPaths=, BindReadOnlyPaths=) onto the same target"
    }
    fn finding(&self) -> &'static str {
        "the bind set is the whole story of what the service sees"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let view = View::of(s);
        for (i, b) in view.binds.iter().enumerate() {
            // Report each target once, at its first repetition.
            let mut earlier = view.binds[..i].iter().filter(|e| e.target() == b.target());
            let (Some(first), None) = (earlier.next(), earlier.next()) else {
                continue;
            };
            let message = if first.line() == b.line() {
                format!("{} is listed twice", b.line())
            } else {
                format!(
                    "{} and {} both mount onto {}: only one of them takes effect",
                    first.line(),
                    b.line(),
                    b.target()
                )
            };
            out.push(Finding::new(
                self.id(),
                message,
                format!("keep one bind for {}", b.target()),
            ));
        }
    }
}

/// `ReadWritePaths=` under `ProtectSystem=strict` that a
/// `TemporaryFileSystem=` hides.
pub(super) struct RwpathHidden;

impl Lint for RwpathHidden {
    fn id(&self) -> LintId {
        LintId::RwpathHidden
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(2)
    }
    fn summary(&self) -> &'static str {
        "ReadWritePaths= under ProtectSystem=strict that a TemporaryFileSystem= hides"
    }
    fn finding(&self) -> &'static str {
        "remove the legacy paths so they don't collide with the new bind setup \
         (ReadOnlyPaths= and ReadWritePaths= reset)"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        let e = s.effective;
        if e.get::<ProtectSystem>(Directive::ProtectSystem) != Some(&Some("strict")) {
            return;
        }
        let view = View::of(s);
        for item in e
            .get::<PathList>(Directive::ReadWritePaths)
            .into_iter()
            .flatten()
        {
            let path = item.trim_start_matches(['-', '+']);
            let Some(h) = view.hidden_by(path) else {
                continue;
            };
            out.push(Finding::new(
                self.id(),
                format!(
                    "ReadWritePaths={item} under ProtectSystem=strict, but {} hides {path}: it \
                     is not in the service's view, so it cannot be written there",
                    h
                ),
                format!(
                    "bind it back writable (BindPaths={path}), or reset ReadWritePaths= as Test 2 does"
                ),
            ));
        }
    }
}

/// An empty assignment that also clears the lines of a directive sharing
/// its storage (`BindPaths=` empties the `BindReadOnlyPaths=` binds).
pub(super) struct SharedStorageReset;

impl Lint for SharedStorageReset {
    fn id(&self) -> LintId {
        LintId::SharedStorageReset
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn test(&self) -> TestRef {
        TestRef::Test(2)
    }
    fn summary(&self) -> &'static str {
        "an empty assignment that also clears the lines of a directive sharing its storage \
         (BindPaths= and BindReadOnlyPaths= are one list in systemd)"
    }
    fn finding(&self) -> &'static str {
        "the bind set is the whole story of what the service sees: a bind that silently \
         vanishes hides a tree the service needs, or exposes one Test 2 hid"
    }

    fn check(&self, s: &Subject<'_>, out: &mut Vec<Finding>) {
        for r in s.effective.shared_resets() {
            out.push(Finding::new(
                self.id(),
                format!(
                    "{}= (empty) at {} also clears {}={}: systemd keeps one list for both, \
                     so those lines no longer apply",
                    r.reset.name(),
                    r.at,
                    r.cleared.name(),
                    r.lines.join(" ")
                ),
                format!(
                    "put the reset before every {} and {} line (or drop it and list the lines \
                     wanted after it)",
                    r.cleared.name(),
                    r.reset.name()
                ),
            ));
        }
    }
}
