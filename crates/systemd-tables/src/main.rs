//! `systemd-tables write` regenerates `crates/dropin/src/generated/` from
//! systemd's source; `systemd-tables check` exits 1 with a diff when the
//! checked-in files are stale.

use std::process::ExitCode;

use anyhow::{Context, bail};

fn run() -> anyhow::Result<ExitCode> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "write" && mode != "check" {
        bail!("usage: systemd-tables write|check");
    }
    let root = systemd_tables::workspace_root();
    let (source, headers) =
        systemd_tables::ensure_source(&root).context("cannot get systemd's source")?;
    let files = systemd_tables::generate(&source, &headers)
        .with_context(|| format!("cannot generate from {}", source.display()))?;
    let dir = root.join(systemd_tables::OUTPUT_DIR);
    let stale = systemd_tables::compare(&files, &dir)?;
    if mode == "check" {
        for s in &stale {
            print!("{}", s.diff);
        }
        if stale.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "systemd-tables: {} generated file(s) are stale; run `{}`",
            stale.len(),
            systemd_tables::REGENERATE
        );
        return Ok(ExitCode::from(1));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for s in &stale {
        let path = dir.join(&s.name);
        match files.get(&s.name) {
            Some(text) => std::fs::write(&path, text),
            None => std::fs::remove_file(&path),
        }
        .with_context(|| format!("cannot update {}", path.display()))?;
        eprintln!("systemd-tables: updated {}", s.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("systemd-tables: {e:#}");
            ExitCode::from(2)
        }
    }
}
