//! The Debian package on a fresh Debian 13 root: `scripts/deb build`
//! makes the .deb with cargo-deb, `scripts/deb root` the root (the
//! systemd-oracle root with man-db and bash-completion, cached), and
//! `scripts/systemd-oracle run` installs it with dpkg in a throw-away
//! overlay of that root (a private mount and PID namespace under a
//! timeout: nothing is left behind). Inside, an operator's first steps:
//! `left4me-harden --version`, `man left4me-harden-diff`, TAB after
//! `left4me-harden render ` through bash-completion's own loader, the
//! default host configuration, `write`, `lint UNIT`, and removal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a project script; its last line of standard output.
fn script(args: &[&str]) -> String {
    let out = Command::new(repo().join("scripts").join(args[0]))
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/{}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines().last().unwrap_or_default().to_owned()
}

/// What runs in the overlay: each step prints `== NAME` first.
const STEPS: &str = r#"
set -u
echo "== before"
command -v left4me-harden || echo "no left4me-harden"
man -w left4me-harden-diff 2>/dev/null || echo "no man page"
echo "== install"
dpkg -i @ROOT@/left4me-harden.deb >/dev/null 2>&1 && echo installed
echo "== version"
left4me-harden --version
echo "== files"
dpkg -L left4me-harden | grep -E '^/usr/(bin|share/(man|bash-completion|zsh|fish))/.*[^/]$' | sort
echo "== man"
MANWIDTH=200 MANPAGER=cat man left4me-harden-diff 2>&1 | grep -E '^(NAME|EXIT STATUS|ENVIRONMENT|FILES|EXAMPLES)$|^ +left4me.harden.diff . '
echo "== bash"
bash --norc -c '
. /usr/share/bash-completion/bash_completion
_comp_load left4me-harden 2>/dev/null || __load_completion left4me-harden
f=$(complete -p left4me-harden | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
COMP_WORDS=(left4me-harden render "")
COMP_CWORD=2
COMP_LINE="left4me-harden render "
COMP_POINT=${#COMP_LINE}
"$f" left4me-harden "" render
printf "%s\n" "${COMPREPLY[@]}" | grep -vE "^-"
'
echo "== config"
left4me-harden render server | grep "^# Host config: "
mkdir -p /etc/left4me-harden
cp @ROOT@/host.toml /etc/left4me-harden/host.toml
left4me-harden render server 2>/dev/null | grep "^# Host config: "
echo "== write"
left4me-harden write -q --instance 1 && echo written
left4me-harden diff --instance 1 | head -n 4
left4me-harden lint left4me-server@1.service | tail -n 1
echo "== remove"
dpkg -r left4me-harden >/dev/null 2>&1 && echo removed
test -e /usr/bin/left4me-harden || echo "no left4me-harden"
man -w left4me-harden-diff 2>/dev/null || echo "no man page"
"#;

/// The output's sections by name.
fn section<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    let head = format!("== {name}");
    out.lines()
        .skip_while(|l| *l != head)
        .skip(1)
        .take_while(|l| !l.starts_with("== "))
        .collect()
}

#[test]
fn the_deb_installs_on_debian_13_with_man_pages_and_completion() {
    let deb = script(&["deb", "build"]);
    let root = script(&["deb", "root"]);
    let fake = std::env::temp_dir().join(format!("left4me-harden-package-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fake);
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::copy(&deb, fake.join("left4me-harden.deb")).unwrap();
    let config = "[[server.remove]]\ndirective = \"ProtectClock\"\nreason = \"chrony\"\n";
    std::fs::write(fake.join("host.toml"), config).unwrap();
    let out = Command::new(repo().join("scripts/systemd-oracle"))
        .args(["run", fake.to_str().unwrap(), "sh", "-c", STEPS])
        .env("LEFT4ME_ORACLE_DIR", &root)
        .env("LEFT4ME_ORACLE_TIMEOUT", "120")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&fake);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    assert!(out.status.success(), "{text}\n{err}");

    // The control: before dpkg, neither the command nor its page exists.
    assert_eq!(
        section(&text, "before"),
        ["no left4me-harden", "no man page"]
    );
    assert_eq!(section(&text, "install"), ["installed"]);
    let version = format!("left4me-harden {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(section(&text, "version"), [version.as_str()]);
    let files = section(&text, "files");
    for want in [
        "/usr/bin/left4me-harden",
        "/usr/share/bash-completion/completions/left4me-harden",
        "/usr/share/zsh/vendor-completions/_left4me-harden",
        "/usr/share/fish/vendor_completions.d/left4me-harden.fish",
    ] {
        assert!(files.contains(&want), "{want} not in {files:?}");
    }
    for sub in ["", "-diff", "-render", "-write", "-lint", "-explain"] {
        let page = format!("/usr/share/man/man1/left4me-harden{sub}.1");
        assert!(
            files.iter().any(|f| f.starts_with(&page)),
            "{page}: {files:?}"
        );
    }
    let man = section(&text, "man");
    assert_eq!(man[0], "NAME", "{man:?}");
    // groff may print the dashes as U+2010.
    let name = man[1].trim_start().replace('\u{2010}', "-");
    assert!(name.starts_with("left4me-harden-diff - Compare"), "{man:?}");
    for s in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] {
        assert!(man.contains(&s), "{s}: {man:?}");
    }
    assert_eq!(section(&text, "bash"), ["server", "web", "sysctl"]);
    let config = section(&text, "config");
    assert_eq!(config[0], "# Host config: none (the standard profiles).");
    assert!(
        config[1].starts_with("# Host config: /etc/left4me-harden/host.toml (sha256 "),
        "{config:?}"
    );
    let write = section(&text, "write");
    assert_eq!(write[0], "written", "{write:?}");
    assert!(
        write.contains(&"# left4me-server@1.service: same settings"),
        "{write:?}"
    );
    assert!(
        write.last().unwrap().starts_with("1 unit: 0 errors"),
        "{write:?}"
    );
    assert_eq!(
        section(&text, "remove"),
        ["removed", "no left4me-harden", "no man page"]
    );
}
