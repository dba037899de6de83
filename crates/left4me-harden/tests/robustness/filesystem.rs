//! Hostile file systems, one table: a root whose directories are links
//! out of it or into each other, bind mounts, kernel file systems, FIFOs
//! and devices where files should be, huge and endless inputs, output
//! into a full device or a closed pipe, host configurations that make
//! files systemd would skip or the tool could not read back.
//!
//! Every row runs the binary in a fresh child: its own process group,
//! under an address-space cap (so a runaway read fails instead of taking
//! the machine), in a private mount namespace where it mounts something
//! (so no mount outlives it). Each row asserts the exit code, the message
//! (one `left4me-harden: error:` line naming the problem, or nothing for
//! a closed pipe), that nothing changed inside the root or outside it
//! (type, mode, size, mtime and inode of every entry, directories'
//! mtimes too, so even a temp file made and removed shows), that no
//! process of the row's group is left, and that the run's peak memory
//! stays under [`MAX_RSS_KIB`].
//!
//! The peak is measured by GNU time, a small process that forks the run
//! and reads its rusage when it is reaped (what `getrusage(RUSAGE_CHILDREN)`
//! gives a parent that waited for that one child). Measuring from this
//! test process instead would not do: a child spawned from it starts from
//! this process's memory, and its peak RSS carries this process's over.
//!
//! `LEFT4ME_HARDEN_BIN=OLD-BINARY cargo test --test robustness filesystem`
//! runs the rows against another build: the rows of the first block each
//! fail on the build before the `rootfs` crate.

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Tmpfs, bin_path};

/// The most memory a row's run may use, in KiB: a run of the tool on a
/// root of a few files needs about a twentieth of it; the largest row
/// reads the 32 MiB a run may read in all.
const MAX_RSS_KIB: i64 = 64 * 1024;

/// The address space a row's child may map: a safety net that turns a
/// runaway read into a failed allocation.
const MAX_AS_BYTES: u64 = 2 << 30;

/// How long a row may take before it counts as hanging.
const ROW_TIMEOUT: Duration = Duration::from_secs(20);

/// The exit status for a closed output pipe (128 + SIGPIPE).
const CLOSED_PIPE: i32 = 141;

const SERVER_D: &str = "etc/systemd/system/left4me-server@.service.d";
const SERVER1_D: &str = "etc/systemd/system/left4me-server@1.service.d";
const WEB_D: &str = "etc/systemd/system/left4me-web.service.d";
const SYSCTL_D: &str = "etc/sysctl.d";
const DROPIN: &str = "10-hardening.conf";

/// One row's directories: `root` (what `write --instance 1` writes),
/// `out` (outside the root, holding a sentinel file) and `aux` (outside
/// too: host configs, FIFOs, devices the row hands the tool).
struct Fixture {
    root: PathBuf,
    out: PathBuf,
    aux: PathBuf,
}

impl Fixture {
    /// `{root}`, `{out}` and `{aux}` replaced by the row's paths.
    fn fill(&self, text: &str) -> String {
        text.replace("{root}", &self.root.to_string_lossy())
            .replace("{out}", &self.out.to_string_lossy())
            .replace("{aux}", &self.aux.to_string_lossy())
    }

    fn in_root(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Replaces whatever is at `rel` in the root with a link to `target`
    /// (`{root}`-style placeholders filled in).
    fn link(&self, rel: &str, target: &str) {
        let at = self.in_root(rel);
        remove(&at);
        if let Some(parent) = at.parent() {
            fs::create_dir_all(parent).expect("parent");
        }
        symlink(self.fill(target), &at).expect("symlink");
    }

    /// Writes a file outside the root, in `aux`.
    fn aux_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.aux.join(name);
        fs::write(&p, bytes).expect("aux file");
        p
    }
}

/// Removes a file, link or tree.
fn remove(p: &Path) {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).expect("rm -r"),
        Ok(_) => fs::remove_file(p).expect("rm"),
        Err(_) => {}
    }
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

fn mkfifo(p: &Path) {
    run_ok(Command::new("mkfifo").arg(p));
}

/// A character device node like `/dev/zero` (1, 5): reading it never ends.
fn mknod_zero(p: &Path) {
    run_ok(Command::new("mknod").arg(p).args(["c", "1", "5"]));
}

/// A sparse file of `len` bytes.
fn sparse(p: &Path, len: u64) {
    File::create(p)
        .expect("file")
        .set_len(len)
        .expect("truncate");
}

/// Standard input of a row.
#[derive(Clone, Copy)]
enum Input {
    Null,
    /// `y\n` without end, from a thread, as `yes |` gives.
    Yes,
    /// A file or device (placeholders filled in).
    Path(&'static str),
}

/// Standard output of a row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Captured, to check what it says.
    Capture,
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose reading end is closed before the run starts.
    Closed,
}

type Setup = Box<dyn Fn(&Fixture)>;

struct Row {
    name: String,
    setup: Setup,
    args: Vec<String>,
    /// Mount commands run in the child's private mount namespace.
    mounts: Vec<String>,
    stdin: Input,
    stdout: Output,
    code: i32,
    /// What standard error must say (empty: nothing but notes).
    stderr: Vec<String>,
    /// What standard output must say.
    stdout_has: Vec<String>,
}

fn row(name: impl Into<String>, args: &[&str]) -> Row {
    Row {
        name: name.into(),
        setup: Box::new(|_| {}),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        mounts: Vec::new(),
        stdin: Input::Null,
        stdout: Output::Capture,
        code: 2,
        stderr: Vec::new(),
        stdout_has: Vec::new(),
    }
}

impl Row {
    fn setup(mut self, f: impl Fn(&Fixture) + 'static) -> Row {
        self.setup = Box::new(f);
        self
    }

    fn mount(mut self, command: &str) -> Row {
        self.mounts.push(command.to_owned());
        self
    }

    fn stdin(mut self, input: Input) -> Row {
        self.stdin = input;
        self
    }

    fn stdout(mut self, output: Output) -> Row {
        self.stdout = output;
        self
    }

    /// Exit 2 with a message saying all of `needles`.
    fn fails(mut self, needles: &[&str]) -> Row {
        self.code = 2;
        self.stderr = needles.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Exit `code`, standard error saying all of `needles`.
    fn exits(mut self, code: i32, needles: &[&str]) -> Row {
        self.code = code;
        self.stderr = needles.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    fn prints(mut self, needles: &[&str]) -> Row {
        self.stdout_has = needles.iter().map(|n| (*n).to_owned()).collect();
        self
    }
}

/// A valid drop-in of exactly `len` bytes: one setting, then comments.
fn big_dropin(len: usize) -> Vec<u8> {
    let mut out = b"[Service]\nNoNewPrivileges=yes\n".to_vec();
    let line = format!("# {}\n", "x".repeat(1021));
    while out.len() + line.len() <= len {
        out.extend_from_slice(line.as_bytes());
    }
    let rest = len - out.len();
    if rest > 0 {
        out.extend_from_slice(b"#");
        out.extend(std::iter::repeat_n(b'y', rest.saturating_sub(2)));
        if rest >= 2 {
            out.push(b'\n');
        }
    }
    assert_eq!(out.len(), len);
    out
}

/// The rows of issue 11, one per finding, each failing on the build
/// before the `rootfs` crate; then more of the same families.
fn rows() -> Vec<Row> {
    let long_instance = "1".repeat(232);
    let mut rows = vec![
        // --- Issue 11, in its order.
        row(
            "escape: etc/systemd is a link to a directory outside the root",
            &["write", "--root", "{root}", "--instance", "1"],
        )
        .setup(|f| f.link("etc/systemd", "{out}"))
        .fails(&["etc/systemd\"", "is a symbolic link", "real directory"]),
        row(
            "escape: a .d directory is a link outside the root",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link(WEB_D, "{out}"))
        .fails(&["left4me-web.service.d\" is a symbolic link"]),
        row(
            "escape: etc/sysctl.d is a link outside the root",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link(SYSCTL_D, "{out}"))
        .fails(&["sysctl.d\" is a symbolic link"]),
        row(
            "alias: the instance .d is a link to the template's .d",
            &["write", "--root", "{root}", "--instance", "1"],
        )
        .setup(|f| f.link(SERVER1_D, "left4me-server@.service.d"))
        .fails(&["left4me-server@1.service.d\" is a symbolic link"]),
        row(
            "fold: --instance 1 --instance 1 writes once, with a note",
            &["write", "--root", "{root}", "--instance", "1", "--instance", "1"],
        )
        .exits(0, &["note: instance \"1\" is given more than once"])
        .prints(&["unchanged", "left4me-server@1.service.d/10-hardening.conf"]),
        row(
            "collision: web_unit names an instance of the server template",
            &["write", "--root", "{root}", "--config", "{aux}/host.toml", "--instance", "1"],
        )
        .setup(|f| {
            f.aux_file("host.toml", b"[layout]\nweb_unit = \"left4me-server@1.service\"\n");
        })
        .fails(&["line 2", "instance of the server template"]),
        row(
            "hang: an installed drop-in links to /proc/kmsg",
            &["diff", "--root", "{root}", "server"],
        )
        .setup(|f| {
            fs::create_dir(f.in_root("proc")).expect("proc");
            f.link(&format!("{SERVER_D}/{DROPIN}"), "/proc/kmsg");
        })
        .mount("mount -t proc proc '{root}/proc'")
        .fails(&["10-hardening.conf\" is on procfs"]),
        row("hang: --config /proc/kmsg", &["render", "server", "--config", "/proc/kmsg"])
            .fails(&["\"/proc/kmsg\" is on procfs"]),
        row(
            "memory: 3000 hard links to one 1 MiB drop-in",
            &["diff", "--root", "{root}", "server"],
        )
        .setup(|f| {
            let dir = f.in_root(SERVER_D);
            let big = dir.join("big.conf");
            fs::write(&big, big_dropin(1024 * 1024)).expect("big");
            for n in 0..2999 {
                fs::hard_link(&big, dir.join(format!("l{n:04}.conf"))).expect("link");
            }
        })
        .fails(&["would take this run past the 33554432 bytes it may read in all"]),
        row(
            "memory: diff --show - fed by yes",
            &["diff", "--show", "-", "server", "--instance", "1"],
        )
        .stdin(Input::Yes)
        .fails(&["\"standard input\" is larger than the 1048576 bytes"]),
        row(
            "memory: triage of an audit log larger than a file may be",
            &["triage", "{aux}/audit.log"],
        )
        .setup(|f| sparse(&f.aux.join("audit.log"), 17 * 1024 * 1024))
        .fails(&["audit.log\" is larger than the 16777216 bytes"]),
        row("memory: triage fed by yes", &["triage", "-"])
            .stdin(Input::Yes)
            .fails(&["\"standard input\" is larger than the 16777216 bytes"]),
        row("memory: triage of /dev/zero as standard input", &["triage"])
            .stdin(Input::Path("/dev/zero"))
            .fails(&["\"standard input\" is a character device"]),
        row("exit: completions bash into /dev/full", &["completions", "bash"])
            .stdout(Output::Full)
            .fails(&["cannot write to standard output: No space left on device"]),
        row("exit: completions bash into a closed pipe", &["completions", "bash"])
            .stdout(Output::Closed)
            .exits(CLOSED_PIPE, &[]),
        row(
            "exit: diff into a closed pipe (| head -1)",
            &["diff", "--root", "{root}", "--instance", "1"],
        )
        .stdout(Output::Closed)
        .exits(CLOSED_PIPE, &[]),
        row(
            "exit: write into a closed pipe (| true)",
            &["write", "--root", "{root}", "--instance", "1"],
        )
        .stdout(Output::Closed)
        .exits(CLOSED_PIPE, &[]),
        row(
            "config: a waiver for an unknown lint id",
            &["render", "server", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            f.aux_file(
                "host.toml",
                b"[[waivers]]\nlint = \"no-such-lint\"\nreason = \"x\"\n",
            );
        })
        .fails(&["line 2, column 8: unknown lint id \"no-such-lint\""]),
        row(
            "config: a hidden sysctl file",
            &["render", "sysctl", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            f.aux_file(
                "host.toml",
                b"[layout]\nsysctl_file = \"/etc/sysctl.d/.99-x.conf\"\n",
            );
        })
        .fails(&["systemd-sysctl skips hidden files"]),
        row(
            "config: a waiver reason near 1 MiB",
            &["render", "web", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            let mut text =
                b"[[waivers]]\nlint = \"hidepid-same-uid\"\nprofile = \"web\"\nreason = \"".to_vec();
            text.extend(std::iter::repeat_n(b'x', 1024 * 1024 - 200));
            text.extend_from_slice(b"\"\n");
            assert!(text.len() <= 1024 * 1024);
            f.aux_file("host.toml", &text);
        })
        .fails(&["more than the 1048576 bytes left4me-harden reads back"]),
        row(
            "render: a 232-character instance",
            &["render", "server", "--instance", &long_instance],
        )
        .fails(&["more than the 255 a file name may have"]),
        // --- More ways out of the root, or into one directory twice.
        row(
            "escape: etc is a link outside the root",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link("etc", "{out}"))
        .fails(&["etc\" is a symbolic link"]),
        row(
            "escape: a relative link climbing out (etc/systemd -> ../../out)",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link("etc/systemd", "../../out"))
        .fails(&["is a symbolic link (to \"../../out\")"]),
        row(
            "escape: a link to the host's /etc",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link("etc/systemd", "/etc/systemd"))
        .fails(&["is a symbolic link (to \"/etc/systemd\")"]),
        row(
            "alias: etc/systemd/system is a link to a directory inside the root",
            &["write", "--root", "{root}"],
        )
        .setup(|f| {
            fs::create_dir_all(f.in_root("srv")).expect("srv");
            fs::rename(f.in_root("etc/systemd/system"), f.in_root("srv/units")).expect("mv");
            f.link("etc/systemd/system", "/srv/units");
        })
        .fails(&["system\" is a symbolic link"]),
        row(
            "alias: the web .d is the template's .d, bind-mounted",
            &["write", "--root", "{root}"],
        )
        .mount(&format!("mount --bind '{{root}}/{SERVER_D}' '{{root}}/{WEB_D}'"))
        .fails(&["are the same directory"]),
        row(
            "alias: the instance .d is the template's .d, bind-mounted",
            &["write", "--root", "{root}", "--instance", "1"],
        )
        .mount(&format!("mount --bind '{{root}}/{SERVER_D}' '{{root}}/{SERVER1_D}'"))
        .fails(&["are the same directory"]),
        row(
            "escape: --follow-symlinks to a file outside the root by its host path",
            &["write", "--root", "{root}", "--follow-symlinks"],
        )
        .setup(|f| f.link(&format!("{WEB_D}/{DROPIN}"), "{out}/sentinel.conf"))
        .fails(&["cannot be resolved inside the root"]),
        row(
            "escape: --follow-symlinks climbing out with ..",
            &["write", "--root", "{root}", "--follow-symlinks"],
        )
        .setup(|f| {
            f.link(
                &format!("{WEB_D}/{DROPIN}"),
                "../../../../../out/sentinel.conf",
            );
        })
        .fails(&["cannot be resolved inside the root"]),
        row(
            "alias: two destinations link to one file (--follow-symlinks)",
            &["write", "--root", "{root}", "--follow-symlinks"],
        )
        .setup(|f| {
            f.link(
                &format!("{WEB_D}/{DROPIN}"),
                &format!("/{SERVER_D}/{DROPIN}"),
            );
        })
        .fails(&["lead to the same file"]),
        row(
            "escape: a link loop where a directory should be",
            &["write", "--root", "{root}"],
        )
        .setup(|f| f.link("etc/systemd", "systemd"))
        .fails(&["is a symbolic link (to \"systemd\")"]),
        row(
            "type: etc/systemd/system is a FIFO",
            &["write", "--root", "{root}"],
        )
        .setup(|f| {
            remove(&f.in_root("etc/systemd/system"));
            mkfifo(&f.in_root("etc/systemd/system"));
        })
        .fails(&["system\" exists and is not a directory"]),
        row(
            "kernel fs: etc/sysctl.d is a procfs mount",
            &["write", "--root", "{root}"],
        )
        .mount("mount -t proc proc '{root}/etc/sysctl.d'")
        .fails(&["sysctl.d\" is on procfs"]),
        row(
            "kernel fs: the web .d is a sysfs mount",
            &["write", "--root", "{root}"],
        )
        .mount(&format!("mount -t sysfs sysfs '{{root}}/{WEB_D}'"))
        .fails(&["left4me-web.service.d\" is on sysfs"]),
        row(
            "write: a 231-character instance (230 is the most that fits), refused before any write",
            &["write", "--root", "{root}", "--instance", &"1".repeat(231)],
        )
        .fails(&["more than the 255 a file name may have"]),
        // --- Reads that could hang, never end or leave the root.
        row(
            "read: the installed drop-in is a FIFO",
            &["diff", "--root", "{root}", "server"],
        )
        .setup(|f| {
            let p = f.in_root(&format!("{SERVER_D}/{DROPIN}"));
            remove(&p);
            mkfifo(&p);
        })
        .fails(&["is a FIFO where a regular file should be"]),
        row(
            "read: the installed drop-in is a character device",
            &["diff", "--root", "{root}", "server"],
        )
        .setup(|f| {
            let p = f.in_root(&format!("{SERVER_D}/{DROPIN}"));
            remove(&p);
            mknod_zero(&p);
        })
        .fails(&["is a character device where a regular file should be"]),
        row(
            "read: the installed drop-in links to a device inside the root",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| {
            fs::create_dir(f.in_root("dev")).expect("dev");
            mknod_zero(&f.in_root("dev/zero"));
            f.link(&format!("{WEB_D}/{DROPIN}"), "/dev/zero");
        })
        .fails(&["is a character device where a regular file should be"]),
        row(
            "read: a drop-in beside it links to /proc/self/environ",
            &["diff", "--root", "{root}", "server"],
        )
        .setup(|f| {
            fs::create_dir(f.in_root("proc")).expect("proc");
            f.link(&format!("{SERVER_D}/20-env.conf"), "/proc/self/environ");
        })
        .mount("mount -t proc proc '{root}/proc'")
        .fails(&["20-env.conf\" is on procfs"]),
        row(
            "read: a drop-in links into sysfs",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| {
            fs::create_dir(f.in_root("sys")).expect("sys");
            f.link(&format!("{WEB_D}/20-x.conf"), "/sys/kernel/uevent_seqnum");
        })
        .mount("mount -t sysfs sysfs '{root}/sys'")
        .fails(&["is on sysfs"]),
        row(
            "read: the .d directory is a link into procfs",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| {
            fs::create_dir(f.in_root("proc")).expect("proc");
            f.link(WEB_D, "/proc/sys");
        })
        .mount("mount -t proc proc '{root}/proc'")
        .fails(&["is on procfs"]),
        row(
            "read: a .d directory linked to a host path is read inside the root",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| {
            mknod_zero(&f.out.join(DROPIN));
            f.link(WEB_D, "{out}");
        })
        .exits(1, &[])
        .prints(&["left4me-web.service: ", "nothing installed"]),
        row(
            "read: a 2 MiB sparse drop-in",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| sparse(&f.in_root(&format!("{WEB_D}/{DROPIN}")), 2 << 20))
        .fails(&["is larger than the 1048576 bytes a file may have"]),
        row(
            "read: 11000 entries in a .d directory",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| {
            let dir = f.in_root(WEB_D);
            for n in 0..11_000 {
                File::create(dir.join(format!("x{n}.txt"))).expect("file");
            }
        })
        .fails(&["has more than the 10000 entries a directory may have"]),
        row(
            "read: the .d directory is a link loop",
            &["diff", "--root", "{root}", "web"],
        )
        .setup(|f| f.link(WEB_D, "left4me-web.service.d"))
        // systemd skips a drop-in directory that is no directory: nothing
        // of it is read, and the generated settings are missing.
        .exits(1, &[])
        .prints(&["left4me-web.service: ", "nothing installed"]),
        row("config: --config is a FIFO", &["render", "server", "--config", "{aux}/fifo"])
            .setup(|f| mkfifo(&f.aux.join("fifo")))
            .fails(&["is a FIFO where a regular file should be"]),
        row(
            "config: --config is a character device",
            &["render", "server", "--config", "{aux}/zero"],
        )
        .setup(|f| mknod_zero(&f.aux.join("zero")))
        .fails(&["is a character device where a regular file should be"]),
        row(
            "config: --config links into /proc",
            &["render", "server", "--config", "{aux}/host.toml"],
        )
        .setup(|f| symlink("/proc/self/environ", f.aux.join("host.toml")).expect("link"))
        .fails(&["is on procfs"]),
        row(
            "config: --config is a 2 MiB sparse file",
            &["render", "server", "--config", "{aux}/host.toml"],
        )
        .setup(|f| sparse(&f.aux.join("host.toml"), 2 << 20))
        .fails(&["larger than the 1048576 bytes a host configuration may have"]),
        row(
            "config: a sysctl file not named .conf",
            &["render", "sysctl", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            f.aux_file(
                "host.toml",
                b"[layout]\nsysctl_file = \"/etc/sysctl.d/99-x.cnf\"\n",
            );
        })
        .fails(&["invalid sysctl file"]),
        row(
            "config: a server unit whose .d name exceeds 255 bytes",
            &["render", "server", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            let unit = format!("{}@.service", "a".repeat(245));
            f.aux_file(
                "host.toml",
                format!("[layout]\nserver_unit = \"{unit}\"\n").as_bytes(),
            );
        })
        .fails(&["drop-in directory name would be longer than 255 bytes"]),
        row(
            "config: two added lines whose reasons make the file pass the reader's cap",
            &["render", "server", "--config", "{aux}/host.toml"],
        )
        .setup(|f| {
            // The config stays within its own 1 MiB; the rendered file,
            // the profile's lines and the reasons, does not.
            let mut text = String::new();
            for n in 0..2 {
                text.push_str(&format!(
                    "[[server.add]]\ndirective = \"ReadOnlyPaths\"\nvalue = \"/srv/x{n}\"\nreason = \"{n} {}\"\n",
                    "r".repeat(512 * 1024 - 200)
                ));
            }
            assert!(text.len() <= 1024 * 1024);
            f.aux_file("host.toml", text.as_bytes());
        })
        .fails(&["more than the 1048576 bytes left4me-harden reads back"]),
        row(
            "show: --show /dev/zero",
            &["diff", "--show", "/dev/zero", "server", "--instance", "1"],
        )
        .fails(&["is a character device where a regular file should be"]),
        row(
            "show: --show is a FIFO",
            &["diff", "--show", "{aux}/fifo", "server", "--instance", "1"],
        )
        .setup(|f| mkfifo(&f.aux.join("fifo")))
        .fails(&["is a FIFO where a regular file should be"]),
        row(
            "show: --show /proc/kmsg",
            &["diff", "--show", "/proc/kmsg", "server", "--instance", "1"],
        )
        .fails(&["is on procfs"]),
        row(
            "show: standard input is /dev/zero",
            &["diff", "--show", "-", "server", "--instance", "1"],
        )
        .stdin(Input::Path("/dev/zero"))
        .fails(&["\"standard input\" is a character device"]),
        row("lint: a file on /proc", &["lint", "/proc/self/environ"]).fails(&["is on procfs"]),
        row("lint: a FIFO", &["lint", "{aux}/fifo"])
            .setup(|f| mkfifo(&f.aux.join("fifo")))
            .fails(&["is a FIFO where a regular file should be"]),
    ];
    rows.extend(exit_rows());
    rows
}

/// A SECCOMP kill in the kernel log form: the i386 `ptrace` of Test 4.
const AUDIT_PTRACE_I386: &[u8] = b"[ 12.5] audit: type=1326 audit(1795892103.984:199): \
auid=4294967295 uid=980 gid=980 ses=4294967295 pid=4242 comm=\"srcds_linux\" \
exe=\"/opt/left4me/srcds_linux\" sig=31 arch=40000003 syscall=26 compat=1 \
ip=0xf7f2a549 code=0x0\n";

/// Every subcommand (and help, version) into `/dev/full` and into a
/// closed pipe: a clean error, or a quiet exit 141; never a panic.
fn exit_rows() -> Vec<Row> {
    let commands: &[&[&str]] = &[
        &["render", "server"],
        &["render", "web", "--format", "json"],
        &["write", "--root", "{root}", "--instance", "1"],
        &["write", "--root", "{root}", "--check", "--instance", "2"],
        &["write", "--root", "{root}", "--format", "bundlewrap"],
        &["diff", "--root", "{root}", "--instance", "1"],
        &[
            "diff",
            "--show",
            "{aux}/show.txt",
            "server",
            "--instance",
            "1",
        ],
        &["explain", "PrivatePIDs"],
        &["explain", "server"],
        &["explain", "hidepid-same-uid"],
        &[
            "lint",
            "{root}/etc/systemd/system/left4me-server@1.service.d/10-hardening.conf",
        ],
        &["list"],
        &["score"],
        &["score", "--json", "pretty"],
        &["score", "--summary"],
        &["triage", "{aux}/audit.log"],
        &["triage", "{aux}/audit.log", "--format", "json"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["completions", "fish"],
        &["completions", "elvish"],
        &["completions", "powershell"],
        &["man"],
        &["--help"],
        &["--version"],
        &["write", "--help"],
        &["help", "diff"],
    ];
    let mut rows = Vec::new();
    for args in commands {
        let shown = args.join(" ");
        let show = |f: &Fixture| {
            f.aux_file(
                "show.txt",
                b"Id=left4me-server@1.service\nNoNewPrivileges=yes\n",
            );
            f.aux_file("audit.log", AUDIT_PTRACE_I386);
        };
        rows.push(
            row(format!("exit: {shown} into /dev/full"), args)
                .setup(show)
                .stdout(Output::Full)
                .fails(&["cannot write to standard output: No space left on device"]),
        );
        rows.push(
            row(format!("exit: {shown} into a closed pipe"), args)
                .setup(show)
                .stdout(Output::Closed)
                .exits(CLOSED_PIPE, &[]),
        );
    }
    rows
}

/// What a tree holds, without reading file contents (a row may leave
/// gigabytes of hard links): every entry's type, mode, size, mtime and
/// inode, a link's target; directories' mtimes show entries made and
/// removed again.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(m) = fs::symlink_metadata(&p) else {
                continue;
            };
            let link = fs::read_link(&p)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            out.insert(
                p.strip_prefix(base).unwrap_or(&p).to_path_buf(),
                format!(
                    "{:o} {} {}.{} ino {} {link}",
                    m.mode(),
                    m.size(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ino()
                ),
            );
            if m.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(m) = fs::symlink_metadata(dir) {
        out.insert(
            PathBuf::new(),
            format!("{:o} {}.{}", m.mode(), m.mtime(), m.mtime_nsec()),
        );
    }
    walk(dir, dir, &mut out);
    out
}

/// What happened to a row's child.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: i64,
    hung: bool,
    left_over: bool,
}

/// Runs `cmd` as the leader of a new process group and waits for it;
/// kills the group if it outlives [`ROW_TIMEOUT`]. Then checks that
/// nothing of the group is left, and reads the peak memory GNU time
/// wrote to `peak_file`.
fn run_measured(mut cmd: Command, stdout_file: &Path, stderr_file: &Path, peak_file: &Path) -> Ran {
    cmd.process_group(0);
    let mut child = cmd.spawn().expect("spawn the row");
    let pgid = i32::try_from(child.id()).expect("pid");
    let start = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > ROW_TIMEOUT && !hung {
            hung = true;
            // SAFETY: signals our own process group.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
        thread::sleep(Duration::from_millis(2));
    };
    // Nothing of the row's process group may run on.
    // SAFETY: signal 0 only checks for existence.
    let left_over = unsafe { libc::kill(-pgid, 0) } == 0;
    if left_over {
        // SAFETY: signals our own process group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    use std::os::unix::process::ExitStatusExt as _;
    // GNU time exits with the run's status (128 + N if a signal killed it).
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1);
    // Its last line: the peak resident set, in KiB.
    let peak_kib = fs::read_to_string(peak_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(i64::MAX);
    Ran {
        code,
        stdout: fs::read_to_string(stdout_file).unwrap_or_default(),
        stderr: fs::read_to_string(stderr_file).unwrap_or_default(),
        peak_kib,
        hung,
        left_over,
    }
}

/// Runs one row in a fresh fixture under `base`; returns its report line
/// and what went wrong, if anything.
fn check(row: &Row, base: &Path, io: &Path, template: &Path) -> (String, Option<String>) {
    let fixture = Fixture {
        root: base.join("root"),
        out: base.join("out"),
        aux: base.join("aux"),
    };
    fs::create_dir_all(base).expect("row dir");
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(template)
            .arg(&fixture.root),
    );
    fs::create_dir(&fixture.out).expect("out");
    fs::write(fixture.out.join("sentinel.conf"), "outside\n").expect("sentinel");
    fs::create_dir(&fixture.aux).expect("aux");
    (row.setup)(&fixture);
    let before = snapshot(base);

    let args: Vec<String> = row.args.iter().map(|a| fixture.fill(a)).collect();
    let peak_file = io.join("peak");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(["-f", "%M", "-o"])
        .arg(&peak_file)
        .args(["--", "prlimit"])
        .arg(format!("--as={MAX_AS_BYTES}"))
        .arg("--");
    if row.mounts.is_empty() {
        cmd.arg(bin_path()).args(&args);
    } else {
        // A private mount namespace: the mounts go with the child.
        let mut script = String::from("set -e\n");
        for m in &row.mounts {
            script.push_str(&fixture.fill(m));
            script.push('\n');
        }
        script.push_str("exec \"$@\"\n");
        cmd.args([
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg(script)
        .arg("sh")
        .arg(bin_path())
        .args(&args);
    }
    let stdout_file = io.join("stdout");
    let stderr_file = io.join("stderr");
    cmd.stderr(File::create(&stderr_file).expect("stderr file"));
    let mut feeder = None;
    match row.stdin {
        Input::Null => {
            cmd.stdin(Stdio::null());
        }
        Input::Path(p) => {
            cmd.stdin(File::open(fixture.fill(p)).expect("stdin"));
        }
        Input::Yes => {
            let (reader, mut writer) = std::io::pipe().expect("pipe");
            cmd.stdin(reader);
            feeder = Some(thread::spawn(move || {
                let chunk = b"y\n".repeat(4096);
                // Until the reader is gone (EPIPE: SIGPIPE is ignored here).
                while writer.write_all(&chunk).is_ok() {}
            }));
        }
    }
    match row.stdout {
        Output::Capture => {
            cmd.stdout(File::create(&stdout_file).expect("stdout file"));
        }
        Output::Full => {
            cmd.stdout(
                fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .expect("/dev/full"),
            );
        }
        Output::Closed => {
            let (reader, writer) = std::io::pipe().expect("pipe");
            drop(reader);
            cmd.stdout(writer);
        }
    }
    let ran = run_measured(cmd, &stdout_file, &stderr_file, &peak_file);
    // The command (and its pipe ends) is gone: the feeder sees EPIPE.
    if let Some(f) = feeder {
        f.join().expect("feeder");
    }
    let _ = fs::remove_file(&stdout_file);
    let _ = fs::remove_file(&stderr_file);
    let _ = fs::remove_file(&peak_file);
    let after = snapshot(base);

    let mut problems = Vec::new();
    if ran.hung {
        problems.push(format!("hangs (killed after {ROW_TIMEOUT:?})"));
    }
    if ran.left_over {
        problems.push("left a process running".to_owned());
    }
    if ran.code != row.code {
        problems.push(format!("exit {} instead of {}", ran.code, row.code));
    }
    for n in &row.stderr {
        if !ran.stderr.contains(n.as_str()) {
            problems.push(format!("stderr does not say {n:?}"));
        }
    }
    for n in &row.stdout_has {
        if !ran.stdout.contains(n.as_str()) {
            problems.push(format!("stdout does not say {n:?}"));
        }
    }
    let errors: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("left4me-harden: error: "))
        .collect();
    let want_errors = usize::from(row.code == 2);
    if errors.len() != want_errors
        || ran
            .stderr
            .lines()
            .any(|l| !l.starts_with("left4me-harden: "))
    {
        problems.push(format!(
            "stderr is not {want_errors} error line(s) and notes: {:?}",
            ran.stderr
        ));
    }
    if ran.stderr.contains("panicked") {
        problems.push("panicked".to_owned());
    }
    if ran.peak_kib > MAX_RSS_KIB {
        problems.push(format!(
            "peak memory {} KiB over {MAX_RSS_KIB} KiB",
            ran.peak_kib
        ));
    }
    if before != after {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| k.display().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        problems.push(format!("changed on disk: {changed:?}"));
    }
    let line = format!(
        "{:<72} exit {:>3}  peak {:>6} KiB",
        row.name, ran.code, ran.peak_kib
    );
    let problem = (!problems.is_empty()).then(|| {
        let shown: String = ran.stderr.chars().take(300).collect();
        format!("{}: {} (stderr: {shown:?})", row.name, problems.join("; "))
    });
    (line, problem)
}

#[test]
fn hostile_file_systems_are_refused_cleanly() {
    let rows = rows();
    assert!(rows.len() >= 18 + 20, "only {} rows", rows.len());
    let fs = Tmpfs::mount("hostile-fs", "512m");
    // The root every row starts from: what `write --instance 1` writes,
    // by this build.
    let template = fs.path.join("template");
    fs::create_dir(&template).expect("template");
    let io = fs.path.join("io");
    fs::create_dir(&io).expect("io");
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_left4me-harden"))
            .args(["write", "--root"])
            .arg(&template)
            .args(["--instance", "1"])
            .stdout(Stdio::null()),
    );
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        let base = fs.path.join(format!("row{n:03}"));
        let (line, problem) = check(row, &base, &io, &template);
        report.push(line);
        failures.extend(problem);
        let _ = fs::remove_dir_all(&base);
    }
    eprintln!(
        "hostile file systems: {} rows, peak memory bound {MAX_RSS_KIB} KiB\n{}",
        rows.len(),
        report.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
