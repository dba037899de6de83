//! What a booted systemd 257 manager reports for the settings the test
//! mode dump never prints.
//!
//! `systemd --test` dumps a unit through `exec_context_dump()`, which has
//! no line for `NoNewPrivileges=`, `PrivateIPC=`, `SystemCallLog=`,
//! `RestrictAddressFamilies=` and `RemoveIPC=` (src/core/execute.c of
//! 257.13). The manager's D-Bus properties do carry them
//! (src/core/dbus-execute.c), so these five are asked of a running
//! manager: the runtime root (`scripts/systemd-runtime`) booted as PID 1
//! of a container, the corpus staged at its real paths, `systemctl
//! daemon-reload`, then `systemctl show -p …` of every unit, which loads
//! each on demand from the same search path as test mode.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Stdio;

use dropin::load::{LoadOptions, LoadState, Loaded};
use dropin::syscall::Seccomp;
use dropin::{Directive, Effective, FamilySet};

#[path = "../../../left4me-harden/tests/support/container.rs"]
mod container;
use container::{Container, text};

/// The directives compared against the booted manager, with the
/// property `systemctl show` names them by.
pub(crate) const SHOWN: &[Directive] = &[
    Directive::NoNewPrivileges,
    Directive::PrivateIpc,
    Directive::SystemCallLog,
    Directive::RestrictAddressFamilies,
    Directive::RemoveIpc,
];

/// A unit's properties as `systemctl show` printed them.
pub(crate) type Props = BTreeMap<String, String>;

/// What `systemctl show -p P` prints for `d` (P explicitly asked for, so
/// an empty value prints too), from the model's settings.
///
/// Booleans print `yes`/`no` (the raw field: nothing derives them; only
/// `DynamicUser=yes` would set `NoNewPrivileges` and `RemoveIPC`, which
/// the corpus never writes). `SystemCallLog=` and
/// `RestrictAddressFamilies=` print `(bas)` as systemctl-show.c does: a
/// `~` for a deny list, then the names sorted (`strv_sort()` in
/// `exec_context_get_syscall_log()`/`_get_address_families()`); unset is
/// an empty deny list, `~`.
pub(crate) fn expected(d: Directive, e: &Effective) -> String {
    use dropin::value::Boolean;
    match d {
        Directive::NoNewPrivileges | Directive::PrivateIpc | Directive::RemoveIpc => {
            let on = e.get::<Boolean>(d).copied().flatten().unwrap_or(false);
            if on { "yes" } else { "no" }.to_owned()
        }
        Directive::SystemCallLog => match e.get::<dropin::SyscallLog>(d).cloned().flatten() {
            None => "~".to_owned(),
            Some(Seccomp { allow_list, calls }) => {
                let names: Vec<&str> = calls.keys().copied().collect();
                format!("{}{}", if allow_list { "" } else { "~" }, names.join(" "))
            }
        },
        Directive::RestrictAddressFamilies => {
            let set = e
                .get::<dropin::AddressFamilies>(d)
                .cloned()
                .unwrap_or_default();
            let FamilySet {
                allow_list,
                families,
            } = set;
            let names: Vec<String> = families.into_iter().flatten().collect();
            format!("{}{}", if allow_list { "" } else { "~" }, names.join(" "))
        }
        other => panic!("{other} is compared against the test mode dump"),
    }
}

/// The model's settings for a unit with nothing but a fragment: what a
/// directive shows when no line sets it.
fn baseline() -> Effective {
    let mut fs = dropin::load::MemFs::new();
    fs.file(
        "/etc/systemd/system/baseline.service",
        b"[Service]\nExecStart=/bin/true\n".to_vec(),
    );
    dropin::load::load(&fs, "baseline.service", &LoadOptions::default()).effective
}

/// `value` deliberately wrong, for the negative control: a boolean
/// flipped; a list without its last name, or with its `~` toggled when it
/// names nothing.
fn wrong(value: &str) -> String {
    match value {
        "yes" => "no".to_owned(),
        "no" => "yes".to_owned(),
        v => match v.rsplit_once(' ') {
            Some((rest, _)) => rest.to_owned(),
            None if v.starts_with('~') && v.len() > 1 => "~".to_owned(),
            None => match v.strip_prefix('~') {
                Some(names) => names.to_owned(),
                None => format!("~{v}"),
            },
        },
    }
}

/// Where the model's load of a unit and the manager's properties of it
/// disagree: the load state, and each of [`SHOWN`] for a loaded unit.
/// Counts the comparisons, per directive the units whose value is not the
/// default, and per directive the units on which a deliberately wrong
/// model value ([`wrong`]) is caught.
pub(crate) fn disagreements(
    ours: &Loaded,
    props: &Props,
    compared: &mut usize,
    set: &mut BTreeMap<&'static str, usize>,
    caught: &mut BTreeMap<&'static str, usize>,
) -> Vec<String> {
    let theirs = props.get("LoadState").map_or("", String::as_str);
    let same_state = match ours.state {
        LoadState::Loaded => theirs == "loaded",
        LoadState::NotFound => theirs == "not-found",
        LoadState::Masked => theirs == "masked",
        LoadState::Error => theirs == "bad-setting" || theirs == "error",
    };
    if !same_state {
        return vec![format!(
            "load state: ours {:?}, systemd's {theirs}",
            ours.state
        )];
    }
    if ours.state != LoadState::Loaded {
        return Vec::new();
    }
    let fresh = baseline();
    let mut diffs = Vec::new();
    for d in SHOWN {
        let want = expected(*d, &ours.effective);
        let got = props.get(d.name()).map_or("(not shown)", String::as_str);
        *compared += 1;
        if want != expected(*d, &fresh) {
            *set.entry(d.name()).or_default() += 1;
        }
        if got != want {
            diffs.push(format!("{d}: ours {want:?}, systemd's {got:?}"));
        } else if wrong(&want) != got {
            *caught.entry(d.name()).or_default() += 1;
        }
    }
    diffs
}

/// The booted manager, powered off when dropped.
pub(crate) struct Booted {
    c: Container,
}

/// The entries of `tree` to remove again after a batch: each case's own
/// entry below a search-path directory (or `/srv`), and the type-wide
/// drop-in file itself.
fn top_entries<'a>(paths: impl Iterator<Item = &'a String>, roots: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        let base = roots
            .iter()
            .copied()
            .chain(["/srv"])
            .find(|r| p.starts_with(&format!("{r}/")))
            .unwrap_or_else(|| panic!("staged outside the search path: {p}"));
        let rest = &p[base.len() + 1..];
        let first = rest.split('/').next().unwrap();
        let entry = if first == "service.d" {
            p.clone()
        } else {
            format!("{base}/{first}")
        };
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    out
}

impl Booted {
    /// Boots the runtime root (the root is built first if it is not
    /// cached).
    pub(crate) fn boot(name: &str) -> Booted {
        let ensure = std::process::Command::new(container::script())
            .arg("ensure")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(ensure.status.success(), "runtime root: {}", text(&ensure));
        assert!(text(&ensure).contains("systemd 257 "), "{}", text(&ensure));
        Booted {
            c: Container::boot(name),
        }
    }

    /// Stages `files` (absolute paths: file contents or link targets) at
    /// their real paths, reloads, asks `systemctl show` for `units` and
    /// removes the files again. One map per unit, in `units`' order.
    pub(crate) fn show(
        &self,
        files: &[(String, super::Node)],
        units: &[&str],
        roots: &[&str],
    ) -> Vec<Props> {
        // A tar of the files, built from a host directory of our own.
        let dir = std::env::temp_dir().join(format!(
            "left4me-differential-{}-{}",
            std::process::id(),
            self.c.name
        ));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, n) in files {
            let at = dir.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(at.parent().unwrap()).unwrap();
            match n {
                super::Node::File(b) => std::fs::write(&at, b).unwrap(),
                super::Node::Symlink(t) => std::os::unix::fs::symlink(t, &at).unwrap(),
            }
        }
        let tar = std::process::Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .args(["-cf", "-", "."])
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(tar.status.success(), "tar: {}", text(&tar));
        let mut child = self
            .c
            .command(&[
                "tar",
                "-C",
                "/",
                "-xf",
                "-",
                "--keep-directory-symlink",
                "--no-overwrite-dir",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "staging: {}", text(&out));
        self.c.sh("systemctl daemon-reload");
        let mut all = Vec::new();
        for chunk in units.chunks(250) {
            let mut args = vec!["systemctl", "show", "-p", "Id", "-p", "LoadState"];
            let props: Vec<&str> = SHOWN.iter().map(|d| d.name()).collect();
            for p in &props {
                args.extend(["-p", p]);
            }
            args.push("--");
            args.extend(chunk.iter().copied());
            let out = self.c.exec(&args);
            assert!(out.status.success(), "systemctl show: {}", text(&out));
            let stdout = String::from_utf8(out.stdout).unwrap();
            let blocks: Vec<Props> = stdout
                .split("\n\n")
                .filter(|b| !b.trim().is_empty())
                .map(|b| {
                    b.lines()
                        .filter_map(|l| l.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                })
                .collect();
            assert_eq!(blocks.len(), chunk.len(), "one block per unit: {stdout}");
            all.extend(blocks);
        }
        // Nothing of this batch may stay for the next one (the type-wide
        // drop-in applies to every service).
        let entries = top_entries(files.iter().map(|(p, _)| p), roots);
        let mut rm = vec!["rm", "-rf", "--"];
        rm.extend(entries.iter().map(String::as_str));
        let out = self.c.exec(&rm);
        assert!(out.status.success(), "rm: {}", text(&out));
        self.c.sh("systemctl daemon-reload");
        all
    }

    /// Powers off; panics if anything is left.
    pub(crate) fn poweroff(mut self) {
        let off = self.c.poweroff();
        assert!(
            off.status.success() && text(&off).contains(&format!("clean: {}", self.c.name)),
            "something was left behind: {}",
            text(&off)
        );
    }
}
