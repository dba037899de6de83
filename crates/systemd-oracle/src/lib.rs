//! Real systemd 257 (Debian 13) as a test oracle: stage files at the paths
//! systemd reads, and ask it what it loaded and what it logged.
//!
//! A dev-only crate: tests of the other crates use it to prove a model of
//! systemd's unit loading against systemd itself. It drives
//! `scripts/systemd-oracle`, which builds (once, cached outside the
//! repository) a debootstrapped trixie root and runs every query in a
//! private mount and PID namespace over an overlay of that root, so the
//! cached root is never modified and nothing stays mounted or running.
//! It needs root.
//!
//! ```no_run
//! use systemd_oracle::{LoadState, Oracle, Tree};
//!
//! let oracle = Oracle::get()?;
//! let mut tree = Tree::new();
//! tree.file(
//!     "/etc/systemd/system/a.service",
//!     "[Service]\nExecStart=/bin/true\nProtectSystem=strict\n",
//! )
//! .file("/etc/systemd/system/a.service.d/10.conf", "[Service]\nProtectSystem=full\n");
//! let dump = oracle.dump(&tree, &["a.service"])?;
//! let a = dump.unit("a.service").expect("a.service was asked for");
//! assert_eq!(a.load_state(), LoadState::Loaded);
//! assert_eq!(a.get("ProtectSystem"), Some("full"));
//! # Ok::<(), systemd_oracle::Error>(())
//! ```
//!
//! # Limitations
//!
//! - `systemd --test` prints most but not all settings: see
//!   `docs/systemd-257-loading.md` for the keys it never shows
//!   (`NoNewPrivileges=`, `RestrictAddressFamilies=`, …).
//! - The root's own generators are masked. In test mode systemd reads
//!   generator output from a temporary directory; files staged below
//!   `/run/systemd/generator*/` are copied there by a generator and the
//!   dump prints that directory as `/run/systemd/generator*` again.
//! - Units are loaded through generated `left4me-oracle-batch-N.target`
//!   units in `/usr/lib/systemd/system` (`After=` each unit); a type-wide
//!   `target.d/` drop-in applies to them too.
//! - Like a booting manager, test mode empties the transient directory
//!   before loading: nothing staged in `/run/systemd/transient/` is read.
//! - The dump and the log are read as UTF-8, invalid bytes replaced by
//!   U+FFFD (systemd itself refuses invalid UTF-8 in assignments).
//! - A few lines (`TasksMax`, `Limit*`) reflect the host running the
//!   oracle.

mod dump;
mod error;
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use dump::{LoadState, LogLine, SET_LINE_KEYS, SET_WORD_KEYS, UnitDump, sort_words};
pub use error::{Error, Result};
pub use tree::{Node, Tree};

/// The oracle: the cached systemd 257 root and the script that runs it.
#[derive(Debug)]
pub struct Oracle {
    script: PathBuf,
    version: String,
}

/// How [`Oracle::dump_with`] batches its systemd calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpOptions {
    /// Units per systemd call. A call's cost grows with the square of its
    /// units (every unit's dump walks its slice's members), so a few
    /// hundred per call are fastest; the calls run in parallel.
    pub chunk: usize,
    /// systemd's `--log-level` (`info` by default; `debug` shows more of
    /// what the loader skips).
    pub log_level: String,
}

impl Default for DumpOptions {
    fn default() -> DumpOptions {
        DumpOptions {
            chunk: 250,
            log_level: "info".to_owned(),
        }
    }
}

/// What systemd loaded for the units asked about, and what it logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    units: BTreeMap<String, UnitDump>,
    log: Vec<LogLine>,
    calls: usize,
}

impl Dump {
    /// The unit asked for as `name`; `None` when systemd did not load it
    /// at all (a template name such as `a@.service` cannot be loaded).
    pub fn unit(&self, name: &str) -> Option<&UnitDump> {
        self.units.get(name)
    }

    /// Every unit asked for that systemd loaded, by name.
    pub fn units(&self) -> impl Iterator<Item = &UnitDump> {
        self.units.values()
    }

    /// Every line systemd logged, call after call, each call's lines in
    /// the order logged, without the lines every run logs (version
    /// banner, detected environment, timing). A file shared by units of
    /// several calls is reported once per call (and once per unit that
    /// loads it).
    pub fn log(&self) -> &[LogLine] {
        &self.log
    }

    /// The log lines of the form `FILE:LINE: message`, sorted, without
    /// repeats.
    pub fn file_warnings(&self) -> Vec<&LogLine> {
        let mut lines: Vec<&LogLine> = self.log.iter().filter(|l| l.file.is_some()).collect();
        lines.sort();
        lines.dedup();
        lines
    }

    /// How many systemd calls the dump took.
    pub fn calls(&self) -> usize {
        self.calls
    }
}

/// What `systemd-analyze verify` or `security` printed, with the staged
/// tree's paths as systemd sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    /// The exit status (`None` if killed by a signal).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Analysis {
    /// Standard output then standard error, line by line.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.stdout.lines().chain(self.stderr.lines())
    }

    /// The per-check results of `security --json=short` (or
    /// `--json=pretty`), in the order printed.
    pub fn security_checks(&self) -> Result<Vec<SecurityCheck>> {
        let json: serde_json::Value = serde_json::from_str(&self.stdout)
            .map_err(|e| Error::Malformed(format!("security JSON: {e}")))?;
        let checks = json
            .as_array()
            .ok_or_else(|| Error::Malformed("security JSON is not an array".to_owned()))?;
        checks
            .iter()
            .map(|c| {
                let text = |field: &str| c[field].as_str().map(str::to_owned);
                Ok(SecurityCheck {
                    name: text("name")
                        .ok_or_else(|| Error::Malformed(format!("a check without a name: {c}")))?,
                    json_field: text("json_field").unwrap_or_default(),
                    description: text("description").unwrap_or_default(),
                    set: c["set"].as_bool(),
                    exposure: text("exposure"),
                })
            })
            .collect()
    }

    /// The overall exposure of `security`'s table
    /// (`→ Overall exposure level for UNIT: 1.3 OK`).
    pub fn overall_exposure(&self) -> Option<f64> {
        let line = self
            .stdout
            .lines()
            .find(|l| l.contains("Overall exposure level for "))?;
        line.rsplit(": ")
            .next()?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

/// One check of `systemd-analyze security --json=short`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityCheck {
    /// The check's name, e.g. `NoNewPrivileges=` or
    /// `RestrictAddressFamilies=~AF_PACKET`.
    pub name: String,
    /// Its JSON field name, e.g. `RestrictAddressFamilies_AF_PACKET`.
    pub json_field: String,
    /// What systemd says about it.
    pub description: String,
    /// Whether the unit passes it (`None`: does not apply).
    pub set: Option<bool>,
    /// The exposure it adds, as printed (`None` when it adds none).
    pub exposure: Option<String>,
}

static ORACLE: OnceLock<Result<Oracle, String>> = OnceLock::new();

impl Oracle {
    /// The oracle, its root built (or found cached) on first use.
    pub fn get() -> Result<&'static Oracle> {
        ORACLE
            .get_or_init(Oracle::ensure)
            .as_ref()
            .map_err(|e| Error::Unavailable(e.clone()))
    }

    fn ensure() -> Result<Oracle, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/systemd-oracle");
        let out = Command::new(&script)
            .arg("ensure")
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} ensure: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok(Oracle { script, version })
    }

    /// The root's version line, e.g. `systemd 257 (257.13-1~deb13u1)`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Stages `tree` at its paths in a private overlay of the root and
    /// asks `systemd --test --system` about `units` (default options).
    pub fn dump(&self, tree: &Tree, units: &[&str]) -> Result<Dump> {
        self.dump_with(tree, units, &DumpOptions::default())
    }

    /// [`dump`](Self::dump) with explicit options.
    pub fn dump_with(&self, tree: &Tree, units: &[&str], options: &DumpOptions) -> Result<Dump> {
        if let Some(bad) = units.iter().find(|u| !is_unit_name(u)) {
            return Err(Error::BadUnit((*bad).to_owned()));
        }
        if units.is_empty() {
            return Ok(Dump {
                units: BTreeMap::new(),
                log: Vec::new(),
                calls: 0,
            });
        }
        let scratch = Scratch::new()?;
        let stage = scratch.0.join("stage");
        let raw = scratch.0.join("raw");
        tree.write_to(&stage)?;
        let out = Command::new(&self.script)
            .arg("dump")
            .arg("--raw")
            .arg(&raw)
            .arg("--chunk")
            .arg(options.chunk.max(1).to_string())
            .arg("--log-level")
            .arg(&options.log_level)
            .arg(&stage)
            .args(units)
            .output()
            .map_err(|source| Error::Spawn {
                script: self.script.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(Error::Run {
                what: "systemd-oracle dump".to_owned(),
                status: out.status.to_string(),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        read_raw(&raw)
    }

    /// The directory of the cached root on the host (read it, never write
    /// to it: every query runs over a private overlay of it).
    pub fn root_dir(&self) -> Result<PathBuf> {
        let out = Command::new(&self.script)
            .arg("root")
            .output()
            .map_err(|source| Error::Spawn {
                script: self.script.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(Error::Run {
                what: "systemd-oracle root".to_owned(),
                status: out.status.to_string(),
                output: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// Runs `args` (a command and its arguments) in the root with `tree`
    /// copied in below a scratch directory; `@ROOT@` in `args` stands for
    /// that directory (`["env", "SYSTEMD_UNIT_PATH=@ROOT@/u",
    /// "systemd-analyze", "security", "--offline=true", "@ROOT@/u/a.service"]`).
    /// Output shows the tree's paths as they are below that directory.
    pub fn run(&self, tree: &Tree, args: &[&str]) -> Result<Analysis> {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        self.analyze(tree, &all)
    }

    /// `systemd-analyze verify --root=TREE UNITS…` with `tree` as the
    /// alternative root.
    pub fn verify(&self, tree: &Tree, units: &[&str]) -> Result<Analysis> {
        let mut args = vec!["verify"];
        args.extend_from_slice(units);
        self.analyze(tree, &args)
    }

    /// `systemd-analyze security --offline=true --root=TREE ARGS… UNIT`.
    pub fn security(&self, tree: &Tree, unit: &str, args: &[&str]) -> Result<Analysis> {
        let mut all = vec!["security", unit];
        all.extend_from_slice(args);
        self.analyze(tree, &all)
    }

    fn analyze(&self, tree: &Tree, args: &[&str]) -> Result<Analysis> {
        let scratch = Scratch::new()?;
        let stage = scratch.0.join("root");
        tree.write_to(&stage)?;
        let (command, rest) = args.split_first().unwrap_or((&"verify", &[]));
        let out = Command::new(&self.script)
            .arg(command)
            .arg(&stage)
            .args(rest)
            .output()
            .map_err(|source| Error::Spawn {
                script: self.script.clone(),
                source,
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() == Some(2) || stderr.lines().any(|l| l.starts_with("systemd-oracle: "))
        {
            return Err(Error::Run {
                what: format!("systemd-oracle {command}"),
                status: out.status.to_string(),
                output: stderr.into_owned(),
            });
        }
        // The script prints the tree's paths as host paths: show them as
        // systemd sees them below --root.
        let host = stage.to_string_lossy().into_owned();
        Ok(Analysis {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).replace(&host, ""),
            stderr: stderr.replace(&host, ""),
        })
    }
}

/// Whether `name` has only the characters of a unit name (what the
/// script also checks before writing it into a batch target).
fn is_unit_name(name: &str) -> bool {
    // A trailing backslash would continue the generated line.
    name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.@\\-".contains(&b))
}

/// A scratch directory on the host, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "left4me-oracle-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir(&dir).map_err(|source| Error::Io {
            what: "cannot create the scratch directory",
            path: dir.clone(),
            source,
        })?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        what: "cannot read",
        path: path.to_owned(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads the script's `--raw` output: per call N, `N.units`, `N.dump`,
/// `N.log` and `N.rc`.
fn read_raw(raw: &Path) -> Result<Dump> {
    let calls: usize = read_file(&raw.join("chunks"))?
        .trim()
        .parse()
        .map_err(|_| Error::Malformed("no call count".to_owned()))?;
    let mut units = BTreeMap::new();
    let mut log = Vec::new();
    for k in 0..calls {
        let rc = read_file(&raw.join(format!("{k}.rc")))?;
        let call_log: Vec<LogLine> = read_file(&raw.join(format!("{k}.log")))?
            .lines()
            .filter(|l| !dump::is_run_noise(l))
            .map(LogLine::parse)
            .collect();
        if rc.trim() != "0" {
            return Err(Error::Run {
                what: format!("systemd --test (call {k})"),
                status: rc.trim().to_owned(),
                output: call_log
                    .iter()
                    .map(|l| l.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        let blocks = dump::parse_units(&read_file(&raw.join(format!("{k}.dump")))?);
        for name in read_file(&raw.join(format!("{k}.units")))?.lines() {
            let found = blocks.get_key_value(name).or_else(|| {
                blocks
                    .iter()
                    .find(|(_, b)| b.aliases.iter().any(|a| a == name))
            });
            let Some((id, block)) = found else {
                continue;
            };
            let mut files: Vec<&str> = vec![];
            for (key, value) in &block.lines {
                if key == "Fragment Path" || key == "DropIn Path" || key == "Source Path" {
                    files.push(value);
                }
            }
            let unit_log = call_log
                .iter()
                .filter(|l| {
                    l.file.as_deref().is_some_and(|f| files.contains(&f))
                        || l.unit.as_deref().is_some_and(|u| u == id || u == name)
                })
                .cloned()
                .collect();
            units.insert(
                name.to_owned(),
                UnitDump {
                    name: name.to_owned(),
                    id: id.clone(),
                    lines: block.lines.clone(),
                    log: unit_log,
                },
            );
        }
        log.extend(call_log);
    }
    Ok(Dump { units, log, calls })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn unit_names_that_could_not_break_a_batch_target() {
        for ok in [
            "a.service",
            "left4me-server@1.service",
            "a\\x2db@c:d_e.target",
            "-.slice",
        ] {
            assert!(is_unit_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a b.service",
            "a.service\nExecStart=/x",
            "a%i.service",
            "a/b.service",
        ] {
            assert!(!is_unit_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn security_checks_and_exposure_are_read() {
        let a = Analysis {
            status: Some(0),
            stdout: r#"[{"set":true,"name":"NoNewPrivileges=","json_field":"NoNewPrivileges","description":"d","exposure":null},{"set":null,"name":"RemoveIPC=","json_field":"RemoveIPC","description":"e","exposure":"0.1"}]"#.to_owned(),
            stderr: String::new(),
        };
        let checks = a.security_checks().unwrap();
        assert_eq!(checks[0].name, "NoNewPrivileges=");
        assert_eq!(checks[0].set, Some(true));
        assert_eq!(checks[1].set, None);
        assert_eq!(checks[1].exposure.as_deref(), Some("0.1"));
        let table = Analysis {
            status: Some(0),
            stdout: "x\n\u{2192} Overall exposure level for a.service: 1.3 OK \u{1f642}\n"
                .to_owned(),
            stderr: String::new(),
        };
        assert_eq!(table.overall_exposure(), Some(1.3));
        assert!(a.overall_exposure().is_none());
        assert!(table.security_checks().is_err());
    }
}
