//! How `check` runs its commands: a small trait, so the logic can be
//! tested with a fake, and the real implementation with a time limit.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// It ran past the runner's time limit and was killed.
    TimedOut,
}

/// What a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// How it ended.
    pub exit: Exit,
    /// Its standard output (invalid UTF-8 replaced).
    pub stdout: String,
    /// Its standard error (invalid UTF-8 replaced).
    pub stderr: String,
}

impl Ran {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.exit == Exit::Code(0)
    }
}

/// Runs one command (`argv[0]` looked up in `PATH`) with standard input
/// closed and returns how it ended with its output. An error means the
/// command could not be started at all.
pub trait Runner {
    /// Runs `argv`.
    fn run(&mut self, argv: &[String]) -> Result<Ran>;
}

/// Runs commands on this host, killing any that outlives `timeout`.
#[derive(Clone, Copy, Debug)]
pub struct SystemRunner {
    /// The longest a command may run.
    pub timeout: Duration,
}

/// The most output kept per stream; a probe prints a few lines.
const OUTPUT_MAX: u64 = 1024 * 1024;

impl Runner for SystemRunner {
    fn run(&mut self, argv: &[String]) -> Result<Ran> {
        let Some((program, args)) = argv.split_first() else {
            return Err(Error::Check("an empty command line".to_owned()));
        };
        let failed = |what: &str, e: std::io::Error| Error::Check(format!("{what} {program}: {e}"));
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed("cannot run", e))?;
        // Both pipes are drained while the command runs, so it never
        // blocks on a full pipe; what a stray grandchild keeps open is not
        // waited for past the deadline.
        let (tx, rx) = std::sync::mpsc::channel();
        for (stream, pipe) in [
            (
                0,
                child
                    .stdout
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
            (
                1,
                child
                    .stderr
                    .take()
                    .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            ),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(pipe) = pipe {
                    let mut limited = pipe.take(OUTPUT_MAX);
                    let _ = limited.read_to_end(&mut bytes);
                    // Whatever lies past the limit is read and dropped.
                    let _ = std::io::copy(&mut limited.into_inner(), &mut std::io::sink());
                }
                let _ = tx.send((stream, String::from_utf8_lossy(&bytes).into_owned()));
            });
        }
        drop(tx);
        let deadline = Instant::now() + self.timeout;
        let exit = loop {
            match child.try_wait().map_err(|e| failed("cannot wait for", e))? {
                Some(status) => {
                    use std::os::unix::process::ExitStatusExt as _;
                    break match (status.code(), status.signal()) {
                        (Some(code), _) => Exit::Code(code),
                        (None, Some(signal)) => Exit::Signal(signal),
                        (None, None) => Exit::Code(-1),
                    };
                }
                None if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Exit::TimedOut;
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let mut output = [String::new(), String::new()];
        let grace = Instant::now() + Duration::from_secs(1);
        for _ in 0..2 {
            let left = grace
                .max(deadline)
                .saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((stream, text)) => output[stream] = text,
                Err(_) => break,
            }
        }
        let [stdout, stderr] = output;
        Ok(Ran {
            exit,
            stdout,
            stderr,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn runs_and_reports_exit_output_and_signals() {
        let mut r = SystemRunner {
            timeout: Duration::from_secs(10),
        };
        let ran = r
            .run(&argv(&["sh", "-c", "echo out; echo err >&2; exit 3"]))
            .unwrap();
        assert_eq!(ran.exit, Exit::Code(3));
        assert_eq!(ran.stdout, "out\n");
        assert_eq!(ran.stderr, "err\n");
        let ran = r.run(&argv(&["sh", "-c", "kill -TERM $$"])).unwrap();
        assert_eq!(ran.exit, Exit::Signal(15));
        assert!(r.run(&argv(&["/nonexistent/program"])).is_err());
        assert!(r.run(&[]).is_err());
    }

    #[test]
    fn kills_a_command_past_its_time() {
        let mut r = SystemRunner {
            timeout: Duration::from_millis(200),
        };
        let ran = r.run(&argv(&["sleep", "30"])).unwrap();
        assert_eq!(ran.exit, Exit::TimedOut);
    }
}
