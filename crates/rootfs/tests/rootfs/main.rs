#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The library on real trees: resolution inside the root (the kernel's
//! and the fallback agree), masks, bounded reads, confined writes.
//! Device nodes need root, as CI has.

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rootfs::{
    Budget, Error, FileType, Limits, Metadata, Outcome, Resolved, Resolver, Root, WriteOptions,
};

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "rootfs-test-{}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn file(&self, rel: &str, bytes: &[u8]) {
        let p = self.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }

    fn link(&self, rel: &str, target: &str) {
        let p = self.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn mknod(p: &Path, major: u32, minor: u32) {
    let ok = Command::new("mknod")
        .arg(p)
        .args(["c", &major.to_string(), &minor.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "mknod (needs root)");
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

/// A tree with every kind of link a root may hold.
fn tricky_tree() -> Scratch {
    let s = Scratch::new("tree");
    s.file("etc/a.conf", b"a");
    s.file("etc/empty.conf", b"");
    s.file("usr/lib/x.conf", b"xx");
    s.link("etc/abs", "/etc/a.conf");
    s.link("etc/rel", "../etc/a.conf");
    s.link("etc/up", "../../../../../../etc/a.conf");
    s.link("etc/dotdot", "..");
    s.link("etc/loop1", "loop2");
    s.link("etc/loop2", "loop1");
    s.link("etc/dangling", "/nowhere/x");
    s.link("etc/null", "/dev/null");
    s.link("etc/relnull", "../../../dev/null");
    s.link("etc/dirlink", "/usr/lib");
    s.link("etc/host", "/tmp");
    s.link("etc/file-as-dir", "a.conf/x");
    s.link("etc/chain", "abs");
    s.link("etc/proc", "/proc/self/status");
    s.link("etc/self", "self");
    s.link("etc/empty-target", "empty.conf");
    mkfifo(&s.join("etc/fifo"));
    s
}

/// Every path the resolvers are asked about.
const PATHS: &[&str] = &[
    "",
    "/",
    "etc",
    "etc/a.conf",
    "/etc/a.conf",
    "etc/abs",
    "etc/rel",
    "etc/up",
    "etc/dotdot",
    "etc/dotdot/etc/a.conf",
    "etc/loop1",
    "etc/dangling",
    "etc/null",
    "etc/dirlink",
    "etc/dirlink/x.conf",
    "etc/dirlink/../lib/x.conf",
    "etc/host",
    "etc/file-as-dir",
    "etc/chain",
    "etc/proc",
    "etc/self",
    "etc/fifo",
    "etc/a.conf/x",
    "../../../etc/a.conf",
    "etc/../../etc/./a.conf",
    "missing/x",
];

/// What a resolver says about `path`, as text to compare.
fn probe(root: &Root, path: &str) -> String {
    let budget = Budget::default();
    format!(
        "metadata {:?}\nlink {:?}\nread {:?}\ndir {:?}",
        root.metadata(path).map_err(|e| e.to_string()),
        root.symlink_target(path).map_err(|e| e.to_string()),
        root.read_file(path, &budget).map_err(|e| e.to_string()),
        root.read_dir(path, &budget)
            .map(|d| d.map(|e| e.len()))
            .map_err(|e| e.to_string()),
    )
}

#[test]
fn one_look_and_a_typed_listing_say_what_the_separate_calls_say() {
    // `inspect` (one open) against `symlink_metadata` and `symlink_target`
    // (two), and `list` (types from the listing) against `read_dir` (a
    // stat of each entry), on every path of the tricky tree, both
    // resolvers, a device and a FIFO among the entries.
    let s = tricky_tree();
    mknod(&s.join("etc/zero"), 1, 5);
    for resolver in [Resolver::Kernel, Resolver::Userspace] {
        let root = Root::open(&s.0).unwrap().with_resolver(resolver);
        let budget = Budget::default();
        for path in PATHS {
            let separate = (|| -> Result<_, Error> {
                Ok(match root.symlink_metadata(path)? {
                    Some(m) => Some((m, root.symlink_target(path)?)),
                    None => None,
                })
            })();
            assert_eq!(
                root.inspect(path).map_err(|e| e.to_string()),
                separate.map_err(|e| e.to_string()),
                "{resolver:?} {path}"
            );
            let listed = root.read_dir(path, &budget).map(|d| {
                d.map(|entries| {
                    entries
                        .into_iter()
                        .map(|e| (e.name, e.file_type))
                        .collect::<Vec<_>>()
                })
            });
            assert_eq!(
                root.list(path, &budget).map_err(|e| e.to_string()),
                listed.map_err(|e| e.to_string()),
                "{resolver:?} {path}"
            );
        }
        let etc = root.list("etc", &budget).unwrap().unwrap();
        assert!(etc.contains(&(OsString::from("zero"), FileType::CharDevice)));
        assert!(etc.contains(&(OsString::from("fifo"), FileType::Fifo)));
        assert!(etc.contains(&(OsString::from("abs"), FileType::Symlink)));
    }
}

#[test]
fn kernel_and_fallback_resolve_alike() {
    let s = tricky_tree();
    let kernel = Root::open(&s.0).unwrap();
    let fallback = Root::open(&s.0).unwrap().with_resolver(Resolver::Userspace);
    for path in PATHS {
        assert_eq!(probe(&kernel, path), probe(&fallback, path), "{path}");
    }
}

#[test]
fn links_resolve_inside_the_root() {
    let s = tricky_tree();
    for resolver in [Resolver::Kernel, Resolver::Userspace] {
        let root = Root::open(&s.0).unwrap().with_resolver(resolver);
        let file = |size| {
            Some(Metadata {
                file_type: FileType::Regular,
                size,
            })
        };
        for (path, want) in [
            ("etc/abs", file(1)),
            ("etc/rel", file(1)),
            // `..` stops at the root.
            ("etc/up", file(1)),
            ("../../../etc/a.conf", file(1)),
            ("etc/chain", file(1)),
            ("etc/dirlink/x.conf", file(2)),
            // Physical `..`: from /usr/lib, not from etc.
            ("etc/dirlink/../lib/x.conf", file(2)),
            // Absolute targets start at the root: these are not the host's.
            ("etc/host", None),
            ("etc/proc", None),
            ("etc/dangling", None),
            ("etc/null", None),
        ] {
            assert_eq!(root.metadata(path).unwrap(), want, "{resolver:?} {path}");
        }
        let budget = Budget::default();
        assert_eq!(
            root.read_file("etc/up", &budget).unwrap().as_deref(),
            Some(&b"a"[..])
        );
        for looped in ["etc/loop1", "etc/self"] {
            let e = root.metadata(looped).unwrap_err().to_string();
            assert!(e.contains("Too many levels of symbolic links"), "{e}");
        }
        let e = root.metadata("etc/file-as-dir").unwrap_err().to_string();
        assert!(e.contains("Not a directory"), "{e}");
        assert_eq!(
            root.symlink_target("etc/abs").unwrap(),
            Some(OsString::from("/etc/a.conf"))
        );
        assert_eq!(root.symlink_target("etc/a.conf").unwrap(), None);
        assert!(!root.exists("etc/dangling").unwrap());
    }
}

#[test]
fn directory_entries_carry_their_own_type_and_their_links() {
    let s = tricky_tree();
    mknod(&s.join("etc/zero"), 1, 5);
    let root = Root::open(&s.0).unwrap();
    let entries = root.read_dir("etc", &Budget::default()).unwrap().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.to_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    let get = |n: &str| entries.iter().find(|e| e.name == n).unwrap();
    assert_eq!(get("a.conf").file_type, FileType::Regular);
    assert!(get("a.conf").is_file() && !get("a.conf").is_masked());
    assert_eq!(get("fifo").file_type, FileType::Fifo);
    assert!(!get("fifo").is_file());
    let abs = get("abs");
    assert_eq!(abs.file_type, FileType::Symlink);
    let link = abs.link.as_ref().unwrap();
    assert_eq!(link.target, "/etc/a.conf");
    assert_eq!(
        link.resolved,
        Resolved::Found(Metadata {
            file_type: FileType::Regular,
            size: 1
        })
    );
    assert!(abs.is_file());
    assert_eq!(
        get("dangling").link.as_ref().unwrap().resolved,
        Resolved::Missing
    );
    assert!(matches!(
        get("loop1").link.as_ref().unwrap().resolved,
        Resolved::Unresolvable(40)
    ));
    assert!(get("dirlink").is_dir());
    // Masks, as systemd's null_or_empty_path_with_root() sees them: a
    // link naming /dev/null (dangling here, no /dev in the root), an
    // empty file, a character device, a link to an empty file.
    for masked in ["null", "relnull", "empty.conf", "zero", "empty-target"] {
        assert!(get(masked).is_masked(), "{masked}");
        assert!(root.is_masked(format!("etc/{masked}")).unwrap(), "{masked}");
    }
    for not in ["a.conf", "abs", "dangling", "fifo", "dirlink"] {
        assert!(!get(not).is_masked(), "{not}");
        assert!(!root.is_masked(format!("etc/{not}")).unwrap(), "{not}");
    }
    assert_eq!(root.read_dir("missing", &Budget::default()).unwrap(), None);
    let e = root.read_dir("etc/a.conf", &Budget::default()).unwrap_err();
    assert!(matches!(e, Error::NotADirectory { .. }), "{e}");
}

#[test]
fn only_regular_files_on_regular_file_systems_are_read() {
    let s = tricky_tree();
    mknod(&s.join("etc/zero"), 1, 5);
    let root = Root::open(&s.0).unwrap();
    let budget = Budget::default();
    for (path, kind) in [
        ("etc/fifo", FileType::Fifo),
        ("etc/zero", FileType::CharDevice),
        ("etc", FileType::Directory),
    ] {
        match root.read_file(path, &budget) {
            Err(Error::NotRegular { kind: k, .. }) => assert_eq!(k, kind, "{path}"),
            other => panic!("{path}: {other:?}"),
        }
    }
    // The host's kernel file systems, through a root at `/`, and by path.
    let host = Root::open("/").unwrap();
    for path in ["proc/self/status", "sys/kernel/uevent_seqnum"] {
        let e = host.read_file(path, &budget).unwrap_err().to_string();
        assert!(e.contains("a kernel file system"), "{e}");
    }
    for path in [
        "/proc/kmsg",
        "/proc/self/environ",
        "/sys/kernel/uevent_seqnum",
    ] {
        let e = rootfs::read_path(path, &budget).unwrap_err().to_string();
        assert!(e.contains("a kernel file system"), "{e}");
    }
    let e = rootfs::read_path("/dev/zero", &budget)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is a character device"), "{e}");
    assert_eq!(
        rootfs::read_path(s.join("etc/abs"), &budget)
            .unwrap_err()
            .to_string(),
        format!(
            "cannot open {:?}: No such file or directory (os error 2)",
            s.join("etc/abs")
        ),
        "a plain path follows links as the system does: /etc/a.conf is the host's"
    );
}

fn small(time: Duration) -> Limits {
    Limits {
        file_bytes: 10,
        total_bytes: 25,
        files: 5,
        dir_entries: 3,
        time,
    }
}

#[test]
fn a_run_reads_no_more_than_its_budget() {
    let s = Scratch::new("budget");
    s.file("ten", &[b'x'; 10]);
    s.file("eleven", &[b'x'; 11]);
    for n in 0..4 {
        s.file(&format!("d/{n}"), b"");
    }
    let root = Root::open(&s.0).unwrap();
    let budget = Budget::new(small(Duration::from_secs(3600)));
    let e = root.read_file("eleven", &budget).unwrap_err().to_string();
    assert!(
        e.ends_with("eleven\" is larger than the 10 bytes a file may have"),
        "{e}"
    );
    root.read_file("ten", &budget).unwrap();
    root.read_file("ten", &budget).unwrap();
    let e = root.read_file("ten", &budget).unwrap_err().to_string();
    assert!(e.contains("past the 25 bytes it may read in all"), "{e}");
    assert_eq!(budget.bytes_read(), 20);
    let e = root.read_dir("d", &budget).unwrap_err().to_string();
    assert!(e.contains("more than the 3 entries"), "{e}");
    let e = root.read_file("ten", &budget).unwrap_err().to_string();
    assert!(e.contains("past the 5 files"), "{e}");
}

#[test]
fn endless_and_silent_input_stop_at_the_budget() {
    // Endless: a writer that never stops.
    let (reader, mut writer) = std::io::pipe().unwrap();
    let feeder = std::thread::spawn(move || while writer.write_all(&[b'y'; 4096]).is_ok() {});
    let budget = Budget::new(Limits {
        file_bytes: 1 << 20,
        ..Limits::DEFAULT
    });
    let e = rootfs::read_fd(
        std::os::fd::AsFd::as_fd(&reader),
        Path::new("endless"),
        &budget,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("\"endless\" is larger than the 1048576 bytes"),
        "{e}"
    );
    drop(reader);
    feeder.join().unwrap();

    // Silent: a writer that never writes nor closes.
    let (reader, writer) = std::io::pipe().unwrap();
    let budget = Budget::new(small(Duration::from_millis(200)));
    let e = rootfs::read_fd(
        std::os::fd::AsFd::as_fd(&reader),
        Path::new("silent"),
        &budget,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("took longer than the 0.2 seconds allowed"),
        "{e}"
    );
    drop(writer);
}

fn opts(follow: bool) -> WriteOptions {
    WriteOptions {
        follow_symlinks: follow,
        ..WriteOptions::default()
    }
}

/// Every entry under `dir` with its bytes or link target.
fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                todo.push(p.clone());
                "<dir>".to_owned()
            } else {
                String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned()
            };
            out.push((p.strip_prefix(dir).unwrap().to_path_buf(), what));
        }
    }
    out.sort();
    out
}

#[test]
fn writes_never_pass_a_link_and_never_leave_the_root() {
    for resolver in [Resolver::Kernel, Resolver::Userspace] {
        let s = Scratch::new("escape");
        fs::create_dir_all(s.join("root/etc")).unwrap();
        fs::create_dir_all(s.join("out")).unwrap();
        fs::create_dir_all(s.join("root/srv/real")).unwrap();
        let root = Root::open(s.join("root")).unwrap().with_resolver(resolver);
        for (link, target) in [
            ("root/etc/systemd", s.join("out").display().to_string()),
            ("root/etc/systemd", "../../out".to_owned()),
            ("root/etc/systemd", "/srv/real".to_owned()),
            ("root/etc/systemd", "systemd".to_owned()),
        ] {
            let _ = fs::remove_file(s.join(link));
            symlink(&target, s.join(link)).unwrap();
            let before = tree(&s.0);
            let files = [("etc/systemd/system/a.conf", b"a".to_vec())];
            let e = rootfs::write_all(&root, &files, &opts(true)).unwrap_err();
            assert!(
                matches!(e, Error::SymlinkedDirectory { .. }),
                "{resolver:?} {target}: {e}"
            );
            assert_eq!(before, tree(&s.0), "{resolver:?} {target}");
            let e = rootfs::plan(&root, &files, &opts(true)).unwrap_err();
            assert!(matches!(e, Error::SymlinkedDirectory { .. }), "{e}");
        }
    }
}

#[test]
fn written_files_and_directories_and_what_a_second_run_does() {
    let s = Scratch::new("write");
    let root = Root::open(&s.0).unwrap();
    let files = [
        ("a/b/one.conf", b"1".to_vec()),
        ("a/two.conf", b"2".to_vec()),
        ("top.conf", b"3".to_vec()),
    ];
    let done = rootfs::write_all(&root, &files, &opts(false)).unwrap();
    let outcomes: Vec<Outcome> = done.iter().map(|(_, o)| *o).collect();
    assert_eq!(outcomes, [Outcome::Created; 3]);
    assert_eq!(done[0].0, Path::new("a/b/one.conf"));
    for d in ["a", "a/b"] {
        let mode = fs::metadata(s.join(d)).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755, "{d}");
    }
    let mode = fs::metadata(s.join("a/b/one.conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o644);
    let mtime = fs::metadata(s.join("a/two.conf"))
        .unwrap()
        .modified()
        .unwrap();
    let files2 = [
        ("a/b/one.conf", b"1".to_vec()),
        ("a/two.conf", b"2".to_vec()),
        ("top.conf", b"changed".to_vec()),
    ];
    assert_eq!(
        rootfs::plan(&root, &files2, &opts(false)).unwrap()[2].1,
        Outcome::Updated
    );
    let done = rootfs::write_all(&root, &files2, &opts(false)).unwrap();
    let outcomes: Vec<Outcome> = done.iter().map(|(_, o)| *o).collect();
    assert_eq!(
        outcomes,
        [Outcome::Unchanged, Outcome::Unchanged, Outcome::Updated]
    );
    assert_eq!(
        fs::metadata(s.join("a/two.conf"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime,
        "an unchanged file is not touched"
    );
    assert_eq!(fs::read(s.join("top.conf")).unwrap(), b"changed");
    // No temp file anywhere.
    assert!(
        tree(&s.0)
            .iter()
            .all(|(p, _)| !p.to_string_lossy().contains("rootfs-tmp")),
        "{:?}",
        tree(&s.0)
    );
}

#[test]
fn a_refused_destination_writes_nothing_at_all() {
    let s = Scratch::new("refused");
    fs::create_dir_all(s.join("x/dir.conf")).unwrap();
    let root = Root::open(&s.0).unwrap();
    let before = tree(&s.0);
    let files = [
        ("new/a.conf", b"a".to_vec()),
        ("x/ok.conf", b"b".to_vec()),
        ("x/dir.conf", b"c".to_vec()),
    ];
    let e = rootfs::write_all(&root, &files, &opts(false)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{:?} is a directory where a file should be",
            s.join("x/dir.conf")
        )
    );
    assert_eq!(before, tree(&s.0));
    for bad in ["", "a/../b", "/", "a//b"] {
        let e = rootfs::write_all(&root, &[(bad, b"x")], &opts(false)).unwrap_err();
        assert!(matches!(e, Error::InvalidPath { .. }), "{bad:?}: {e}");
    }
    let e =
        rootfs::write_all(&root, &[("a.conf", b"x"), ("/a.conf", b"y")], &opts(false)).unwrap_err();
    assert!(matches!(e, Error::SameFile { .. }), "{e}");
    assert_eq!(before, tree(&s.0));
}

#[test]
fn followed_links_stay_inside_the_root_and_one_file_is_written_once() {
    for resolver in [Resolver::Kernel, Resolver::Userspace] {
        let s = Scratch::new("follow");
        s.file("root/srv/checkout/web.conf", b"old");
        s.link("root/etc/web.d/10.conf", "/srv/checkout/web.conf");
        s.link("root/etc/rel.d/10.conf", "../../srv/checkout/hop.conf");
        s.link("root/srv/checkout/hop.conf", "new.conf");
        s.file("out/web.conf", b"outside");
        let root = Root::open(s.join("root")).unwrap().with_resolver(resolver);
        let e = rootfs::write_all(&root, &[("etc/web.d/10.conf", b"x")], &opts(false)).unwrap_err();
        assert!(matches!(e, Error::Symlink { .. }), "{e}");
        let done = rootfs::write_all(
            &root,
            &[("etc/web.d/10.conf", b"web"), ("etc/rel.d/10.conf", b"rel")],
            &opts(true),
        )
        .unwrap();
        assert_eq!(done[0].1, Outcome::Updated);
        assert_eq!(
            done[1].1,
            Outcome::Created,
            "a chain ending nowhere creates"
        );
        assert_eq!(
            fs::read(s.join("root/srv/checkout/web.conf")).unwrap(),
            b"web"
        );
        assert_eq!(
            fs::read(s.join("root/srv/checkout/new.conf")).unwrap(),
            b"rel"
        );
        assert_eq!(
            fs::read_link(s.join("root/etc/web.d/10.conf")).unwrap(),
            Path::new("/srv/checkout/web.conf")
        );
        // Two destinations, one file.
        let e = rootfs::write_all(
            &root,
            &[("srv/checkout/web.conf", b"a"), ("etc/web.d/10.conf", b"b")],
            &opts(true),
        )
        .unwrap_err();
        assert!(matches!(e, Error::SameFile { .. }), "{e}");
        // A host path outside the root is read inside it.
        fs::remove_file(s.join("root/etc/web.d/10.conf")).unwrap();
        symlink(s.join("out/web.conf"), s.join("root/etc/web.d/10.conf")).unwrap();
        let e = rootfs::write_all(&root, &[("etc/web.d/10.conf", b"x")], &opts(true)).unwrap_err();
        assert!(matches!(e, Error::LinkTarget { .. }), "{e}");
        assert_eq!(fs::read(s.join("out/web.conf")).unwrap(), b"outside");
    }
}

#[test]
fn stale_temps_of_dead_runs_go_and_live_ones_stay() {
    // At the root (listed when the temps are removed) and in a directory
    // below it (listed while planned, through the plan's descriptor).
    for dir in ["", "d/"] {
        let s = Scratch::new("stale");
        let root = Root::open(&s.0).unwrap();
        let tag = "rootfs-tmp";
        // Pid 1 runs; u32::MAX never does; other tags and names are not ours.
        let names = [
            (format!(".a.conf.{tag}.1.0123456789abcdef-0"), true),
            (format!(".a.conf.{tag}.1"), true),
            (
                format!(".a.conf.{tag}.4294967295.0123456789abcdef-3"),
                false,
            ),
            (format!(".b.conf.{tag}.4294967295"), false),
            (".a.conf.other-tmp.4294967295".to_owned(), true),
            (format!(".a.conf.{tag}.keep"), true),
            ("a.conf".to_owned(), true),
        ];
        for (n, _) in &names {
            s.file(&format!("{dir}{n}"), b"x");
        }
        // A directory named like a stale temp is not removed.
        fs::create_dir(s.join(&format!("{dir}.d.{tag}.4294967295"))).unwrap();
        let dest = format!("{dir}a.conf");
        rootfs::write_all(&root, &[(dest.as_str(), b"x")], &WriteOptions::default()).unwrap();
        for (n, stays) in &names {
            assert_eq!(s.join(&format!("{dir}{n}")).exists(), *stays, "{dir}{n}");
        }
        assert!(s.join(&format!("{dir}.d.{tag}.4294967295")).is_dir());
    }
}

#[test]
fn a_kernel_file_system_is_refused_after_a_regular_one_was_seen() {
    // The device last found regular is not asked about again; another
    // device still is, in a listing and in a write plan (nothing is
    // written: `plan` only looks).
    let host = Root::open("/").unwrap();
    let budget = Budget::default();
    assert!(host.list("etc", &budget).unwrap().is_some());
    let e = host.list("proc/sys", &budget).unwrap_err().to_string();
    assert!(e.contains("a kernel file system"), "{e}");
    let files = [
        ("etc/rootfs-plan-test.conf", b"x"),
        ("proc/sys/x.conf", b"x"),
    ];
    let e = rootfs::plan(&host, &files, &WriteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("a kernel file system"), "{e}");
    // And in a read: a regular file's device, then a kernel file's.
    assert!(host.read_file("etc/passwd", &budget).is_ok());
    let e = host
        .read_file("proc/sys/kernel/hostname", &budget)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a kernel file system"), "{e}");
}

/// A tmpfs of `size`, unmounted when dropped (needs root, as CI has).
struct Tmpfs(Scratch);

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let s = Scratch::new("tmpfs");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&s.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs (needs root)");
        Tmpfs(s)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0.0).status();
        }
    }
}

#[test]
fn many_directories_at_once_and_a_full_disk_in_the_middle() {
    // Enough directories for several staging threads.
    let fs = Tmpfs::mount("1m");
    let root = Root::open(&fs.0.0).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|n| (format!("etc/d{n:03}.d/x.conf"), vec![b'x'; 100]))
        .collect();
    let done = rootfs::write_all(&root, &files, &opts(false)).unwrap();
    assert!(done.iter().all(|(_, o)| *o == Outcome::Created));
    assert_eq!(done[7].0, Path::new("etc/d007.d/x.conf"));
    let before = tree(&fs.0.0);
    assert_eq!(before.len(), 1 + 200 * 2);
    // Now 200 new directories of 8 KiB each cannot all fit: whichever
    // thread meets the full disk, nothing is left behind.
    let files: Vec<(String, Vec<u8>)> = (0..200)
        .map(|n| (format!("new/d{n:03}.d/x.conf"), vec![b'y'; 8192]))
        .collect();
    let e = rootfs::write_all(&root, &files, &opts(false)).unwrap_err();
    assert!(e.to_string().contains("No space left on device"), "{e}");
    assert_eq!(before, tree(&fs.0.0));
}
