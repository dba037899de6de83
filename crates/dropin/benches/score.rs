//! Speed of the exposure scorer, measured here and never in timed tests.
//!
//! Targets on the project's 2-core machines: scoring the whole score
//! corpus (every service shipped in the oracle root, our profiles, the
//! corpus test's 600 variants and its 300 on the shipped units), loading
//! each unit from its files, in one process under 100 ms. `scripts/bench-score` also times one unit as a
//! whole process against `systemd-analyze security --offline=true`
//! (target: at least 5 times faster).
//!
//! Needs the oracle root (`scripts/systemd-oracle root`) for the shipped
//! units.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use dropin::load::{LoadOptions, Loader, MemFs, load};
use dropin::score::{self, Format, Glyphs};

#[path = "../tests/score/corpus.rs"]
mod corpus;

const GLYPHS: Format = Format::Text(Glyphs {
    utf8: true,
    emoji: false,
});

/// The oracle root's directory on the host.
fn oracle_root() -> std::path::PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/systemd-oracle");
    let out = Command::new(script).arg("root").output().expect(script);
    assert!(out.status.success(), "{script} root failed");
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Loads, scores and renders every unit of `units` from `fs`.
fn score_all(fs: &MemFs, dir: &str, units: &[String]) -> usize {
    let options = LoadOptions {
        search_path: vec![dir.to_owned()],
    };
    let loader = Loader::new(fs, &options);
    let mut bytes = 0;
    for u in units {
        let name = match u.split_once("@.") {
            Some((p, t)) => format!("{p}@test_instance.{t}"),
            None => u.clone(),
        };
        if let Ok(s) = score::score(&loader.load(&name)) {
            bytes += s.render(GLYPHS).len();
        }
    }
    bytes
}

fn benches(c: &mut Criterion) {
    let root = oracle_root();
    let (shipped_fs, shipped) = corpus::shipped_units(&root.join(&corpus::SHIPPED[1..]));
    let mut files = corpus::Files::default();
    let mut units = Vec::new();
    corpus::profiles(&mut files, &mut units);
    let profiles = units.clone();
    let mut rng = corpus::Rng(0x5c0e_2570);
    corpus::variants(&mut rng, 600, &mut files, &mut units);
    let bases = corpus::Shipped::read(&root.join(&corpus::SHIPPED[1..]));
    corpus::shipped_variants(&mut rng, 300, &bases, &mut files, &mut units);
    let generated = files.fs;
    eprintln!(
        "corpus: {} shipped + {} generated units",
        shipped.len(),
        units.len()
    );

    c.bench_function(
        "score one unit (left4me-server@1, loaded and rendered)",
        |b| {
            let one = vec![profiles[0].clone()];
            b.iter(|| black_box(score_all(&generated, corpus::GEN, &one)))
        },
    );
    {
        let mut f = corpus::Files::default();
        let mut u = Vec::new();
        corpus::profiles(&mut f, &mut u);
        let options = LoadOptions {
            search_path: vec![corpus::GEN.to_owned()],
        };
        let loaded = load(&f.fs, &u[0], &options);
        c.bench_function("piece: load server@1 (small directory)", |b| {
            b.iter(|| black_box(load(&f.fs, &u[0], &options)))
        });
        c.bench_function("piece: score server@1 (loaded)", |b| {
            b.iter(|| black_box(score::score(&loaded).unwrap()))
        });
        let s = score::score(&loaded).unwrap();
        c.bench_function("piece: render server@1", |b| {
            b.iter(|| black_box(s.render(GLYPHS)))
        });
    }
    c.bench_function("score the corpus in one process", |b| {
        b.iter(|| {
            black_box(score_all(&shipped_fs, corpus::SHIPPED, &shipped))
                + black_box(score_all(&generated, corpus::GEN, &units))
        })
    });
    // The scorer's part alone: the corpus loaded once, then scored and
    // rendered.
    let loaded: Vec<dropin::Loaded> = {
        let mut all = Vec::new();
        for (fs, dir, units) in [
            (&shipped_fs, corpus::SHIPPED, &shipped),
            (&generated, corpus::GEN, &units),
        ] {
            let options = LoadOptions {
                search_path: vec![dir.to_owned()],
            };
            let loader = Loader::new(fs, &options);
            for u in units.iter() {
                let name = match u.split_once("@.") {
                    Some((p, t)) => format!("{p}@test_instance.{t}"),
                    None => u.clone(),
                };
                all.push(loader.load(&name));
            }
        }
        all
    };
    c.bench_function("score and render the corpus, units already loaded", |b| {
        b.iter(|| {
            loaded
                .iter()
                .filter_map(|l| score::score(l).ok())
                .map(|s| s.render(GLYPHS).len())
                .sum::<usize>()
        })
    });
    // The generated units again, each with its files in
    // a file system of their own (loading reads the whole unit directory,
    // so a 2,000-entry directory costs each load).
    let mut rng = corpus::Rng(0x5c0e_2570);
    let mut own: Vec<(MemFs, String)> = Vec::new();
    let mut p = corpus::Files::default();
    let mut pu = Vec::new();
    corpus::profiles(&mut p, &mut pu);
    for u in &pu {
        own.push((p.fs.clone(), u.clone()));
    }
    for _ in 0..600 {
        let mut f = corpus::Files::default();
        let mut u = Vec::new();
        corpus::variants(&mut rng, 1, &mut f, &mut u);
        own.push((f.fs, u.remove(0)));
    }
    c.bench_function("score the generated units, one directory each", |b| {
        b.iter(|| {
            own.iter()
                .map(|(fs, u)| score_all(fs, corpus::GEN, std::slice::from_ref(u)))
                .sum::<usize>()
        })
    });
}

criterion_group! {
    name = score;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(score);
