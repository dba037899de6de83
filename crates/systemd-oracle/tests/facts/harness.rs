//! The harness itself: it reads what it staged, batches correctly, leaves
//! the cached root and the host as they were, and keeps up.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use systemd_oracle::{DumpOptions, LoadState, Oracle, Tree};

use crate::SERVICE;

#[test]
fn the_oracle_is_systemd_257() {
    let version = Oracle::get().unwrap().version();
    assert!(version.starts_with("systemd 257 "), "{version}");
}

#[test]
fn negative_control_a_unit_not_staged_is_not_found() {
    let mut t = Tree::new();
    t.file(
        "/etc/systemd/system/staged.service",
        format!("[Unit]\nDescription=staged\n{SERVICE}"),
    );
    let dump = Oracle::get()
        .unwrap()
        .dump(&t, &["staged.service", "unstaged.service"])
        .unwrap();
    assert_eq!(
        dump.unit("staged.service").unwrap().load_state(),
        LoadState::Loaded
    );
    let other = dump.unit("unstaged.service").unwrap();
    assert_eq!(other.load_state(), LoadState::NotFound);
    assert_eq!(other.fragment_path(), None);
}

#[test]
fn negative_control_each_dump_reads_its_own_tree() {
    let oracle = Oracle::get().unwrap();
    let describe = |text: &str| {
        let mut t = Tree::new();
        t.file(
            "/etc/systemd/system/same-name.service",
            format!("[Unit]\nDescription={text}\n{SERVICE}"),
        );
        let dump = oracle.dump(&t, &["same-name.service"]).unwrap();
        dump.unit("same-name.service")
            .unwrap()
            .get("Description")
            .map(str::to_owned)
    };
    assert_eq!(describe("one").as_deref(), Some("one"));
    assert_eq!(describe("two").as_deref(), Some("two"));
}

/// Hostile bytes reach systemd unchanged (no text conversion on the way)
/// and the harness reads what it says about them.
#[test]
fn hostile_bytes_are_staged_exactly() {
    let mut t = Tree::new();
    t.file(
        "/etc/systemd/system/hostile.service",
        b"[Unit]\nDescription=\xc2\xa0x\r\nBogus=\x01\n[Service]\nExecStart=/bin/true\n",
    );
    let dump = Oracle::get()
        .unwrap()
        .dump(&t, &["hostile.service"])
        .unwrap();
    let u = dump.unit("hostile.service").unwrap();
    assert_eq!(u.get("Description"), Some("\u{a0}x"));
    let log: Vec<&str> = u.log().iter().map(|l| l.message.as_str()).collect();
    assert_eq!(log, ["Unknown key 'Bogus' in section [Unit], ignoring."]);
    assert_eq!(u.log()[0].line, Some(3));
}

/// Many units in one dump (600, three systemd calls, the last one
/// partial; `LEFT4ME_ORACLE_UNITS=2000` for the throughput figure): every
/// unit comes back from its own call, with its own values and warnings.
/// Prints the time taken (never asserted).
#[test]
fn many_units_in_one_dump() {
    let n: usize = std::env::var("LEFT4ME_ORACLE_UNITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let mut t = Tree::new();
    let names: Vec<String> = (0..n).map(|i| format!("many-{i}.service")).collect();
    for (i, name) in names.iter().enumerate() {
        t.file(
            &format!("/etc/systemd/system/{name}"),
            format!(
                "[Unit]\nDescription=many {i}\n{SERVICE}BindPaths=/srv/{i}\nProtectSystem=strict\n"
            ),
        );
        if i % 7 == 0 {
            t.file(
                &format!("/etc/systemd/system/{name}.d/10.conf"),
                format!("[Service]\nBogus{i}=1\n"),
            );
        }
    }
    let units: Vec<&str> = names.iter().map(String::as_str).collect();
    let start = Instant::now();
    let dump = Oracle::get().unwrap().dump(&t, &units).unwrap();
    let elapsed = start.elapsed();
    println!(
        "dumped {} units in {} systemd calls in {:.2} s",
        units.len(),
        dump.calls(),
        elapsed.as_secs_f64()
    );
    assert_eq!(dump.units().count(), n);
    assert_eq!(dump.calls(), n.div_ceil(DumpOptions::default().chunk));
    for (i, name) in names.iter().enumerate() {
        let u = dump.unit(name).unwrap();
        assert_eq!(u.get("Description"), Some(format!("many {i}").as_str()));
        assert_eq!(
            u.get("BindPaths"),
            Some(format!("/srv/{i}:/srv/{i}:rbind").as_str())
        );
        // Its own warnings, and only those.
        let expected: Vec<String> = if i % 7 == 0 {
            vec![format!(
                "Unknown key 'Bogus{i}' in section [Service], ignoring."
            )]
        } else {
            vec![]
        };
        let got: Vec<&str> = u.log().iter().map(|l| l.message.as_str()).collect();
        assert_eq!(got, expected, "{name}");
        // No line about the oracle's batch targets.
        assert!(
            !u.lines()
                .iter()
                .any(|(_, v)| v.contains("left4me-oracle-batch")),
            "{name}"
        );
    }
}

/// The cached root is never written: nothing staged appears in it, and
/// nothing stays mounted once a dump is done.
#[test]
fn the_cached_root_and_the_host_are_left_as_they_were() {
    let mut t = Tree::new();
    t.file(
        "/etc/systemd/system/left-alone.service",
        format!("[Unit]\nDescription=x\n{SERVICE}"),
    )
    .file(
        "/run/systemd/generator/left-alone-gen.service",
        format!("[Unit]\nDescription=g\n{SERVICE}"),
    );
    let dump = Oracle::get()
        .unwrap()
        .dump(&t, &["left-alone.service", "left-alone-gen.service"])
        .unwrap();
    assert_eq!(
        dump.unit("left-alone.service").unwrap().load_state(),
        LoadState::Loaded
    );
    assert_eq!(
        dump.unit("left-alone-gen.service").unwrap().fragment_path(),
        Some("/run/systemd/generator/left-alone-gen.service")
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/systemd-oracle");
    let out = Command::new(script).arg("root").output().unwrap();
    let root = String::from_utf8(out.stdout).unwrap();
    let root = Path::new(root.trim());
    assert!(root.join("usr/lib/systemd/systemd").exists());
    for leftover in [
        "etc/systemd/system/left-alone.service",
        "run/systemd/generator/left-alone-gen.service",
        "usr/lib/systemd/system/left4me-oracle-batch-0.target",
        "etc/systemd/system-generators",
    ] {
        assert!(
            !root.join(leftover).exists(),
            "{leftover} was left in the root"
        );
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("left4me-oracle"), "{mounts}");
}

/// Processes whose root directory is below `dir` (an oracle run's
/// chroot is its scratch directory's `mnt/root`).
fn processes_below(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(root) = std::fs::read_link(entry.path().join("root"))
            && root.starts_with(dir)
        {
            found.push(format!("{}: {}", entry.path().display(), root.display()));
        }
    }
    found
}

/// A run killed by its timeout leaves no process, mount or scratch
/// directory behind; the check sees the run's processes while it runs.
#[test]
fn a_killed_run_leaves_nothing_behind() {
    let scratch = std::env::temp_dir().join(format!("oracle-killed-{}", std::process::id()));
    let tmp = scratch.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut t = Tree::new();
    let names: Vec<String> = (0..1500).map(|i| format!("slow-{i}.service")).collect();
    for name in &names {
        t.file(
            &format!("/etc/systemd/system/{name}"),
            format!("[Unit]\nDescription=slow\n{SERVICE}"),
        );
    }
    t.write_to(&scratch.join("stage")).unwrap();
    Oracle::get().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/systemd-oracle");
    // One call for all units: far longer than the 1 s allowed.
    let child = Command::new(script)
        .args(["dump", "--chunk", "1500"])
        .arg(scratch.join("stage"))
        .args(&names)
        .env("TMPDIR", &tmp)
        .env("LEFT4ME_ORACLE_TIMEOUT", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Negative control: while it runs, its processes are seen.
    let mut seen = false;
    for _ in 0..100 {
        if !processes_below(&tmp).is_empty() {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(seen, "the run's processes were never seen");
    assert!(!out.status.success());
    assert!(stderr.contains("killed after 1s"), "{stderr}");
    // The namespace's processes die with its init; give the kernel a
    // moment to reap them (bounded).
    for _ in 0..100 {
        if processes_below(&tmp).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_below(&tmp), Vec::<String>::new());
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "scratch left in {tmp:?}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(tmp.to_str().unwrap()), "{mounts}");
    std::fs::remove_dir_all(&scratch).unwrap();
}
