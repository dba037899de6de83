//! `systemd-analyze security --offline=true` without systemd: scores
//! units found under a directory tree and prints what systemd 257 prints.
//!
//! ```text
//! score ROOT [--unit-path DIR] [--json=short|pretty] UNIT...
//! ```
//!
//! `ROOT` is the tree systemd would see as `/`; units are searched on
//! systemd's default search path below it, or only in `DIR` (as
//! `SYSTEMD_UNIT_PATH=DIR` does). The exit status is systemd's: 1 when a
//! unit cannot be scored. `scripts/bench-score` times it against
//! `systemd-analyze` itself.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use dropin::load::{LoadOptions, Loader, RootFs};
use dropin::score::{self, Format, Glyphs};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: score ROOT [--unit-path DIR] [--json=short|pretty] UNIT...");
        return ExitCode::from(2);
    };
    let mut options = LoadOptions::default();
    let mut format = Format::Text(Glyphs::from_env(|k| std::env::var(k).ok()));
    let mut units = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--unit-path" => options.search_path = args.next().into_iter().collect(),
            "--json=short" => format = Format::JsonShort,
            "--json=pretty" => format = Format::JsonPretty,
            _ => units.push(a),
        }
    }
    let root = match rootfs::Root::open(&root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(1);
        }
    };
    let budget = rootfs::Budget::default();
    let fs = RootFs::new(&root, &budget);
    let loader = Loader::new(&fs, &options);
    let mut results = Vec::new();
    let mut out = String::new();
    for u in &units {
        let r = score::score(&loader.load(u));
        match &r {
            Ok(s) => out.push_str(&s.render(format)),
            Err(e) => eprintln!("{e}"),
        }
        results.push(r);
    }
    print!("{out}");
    ExitCode::from(score::exit_status(&results, 100))
}
