//! `diff`: what is installed against what would be generated — a semantic
//! summary first, then unified diffs of the files — or the generated
//! settings against `systemctl show` output.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use dropin::diff::{Change, LineTag, UnifiedDiff, semantic};
use dropin::parse::{RawEntry, Read, service_assignments, show_output, sysctl_entries};
use dropin::{Effective, RenderOptions};
use left4me_hardening::output::Generated;
use left4me_hardening::{Host, ProfileKind};

use crate::cli::{ColorWhen, DiffArgs};
use crate::commands;

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

pub(crate) fn run(args: &DiffArgs) -> Result<ExitCode> {
    let host = commands::host(&args.host)?;
    let options = RenderOptions {
        comments: !args.no_comments,
    };
    let paint = Paint::new(args.color);
    if let Some(show) = &args.show {
        return against_show(args, &host, show, options, paint);
    }
    let root = &args.root;
    if !root.is_dir() {
        bail!("root {} is not a directory", root.display());
    }
    let targets = targets(args, &host, options)?;
    let mut reports = Vec::new();
    for g in &targets {
        reports.push(compare(root, &host, g)?);
    }
    let mut out = io::stdout().lock();
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

fn compare(root: &Path, host: &Host, g: &Generated) -> Result<Report> {
    let own = root.join(&g.path);
    let path = shown_path(Path::new(&g.path));
    let old = match crate::fsutil::read_installed(&own)? {
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
            let (read, reads) = installed_dropins(root, host, g)?;
            let installed = Effective::from_reads(&reads);
            let changes = semantic(&installed, &Effective::of(composed));
            (unit, read, changes)
        }
        None => {
            let (read, installed) = installed_sysctl(root, g)?;
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

/// The `*.conf` files of a directory that systemd reads, sorted by name:
/// hidden files, directories and masks (links to `/dev/null`) left out.
fn confs(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list {}", dir.display())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".conf") || name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Follows links, as systemd does; a link to /dev/null masks.
        match fs::metadata(&path) {
            Ok(m) if m.is_file() => out.push((name, path)),
            _ => {}
        }
    }
    out.sort();
    Ok(out)
}

/// Every `[Service]` assignment systemd reads for the generated file's unit
/// from the `.d` directories under `root`, in its order: for an instance,
/// the template's directory and the instance's merged by file name (an
/// instance file replaces the template file of the same name), `%i`
/// resolved.
fn installed_dropins(root: &Path, host: &Host, g: &Generated) -> Result<(Vec<String>, Vec<Read>)> {
    let rel = Path::new(&g.path);
    let unit_dir = rel.parent().unwrap_or(rel);
    let mut files: BTreeMap<String, (PathBuf, PathBuf)> = BTreeMap::new();
    if let (Some(_), Some(system)) = (&g.instance, unit_dir.parent()) {
        let template_dir = system.join(format!("{}.d", host.layout.server_unit));
        for (name, path) in confs(&root.join(&template_dir))? {
            files.insert(name.clone(), (template_dir.join(&name), path));
        }
    }
    for (name, path) in confs(&root.join(unit_dir))? {
        files.insert(name.clone(), (unit_dir.join(&name), path));
    }
    let mut read = Vec::new();
    let mut reads = Vec::new();
    for (rel, path) in files.into_values() {
        let label = shown_path(&rel);
        let bytes = crate::fsutil::read_installed(&path)?
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
fn installed_sysctl(root: &Path, g: &Generated) -> Result<(Vec<String>, Effective)> {
    let rel = Path::new(&g.path);
    let dir = rel.parent().unwrap_or(rel);
    let mut keys: Vec<String> = sysctl_entries("generated", &g.text)?
        .into_iter()
        .map(|e| e.key)
        .collect();
    let mut read = Vec::new();
    let mut entries = Vec::new();
    for (name, path) in confs(&root.join(dir))? {
        let label = shown_path(&dir.join(&name));
        let bytes = crate::fsutil::read_installed(&path)?
            .with_context(|| format!("{label} vanished while being read"))?;
        if bytes.len() > dropin::parse::INSTALLED_MAX {
            anyhow::bail!("{label} is larger than an installed file may be");
        }
        let text = String::from_utf8(bytes).with_context(|| format!("{label} is not UTF-8"))?;
        let file_entries = sysctl_entries(&label, &text)?;
        if dir.join(&name) == rel {
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
    let (name, text) = if show == Path::new("-") {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the show output from standard input")?;
        ("standard input".to_owned(), text)
    } else {
        let text =
            fs::read_to_string(show).with_context(|| format!("cannot read {}", show.display()))?;
        (show.display().to_string(), text)
    };
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
    let mut out = io::stdout().lock();
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
