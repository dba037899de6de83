//! A systemd 257 container booted by `scripts/systemd-runtime`, for the
//! runtime tests: every launch under a timeout, powered off when dropped
//! (a failing test included), nothing left behind.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The harness script.
pub(crate) fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/systemd-runtime")
}

/// Standard output and error of a run, for messages.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A booted container, powered off when dropped.
pub(crate) struct Container {
    pub(crate) name: String,
    off: bool,
}

impl Container {
    /// Boots container `name` (at most 120 s).
    pub(crate) fn boot(name: &str) -> Container {
        let out = Command::new("timeout")
            .arg("120")
            .arg(script())
            .args(["boot", name])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        // Whatever happened, it is ours to power off from here on.
        let c = Container {
            name: name.to_owned(),
            off: false,
        };
        assert!(out.status.success(), "boot failed: {}", text(&out));
        c
    }

    /// A command run inside.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(script());
        cmd.arg("exec").arg(&self.name).args(args);
        cmd
    }

    /// Runs a command inside.
    pub(crate) fn exec(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Runs a shell script inside; it must succeed.
    pub(crate) fn sh(&self, script: &str) -> String {
        let out = self.exec(&["/bin/sh", "-ec", script]);
        assert!(
            out.status.success(),
            "inside: {script}\nfailed: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a shell script inside: (exit status, standard output).
    pub(crate) fn sh_status(&self, script: &str) -> (i32, String) {
        let out = self.exec(&["/bin/sh", "-c", script]);
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Copies a host file to `dest` inside.
    pub(crate) fn copy(&self, src: &Path, dest: &str) {
        let out = Command::new(script())
            .args(["copy", &self.name])
            .arg(src)
            .arg(dest)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "copy {}: {}",
            src.display(),
            text(&out)
        );
    }

    /// Writes `text` to `dest` inside, through a temporary host file.
    pub(crate) fn put(&self, dest: &str, text: &str) {
        let tmp = std::env::temp_dir().join(format!(
            "left4me-container-{}-{}",
            std::process::id(),
            dest.replace('/', "_")
        ));
        std::fs::write(&tmp, text).unwrap();
        self.copy(&tmp, dest);
        std::fs::remove_file(&tmp).unwrap();
    }

    /// Powers off and returns clean-check's verdict.
    pub(crate) fn poweroff(&mut self) -> Output {
        self.off = true;
        Command::new(script())
            .args(["poweroff", &self.name])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if !self.off {
            let out = self.poweroff();
            eprintln!("powered off {} after a failure: {}", self.name, text(&out));
        }
    }
}
