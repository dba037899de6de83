//! `diff`: what is installed against what would be generated — a semantic
//! summary first, then unified diffs of the files — or the generated
//! settings against `systemctl show` output.

use std::collections::BTreeMap;
use std::io::{self, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use anyhow::{Context as _, Result, bail};
use dropin::diff::{Change, LineTag, UnifiedDiff, semantic};
use dropin::parse::{RawEntry, Read, service_assignments, show_output, sysctl_entries};
use dropin::{Effective, RenderOptions};
use left4me_hardening::output::Generated;
use left4me_hardening::{Host, ProfileKind};
use rootfs::{Budget, Root};

use crate::cli::{ColorWhen, DiffArgs};
use crate::{commands, out};

/// ANSI colours, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn new(when: ColorWhen) -> Paint {
        Paint(match when {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        })
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A line coloured by its leading sign.
    fn line(self, text: &str) -> String {
        let code = match text.chars().next() {
            Some('+') => "32",
            Some('-') => "31",
            Some('~') => "33",
            Some('?') => "35",
            Some('#') => "1",
            _ => return text.to_owned(),
        };
        self.paint(code, text)
    }
}

pub(crate) fn run(args: &DiffArgs, budget: &Budget) -> Result<ExitCode> {
    let host = commands::host(&args.host, budget)?;
    let options = RenderOptions {
        comments: !args.no_comments,
    };
    let paint = Paint::new(args.color);
    if let Some(show) = &args.show {
        return against_show(args, &host, show, options, paint, budget);
    }
    let root = Root::open(&args.root)?;
    let mut installed = Installed::new(&root, budget);
    let targets = targets(args, &host, options)?;
    let mut reports = Vec::new();
    for g in &targets {
        reports.push(compare(&mut installed, &host, g)?);
    }
    let mut out = out::stdout();
    let mut differ = false;
    for r in &reports {
        differ |= !r.changes.is_empty();
        let status = match r.changes.len() {
            0 if r.diff.is_empty() => "same settings".to_owned(),
            0 => "same settings, the text differs".to_owned(),
            1 => "1 setting differs".to_owned(),
            n => format!("{n} settings differ"),
        };
        let read = match r.read.as_slice() {
            [] => " — nothing installed".to_owned(),
            [only] if *only == r.path => String::new(),
            files => format!(" — read {}", files.join(", ")),
        };
        writeln!(
            out,
            "{}",
            paint.line(&format!("# {}: {status}{read}", r.unit))
        )?;
        for c in &r.changes {
            writeln!(out, "{}", paint.line(&c.to_string()))?;
        }
    }
    for r in reports.iter().filter(|r| !r.diff.is_empty()) {
        writeln!(out)?;
        write_unified(&mut out, &r.diff, paint)?;
    }
    Ok(if differ {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The generated files the command compares.
fn targets(args: &DiffArgs, host: &Host, options: RenderOptions) -> Result<Vec<Generated>> {
    let instances = commands::instances(&args.instance)?;
    let Some(profile) = &args.profile else {
        return Ok(host.files(&instances, options)?);
    };
    let kind: ProfileKind = profile.parse()?;
    let mut files = Vec::new();
    if kind != ProfileKind::Server || instances.is_empty() || args.show.is_none() {
        files.push(host.generate(kind, None, options)?);
    }
    for i in &instances {
        files.push(host.generate(kind, Some(i), options)?);
    }
    Ok(files)
}

/// One compared file.
struct Report {
    /// The unit (or, for sysctl, the file) compared.
    unit: String,
    /// The generated file's path, as shown (`/etc/…`).
    path: String,
    /// The installed files read, in the order systemd reads them.
    read: Vec<String>,
    /// Semantic changes from installed to generated.
    changes: Vec<Change>,
    /// The installed file of the same name against the generated one.
    diff: UnifiedDiff,
}

fn shown_path(relative: &Path) -> String {
    format!("/{}", relative.display())
}

/// The installed files, read through the root, each once per run (an
/// instance's template drop-ins are read for every instance).
struct Installed<'a> {
    root: &'a Root,
    budget: &'a Budget,
    files: BTreeMap<PathBuf, Option<Rc<[u8]>>>,
    dirs: BTreeMap<PathBuf, Rc<[(String, PathBuf)]>>,
}

impl<'a> Installed<'a> {
    fn new(root: &'a Root, budget: &'a Budget) -> Installed<'a> {
        Installed {
            root,
            budget,
            files: BTreeMap::new(),
            dirs: BTreeMap::new(),
        }
    }

    /// The file at `rel`, as systemd would read it under the root; `None`
    /// if it does not exist.
    fn read(&mut self, rel: &Path) -> Result<Option<Rc<[u8]>>> {
        if let Some(known) = self.files.get(rel) {
            return Ok(known.clone());
        }
        let bytes = self.root.read_file(rel, self.budget)?.map(Rc::from);
        self.files.insert(rel.to_path_buf(), bytes.clone());
        Ok(bytes)
    }

    /// The `*.conf` files of the directory `dir` that systemd reads,
    /// sorted by name, with their paths below the root: hidden files and
    /// what is not (or does not lead to) a regular file left out, such as
    /// masks (links to `/dev/null`).
    fn confs(&mut self, dir: &Path) -> Result<Rc<[(String, PathBuf)]>> {
        if let Some(known) = self.dirs.get(dir) {
            return Ok(known.clone());
        }
        let entries = self.root.read_dir(dir, self.budget)?.unwrap_or_default();
        let list: Rc<[(String, PathBuf)]> = entries
            .iter()
            .filter(|e| e.is_file())
            .map(|e| (e.name.to_string_lossy().into_owned(), dir.join(&e.name)))
            .filter(|(name, _)| name.ends_with(".conf") && !name.starts_with('.'))
            .collect();
        self.dirs.insert(dir.to_path_buf(), list.clone());
        Ok(list)
    }
}

fn compare(installed: &mut Installed<'_>, host: &Host, g: &Generated) -> Result<Report> {
    let path = shown_path(Path::new(&g.path));
    let old = match installed.read(Path::new(&g.path))? {
        Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        None => String::new(),
    };
    let diff = UnifiedDiff::new(
        &format!("{path} (installed)"),
        &old,
        &format!("{path} (generated)"),
        &g.text,
    );
    let (unit, read, changes) = match &g.composed {
        Some(composed) => {
            let unit = unit_of(&g.path);
            let (read, reads) = installed_dropins(installed, host, g)?;
            let installed = Effective::from_reads(&reads);
            let changes = semantic(&installed, &Effective::of(composed));
            (unit, read, changes)
        }
        None => {
            let (read, installed) = installed_sysctl(installed, g)?;
            let wanted = sysctl_effective(&sysctl_entries(&path, &g.text)?, None);
            (path.clone(), read, semantic(&installed, &wanted))
        }
    };
    Ok(Report {
        unit,
        path,
        read,
        changes,
        diff,
    })
}

/// `left4me-server@1.service` from `etc/systemd/system/left4me-server@1.service.d/10-hardening.conf`.
fn unit_of(path: &str) -> String {
    Path::new(path)
        .parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().trim_end_matches(".d").to_owned())
        .unwrap_or_default()
}

/// Every `[Service]` assignment systemd reads for the generated file's unit
/// from the `.d` directories under `root`, in its order: for an instance,
/// the template's directory and the instance's merged by file name (an
/// instance file replaces the template file of the same name), `%i`
/// resolved.
fn installed_dropins(
    installed: &mut Installed<'_>,
    host: &Host,
    g: &Generated,
) -> Result<(Vec<String>, Vec<Read>)> {
    let rel = Path::new(&g.path);
    let unit_dir = rel.parent().unwrap_or(rel);
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    if let (Some(_), Some(system)) = (&g.instance, unit_dir.parent()) {
        let template_dir = system.join(format!("{}.d", host.layout.server_unit));
        for (name, path) in installed.confs(&template_dir)?.iter() {
            files.insert(name.clone(), path.clone());
        }
    }
    for (name, path) in installed.confs(unit_dir)?.iter() {
        files.insert(name.clone(), path.clone());
    }
    let mut read = Vec::new();
    let mut reads = Vec::new();
    for rel in files.into_values() {
        let label = shown_path(&rel);
        let bytes = installed
            .read(&rel)?
            .with_context(|| format!("{label} vanished while being read"))?;
        // Bounded: empty, oversized or garbage files are refused.
        let file = dropin::parse::installed(&label, &bytes)?;
        let mut assignments = service_assignments(&file)?;
        // systemd expands %i in every file it reads for an instance.
        if let Some(i) = &g.instance {
            assignments = assignments
                .into_iter()
                .map(|r| r.resolve_instance(i))
                .collect::<dropin::Result<_>>()
                .with_context(|| format!("resolving %i in {label} for instance {i}"))?;
        }
        reads.extend(assignments);
        read.push(label);
    }
    Ok((read, reads))
}

/// Effective sysctl settings: the last value of each key, restricted to
/// `keys` when given.
fn sysctl_effective(entries: &[RawEntry], keys: Option<&[String]>) -> Effective {
    let mut last: BTreeMap<&str, &str> = BTreeMap::new();
    for e in entries {
        if keys.is_none_or(|k| k.contains(&e.key)) {
            last.insert(&e.key, &e.value);
        }
    }
    let reads: Vec<Read> = last
        .into_iter()
        .map(|(k, v)| Read::Other(k.to_owned(), v.to_owned()))
        .collect();
    Effective::from_reads(&reads)
}

/// The installed sysctl settings of the keys that matter: those generated
/// and those in the installed file of the generated file's name, as every
/// `*.conf` of its directory sets them (in name order, the last wins).
fn installed_sysctl(
    installed: &mut Installed<'_>,
    g: &Generated,
) -> Result<(Vec<String>, Effective)> {
    let rel = Path::new(&g.path);
    let dir = rel.parent().unwrap_or(rel);
    let mut keys: Vec<String> = sysctl_entries("generated", &g.text)?
        .into_iter()
        .map(|e| e.key)
        .collect();
    let mut read = Vec::new();
    let mut entries = Vec::new();
    for (name, path) in installed.confs(dir)?.iter() {
        let label = shown_path(path);
        let bytes = installed
            .read(path)?
            .with_context(|| format!("{label} vanished while being read"))?;
        let text = std::str::from_utf8(&bytes).with_context(|| format!("{label} is not UTF-8"))?;
        let file_entries = sysctl_entries(&label, text)?;
        if dir.join(name) == rel {
            keys.extend(file_entries.iter().map(|e| e.key.clone()));
        }
        entries.extend(file_entries);
        read.push(label);
    }
    Ok((read, sysctl_effective(&entries, Some(&keys))))
}

fn write_unified(out: &mut impl io::Write, d: &UnifiedDiff, paint: Paint) -> Result<()> {
    writeln!(out, "{}", paint.paint("1", &format!("--- {}", d.old_name)))?;
    writeln!(out, "{}", paint.paint("1", &format!("+++ {}", d.new_name)))?;
    if let Some(note) = &d.too_large {
        writeln!(out, "({note})")?;
    }
    for h in &d.hunks {
        writeln!(out, "{}", paint.paint("36", &h.header))?;
        for (tag, line) in &h.lines {
            let text = match tag {
                LineTag::Context => format!(" {line}"),
                LineTag::Delete => paint.paint("31", &format!("-{line}")),
                LineTag::Insert => paint.paint("32", &format!("+{line}")),
            };
            writeln!(out, "{text}")?;
        }
    }
    Ok(())
}

/// `diff --show FILE`: the generated settings of one unit against
/// `systemctl show UNIT` output.
fn against_show(
    args: &DiffArgs,
    host: &Host,
    show: &Path,
    options: RenderOptions,
    paint: Paint,
    budget: &Budget,
) -> Result<ExitCode> {
    let targets = targets(args, host, options)?;
    let (g, composed) = match (args.profile.as_deref(), targets.as_slice()) {
        (None, _) => bail!(
            "--show compares one unit: name the profile (web, or server with one --instance N)"
        ),
        (Some(_), [g]) => match &g.composed {
            Some(c) if g.instance.is_some() || g.profile != ProfileKind::Server => (g, c),
            Some(_) => bail!(
                "--show compares one running unit: give the server's instance (--instance N), \
                 whose systemctl show output FILE is"
            ),
            None => bail!("the sysctl profile is not a unit; --show compares a service's settings"),
        },
        (Some(_), _) => bail!("--show compares one unit: give at most one --instance"),
    };
    let unit = unit_of(&g.path);
    // Bounded like every read: `yes | diff --show -` cannot exhaust
    // memory, a pipe that never ends cannot hang the run.
    let (name, bytes) = if show == Path::new("-") {
        let name = "standard input".to_owned();
        let bytes = rootfs::read_stdin(&name, budget)?;
        (name, bytes)
    } else {
        (show.display().to_string(), rootfs::read_path(show, budget)?)
    };
    let text = String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))?;
    let entries = show_output(&name, &text)?;
    if entries.is_empty() {
        bail!("{name} is empty: save the output of `systemctl show {unit}` to it");
    }
    if let Some(id) = entries.iter().find(|e| e.key == "Id")
        && id.value != unit
    {
        bail!("{name} is the show output of {}, not of {unit}", id.value);
    }
    let checks = dropin::show::compare(&Effective::of(composed), &entries);
    let differ = checks.iter().filter(|c| c.differs()).count();
    let not_comparable = checks
        .iter()
        .filter(|c| matches!(c.verdict, dropin::show::Verdict::NotComparable { .. }))
        .count();
    let same = checks.len() - differ - not_comparable;
    let mut out = out::stdout();
    writeln!(
        out,
        "{}",
        paint.line(&format!(
            "# {unit} against systemctl show ({name}): {same} same, {differ} differ, {not_comparable} not comparable"
        ))
    )?;
    for c in &checks {
        let text = c.to_string();
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        if !matches!(c.verdict, dropin::show::Verdict::Same) {
            writeln!(out, "{}", paint.line(first))?;
        }
        for note in lines {
            writeln!(out, "{note}")?;
        }
    }
    Ok(if differ > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
