//! Safe writes on real file systems: killed runs, a full disk, a read-only
//! file system, permission denied, wrong file types, concurrent runs.
//!
//! The file-system tests mount their own tmpfs and so need root, as CI
//! has; without it they fail instead of skipping.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Scratch, Tmpfs, assert_trouble, bin, expected, files, listing, temps};

/// Instances written by the kill test: many files, so that a kill lands
/// inside a run more often than between runs.
const KILL_INSTANCES: usize = 60;

fn write_cmd(root: &Path, instances: &[String], extra: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args(["write", "--root"])
        .arg(root)
        .args(instances.iter().flat_map(|i| ["--instance", i.as_str()]))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn write_ok(root: &Path, instances: &[String], extra: &[&str]) {
    let out = write_cmd(root, instances, extra)
        .output()
        .expect("write runs");
    assert!(
        out.status.success(),
        "write failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small deterministic generator (xorshift), so a failing iteration can
/// be reproduced.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Every file is always exactly the old or the new content, whatever
/// instant `write` is killed at (SIGKILL: no cleanup runs); a later run
/// completes and removes the temp files the killed ones left.
#[test]
fn sigkill_at_any_point_leaves_old_or_new_files() {
    let root = Scratch::new("sigkill");
    let instances: Vec<String> = (1..=KILL_INSTANCES).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = instances.iter().map(String::as_str).collect();
    let old = expected(&refs, &[]);
    let new = expected(&refs, &["--no-comments"]);
    assert_eq!(old.len(), new.len());
    assert!(
        old.iter().all(|(k, v)| new.get(k) != Some(v)),
        "every file must change"
    );

    // Calibrate the kill window on a full run (no assertion on the time).
    write_ok(&root.path, &instances, &[]);
    let start = Instant::now();
    write_ok(&root.path, &instances, &["--no-comments"]);
    let full = start.elapsed().as_micros().max(1000) as u64;

    let iterations = 200;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut completed, mut killed_with_temps, mut mixed) = (0, 0, 0);
    for i in 0..iterations {
        let extra: &[&str] = if i % 2 == 0 { &[] } else { &["--no-comments"] };
        let mut child = write_cmd(&root.path, &instances, extra)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn write");
        // Anywhere from before exec to a little after a full run.
        let delay = rng.below(full + full / 4);
        thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if status.success() {
            completed += 1;
        }
        if !temps(&root.path).is_empty() {
            killed_with_temps += 1;
        }
        let now = files(&root.path);
        let mut olds = 0;
        for (path, want_old) in &old {
            let got = now
                .get(path)
                .unwrap_or_else(|| panic!("iteration {i}: {path} is missing"));
            if got == want_old {
                olds += 1;
            } else {
                assert_eq!(
                    got, &new[path],
                    "iteration {i} (killed after {delay} us): {path} is neither old nor new"
                );
            }
        }
        if olds != 0 && olds != old.len() {
            mixed += 1;
        }
        let strays: Vec<&String> = now
            .keys()
            .filter(|k| !old.contains_key(*k) && !k.contains(".left4me-harden-tmp."))
            .collect();
        assert!(strays.is_empty(), "iteration {i}: stray files {strays:?}");
    }
    eprintln!(
        "sigkill: {iterations} iterations over a {full} us window: {completed} completed, \
         {killed_with_temps} left temp files, {mixed} left a mix of old and new files"
    );
    // Some kills must have landed inside a run, or the test proved nothing.
    assert!(
        killed_with_temps + mixed > 0,
        "no kill landed inside a run in {iterations} iterations"
    );

    write_ok(&root.path, &instances, &[]);
    assert_eq!(temps(&root.path), Vec::<String>::new(), "temp files remain");
    assert_eq!(files(&root.path), old);
}

/// Fills the file system holding `dir` until writing fails, then frees
/// `free_pages` pages.
fn fill(dir: &Path, free_pages: u64) {
    let path = dir.join("filler");
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .expect("filler");
    let chunk = vec![0xa5u8; 4096];
    let mut len = 0u64;
    while f.write_all(&chunk).is_ok() {
        len += chunk.len() as u64;
    }
    let _ = f.sync_all();
    f.set_len(len.saturating_sub(free_pages * 4096))
        .expect("truncate filler");
}

/// A full disk: `write` fails naming the error and the file, exit 2; every
/// old file is intact (even those whose new content would have fit: no
/// destination is replaced before every new content is written) and no
/// temp file stays.
#[test]
fn full_disk_fails_cleanly() {
    for free_pages in [0, 2] {
        let fs = Tmpfs::mount("full", "256k");
        let root = fs.path.join("root");
        fs::create_dir(&root).expect("root");
        let instances = vec!["1".to_owned(), "2".to_owned()];
        write_ok(&root, &instances, &["--no-comments"]);
        fill(&fs.path, free_pages);
        let before = listing(&fs.path);
        let out = write_cmd(&root, &instances, &[]).output().expect("write");
        assert_trouble(
            &out,
            &[
                "No space left on device",
                "writing \"",
                ".left4me-harden-tmp.",
            ],
        );
        let after = listing(&fs.path);
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "free pages {free_pages}: entries changed"
        );
        assert!(before == after, "free pages {free_pages}: contents changed");
        assert_eq!(temps(&fs.path), Vec::<String>::new());
        // With room again, the same run succeeds.
        fs::remove_file(fs.path.join("filler")).expect("remove filler");
        write_ok(&root, &instances, &[]);
        assert_eq!(files(&root), expected(&["1", "2"], &[]));
    }
}

/// A read-only file system: exit 2 naming it, nothing changed.
#[test]
fn read_only_file_system_fails_cleanly() {
    let fs = Tmpfs::mount("ro", "1m");
    let root = fs.path.join("root");
    fs::create_dir(&root).expect("root");
    let instances = vec!["1".to_owned()];
    write_ok(&root, &instances, &["--no-comments"]);
    fs.remount_ro();
    let before = listing(&fs.path);
    let out = write_cmd(&root, &instances, &[]).output().expect("write");
    assert_trouble(&out, &["Read-only file system", "10-hardening.conf\""]);
    assert!(before == listing(&fs.path), "contents changed");
    // A new instance needs a new directory: refused the same way.
    let out = write_cmd(&root, &["2".to_owned()], &["--no-comments"])
        .output()
        .expect("write");
    assert_trouble(
        &out,
        &["Read-only file system", "left4me-server@2.service.d"],
    );
    assert!(before == listing(&fs.path), "contents changed");
}

/// Permission denied. Root ignores file permissions, so the run drops the
/// capabilities that let it (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) with
/// setpriv(1) and meets a directory it may not write to.
#[test]
fn permission_denied_fails_cleanly() {
    let fs = Tmpfs::mount("perm", "1m");
    let root = fs.path.join("root");
    fs::create_dir(&root).expect("root");
    let instances = vec!["1".to_owned()];
    write_ok(&root, &instances, &["--no-comments"]);
    let locked = root.join("etc/systemd/system/left4me-web.service.d");
    let status = Command::new("chmod")
        .arg("0555")
        .arg(&locked)
        .status()
        .expect("chmod");
    assert!(status.success());
    let before = listing(&fs.path);
    let out = Command::new("setpriv")
        .args([
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
            "--",
        ])
        .arg(crate::support::bin_path())
        .args(["write", "--root"])
        .arg(&root)
        .args(["--instance", "1"])
        .output()
        .expect("setpriv(1) runs (util-linux)");
    assert_trouble(
        &out,
        &[
            "Permission denied",
            "left4me-web.service.d/.10-hardening.conf",
        ],
    );
    assert!(before == listing(&fs.path), "contents changed");
}

/// A directory, a FIFO or a file where the tool expects something else:
/// exit 2 naming the path, nothing written, and no hang on the FIFO.
#[test]
fn wrong_file_types_fail_cleanly() {
    let web = "etc/systemd/system/left4me-web.service.d/10-hardening.conf";
    type Setup = fn(&Path);
    let cases: [(&str, Setup, &str); 4] = [
        (
            "directory",
            |p| fs::create_dir(p).expect("dir"),
            "is a directory where a file should be",
        ),
        (
            "fifo",
            |p| {
                let s = Command::new("mkfifo").arg(p).status().expect("mkfifo");
                assert!(s.success());
            },
            "is a FIFO where a regular file should be",
        ),
        (
            "file as parent",
            |p| {
                let dir = p.parent().expect("parent");
                fs::remove_dir_all(dir).expect("rm");
                fs::write(dir, "not a directory").expect("file");
            },
            "left4me-web.service.d",
        ),
        (
            "directory with a file inside",
            |p| {
                fs::create_dir(p).expect("dir");
                fs::write(p.join("keep"), "x").expect("file");
            },
            "is a directory where a file should be",
        ),
    ];
    for (name, setup, message) in cases {
        let root = Scratch::new("types");
        write_ok(&root.path, &[], &["--no-comments"]);
        let target = root.join(web);
        fs::remove_file(&target).expect("rm");
        setup(&target);
        let before = listing(&root.path);
        let mut child = write_cmd(&root.path, &[], &[]).spawn().expect("spawn");
        // A FIFO must not block the run: give it a generous bound, then
        // fail rather than hang.
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{name}: write hangs");
            }
            thread::sleep(Duration::from_millis(10));
        }
        let out = child.wait_with_output().expect("output");
        assert_trouble(&out, &[message]);
        assert!(before == listing(&root.path), "{name}: contents changed");
    }
}

/// Two runs at once on the same root, many times: both succeed, and since
/// the lock serialises them, every file comes from the same run (all old
/// or all new, never a mix) and no temp file stays.
#[test]
fn concurrent_runs_end_with_complete_files() {
    let root = Scratch::new("concurrent");
    let instances: Vec<String> = (1..=10).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = instances.iter().map(String::as_str).collect();
    let a = expected(&refs, &[]);
    let b = expected(&refs, &["--no-comments"]);
    let (mut a_won, mut b_won) = (0, 0);
    for i in 0..40 {
        let mut first = write_cmd(&root.path, &instances, &[])
            .spawn()
            .expect("spawn");
        let mut second = write_cmd(&root.path, &instances, &["--no-comments"])
            .spawn()
            .expect("spawn");
        let s1 = first.wait().expect("wait");
        let s2 = second.wait().expect("wait");
        assert!(s1.success() && s2.success(), "iteration {i}: {s1:?} {s2:?}");
        let now: BTreeMap<String, Vec<u8>> = files(&root.path);
        if now == a {
            a_won += 1;
        } else if now == b {
            b_won += 1;
        } else {
            panic!("iteration {i}: files are a mix of both runs");
        }
        assert_eq!(temps(&root.path), Vec::<String>::new());
    }
    eprintln!("concurrent: 40 iterations, last writer: with comments {a_won}, without {b_won}");
}
