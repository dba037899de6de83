//! Generates the tables `dropin` takes from systemd 257's source.
//!
//! systemd is the referee of what a unit file means, so the names and
//! tables the model relies on are read from its source, not typed by hand:
//! the unit-file keys of a `.service` (with the parser of each and what it
//! does with an empty or a repeated assignment), the system call groups and
//! numbers, the capability, errno, address family, architecture and
//! namespace names, the exposure checks of `systemd-analyze security`, and
//! the kernel's audit and seccomp constants a SECCOMP audit record is read
//! with.
//!
//! [`generate`] reads a Debian systemd source tree (`scripts/systemd-source
//! ensure`) and the kernel and C library headers its build saw, and returns
//! the Rust files of `crates/dropin/src/generated/`. The parsing is strict:
//! when the C does not have the shape this crate expects, it fails with an
//! error naming the file and construct rather than emit a partial table.
//!
//! # Limitations
//!
//! - Only what a `.service` unit can hold is extracted from the unit-file
//!   key table (`[Unit]`, `[Service]`, `[Install]`).
//! - The merge behaviour of a parser is classified from patterns in its C
//!   body; where no pattern applies it says so (`Unknown`) instead of
//!   guessing.
//! - The preprocessor used on the headers knows only what those headers
//!   need (see [`cpp`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod audit;
pub mod cpp;
mod emit;
pub mod exposure;
mod jinja;
pub mod names;
pub mod syscalls;
mod text;
pub mod unit_keys;

/// What can go wrong while generating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The source does not have the shape the generator expects.
    #[error("{file}: {construct}: {message}")]
    Shape {
        /// The file, relative to the source tree.
        file: String,
        /// The construct being read, e.g. `syscall_filter_sets[]`.
        construct: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn shape(
        file: impl Into<String>,
        construct: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Shape {
            file: file.into(),
            construct: construct.into(),
            message: message.into(),
        }
    }
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The build configuration of Debian's systemd that the tables depend on:
/// (config.h name, value, the flag `systemctl --version` shows for it).
/// The cross-check tests compare it with the oracle's `systemctl --version`.
pub const BUILD_FEATURES: &[(&str, bool, &str)] = &[
    ("HAVE_SECCOMP", true, "SECCOMP"),
    ("HAVE_PAM", true, "PAM"),
    ("HAVE_SELINUX", true, "SELINUX"),
    ("HAVE_APPARMOR", true, "APPARMOR"),
    ("ENABLE_SMACK", true, "SMACK"),
];

/// The value of a build feature; an unknown name is an error message.
pub(crate) fn feature(name: &str) -> std::result::Result<bool, String> {
    BUILD_FEATURES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, v, _)| *v)
        .ok_or_else(|| format!("unknown build feature {name:?} (see BUILD_FEATURES)"))
}

/// The directory, relative to the workspace root, the files go to.
pub const OUTPUT_DIR: &str = "crates/dropin/src/generated";

/// The command that regenerates the files.
pub const REGENERATE: &str = "cargo run -p systemd-tables -- write";

/// Runs `scripts/systemd-source ensure` in the workspace `root` (fetching
/// the source and headers if they are missing) and returns the source
/// directory and the headers directory.
pub fn ensure_source(root: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let script = root.join("scripts/systemd-source");
    let run = |arg: &str| -> std::io::Result<PathBuf> {
        let out = std::process::Command::new(&script)
            .arg(arg)
            .current_dir(root)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "{} {arg} failed ({})",
                script.display(),
                out.status
            )));
        }
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(PathBuf::from(dir))
    };
    let source = run("ensure")?;
    let headers = run("headers")?;
    Ok((source, headers))
}

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The source tree being read.
pub(crate) struct Source<'a> {
    pub(crate) root: &'a Path,
    pub(crate) headers: &'a Path,
    /// E.g. `257.13 (Debian 257.13-1~deb13u1)`.
    pub(crate) version: String,
}

/// The systemd version of a Debian source tree: upstream `meson.version`
/// and the Debian version of `debian/changelog`'s first entry.
pub fn source_version(source: &Path) -> Result<String> {
    let upstream = text::read(source, "meson.version")?.trim().to_owned();
    let changelog = text::read(source, "debian/changelog")?;
    let first = changelog.lines().next().unwrap_or_default();
    let debian = first
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(v, _)| v)
        .filter(|v| v.starts_with(&upstream))
        .ok_or_else(|| {
            Error::shape(
                "debian/changelog",
                "first line",
                format!("no version matching {upstream}"),
            )
        })?;
    Ok(format!("{upstream} (Debian {debian})"))
}

/// Reads the systemd source tree `source` and the build headers below
/// `headers` (holding `usr/include`) and returns every generated file:
/// file name (in [`OUTPUT_DIR`]) → Rust text.
pub fn generate(source: &Path, headers: &Path) -> Result<BTreeMap<String, String>> {
    let s = Source {
        root: source,
        headers,
        version: source_version(source)?,
    };
    let mut files = BTreeMap::new();

    let groups = syscalls::groups(source)?;
    let known = syscalls::known_list(source)?;
    syscalls::check_positions(&known)?;
    files.insert(
        "syscalls.rs".to_owned(),
        syscalls::emit_groups(&s, &groups, &known),
    );
    let mut tables = Vec::new();
    for (arch, konst, name) in syscalls::ARCHES {
        tables.push((
            *arch,
            *konst,
            *name,
            syscalls::numbers(source, arch, &known)?,
        ));
    }
    files.insert(
        "syscall_numbers.rs".to_owned(),
        syscalls::emit_numbers(&s, &tables),
    );

    let names = names::read(&s)?;
    files.insert("names.rs".to_owned(), names::emit(&s, &names));

    let audit = audit::read(&s, &names.architectures)?;
    files.insert("audit.rs".to_owned(), audit::emit(&s, &audit));

    let checks = exposure::checks(source)?;
    let extras = exposure::extras(source)?;
    files.insert(
        "exposure.rs".to_owned(),
        exposure::emit(&s, &checks, &extras, &names),
    );

    let mut keys = unit_keys::service_keys(source)?;
    let parsers = unit_keys::parsers(source, &mut keys)?;
    unit_keys::check_positions(&keys)?;
    files.insert(
        "unit_keys.rs".to_owned(),
        unit_keys::emit(&s, &keys, &parsers),
    );

    files.insert(
        "known.rs".to_owned(),
        names::emit_known(&s, &groups, &names),
    );
    files.insert("mod.rs".to_owned(), emit_mod(&s, &files));
    Ok(files)
}

fn emit_mod(s: &Source, files: &BTreeMap<String, String>) -> String {
    let mut out = emit::header(
        "Tables generated from systemd's source.",
        &s.version,
        &[],
        &[
            "Each file says which files of the source it was read from. Not every table is \
           used yet; they are the single place the model takes systemd's names from.",
        ],
    );
    out.push_str("#![allow(dead_code)]\n\n");
    for name in files.keys() {
        if let Some(m) = name.strip_suffix(".rs") {
            out.push_str(&format!("pub(crate) mod {m};\n"));
        }
    }
    out
}

/// Reads the name tables (capabilities, errno names, address families,
/// architectures, namespaces) from `source` and the build headers.
pub fn read_names(source: &Path, headers: &Path) -> Result<names::Names> {
    let s = Source {
        root: source,
        headers,
        version: source_version(source)?,
    };
    names::read(&s)
}

/// One generated file that differs from what is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The file name in [`OUTPUT_DIR`].
    pub name: String,
    /// A unified diff from the file on disk to the generated text (an
    /// absent file is empty; a file that should not exist diffs to empty).
    pub diff: String,
}

/// Compares generated files with the directory `dir`: every generated file
/// must exist with the same text, and no other `.rs` file may be there.
pub fn compare(files: &BTreeMap<String, String>, dir: &Path) -> Result<Vec<Stale>> {
    let mut on_disk = BTreeMap::new();
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".rs") {
            let path = entry.path();
            let text =
                std::fs::read_to_string(&path).map_err(|source| Error::Io { path, source })?;
            on_disk.insert(name, text);
        }
    }
    Ok(stale(files, &on_disk))
}

/// The files of `want` that `have` lacks or holds with other text, and the
/// files of `have` that `want` does not have.
pub fn stale(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> Vec<Stale> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    for name in names {
        let w = want.get(name).map_or("", String::as_str);
        let h = have.get(name).map_or("", String::as_str);
        if want.contains_key(name) && have.contains_key(name) && w == h {
            continue;
        }
        let diff = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(h, w)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        out.push(Stale {
            name: name.clone(),
            diff,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_table_is_stale() {
        let mut want = BTreeMap::new();
        want.insert("a.rs".to_owned(), "const A: u8 = 1;\n".to_owned());
        want.insert("b.rs".to_owned(), "const B: u8 = 2;\n".to_owned());
        let mut have = want.clone();
        assert!(stale(&want, &have).is_empty());
        have.insert("a.rs".to_owned(), "const A: u8 = 9;\n".to_owned());
        have.insert("old.rs".to_owned(), "x\n".to_owned());
        have.remove("b.rs");
        let found = stale(&want, &have);
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a.rs", "b.rs", "old.rs"]);
        assert!(found[0].diff.contains("-const A: u8 = 9;"));
        assert!(found[0].diff.contains("+const A: u8 = 1;"));
    }
}
