//! Speed targets, measured here and never in timed tests.
//!
//! Targets on the project's 2-core machines: composing the standard
//! profiles under 1 ms; rendering one instance drop-in under 200 µs;
//! reading an installed drop-in back to effective settings under 200 µs;
//! rendering every file of a host with 100 instances under 50 ms.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dropin::{Effective, Instance, RenderOptions};
use left4me_hardening::{Host, ProfileKind};

fn benches(c: &mut Criterion) {
    c.bench_function("compose standard profiles", |b| {
        b.iter(|| black_box(Host::standard().unwrap()))
    });

    let host = Host::standard().unwrap();
    let one = Instance::new("1").unwrap();
    c.bench_function("render server@1", |b| {
        b.iter(|| {
            black_box(
                host.generate(ProfileKind::Server, Some(&one), RenderOptions::default())
                    .unwrap(),
            )
        })
    });

    let text = host
        .generate(ProfileKind::Server, Some(&one), RenderOptions::default())
        .unwrap()
        .text;
    c.bench_function("read server@1 back to effective settings", |b| {
        b.iter(|| {
            let mut e = Effective::new("left4me-server@1.service");
            e.read("10-hardening.conf", black_box(text.as_bytes()));
            e.finish();
            black_box(e)
        })
    });

    let instances: Vec<Instance> = (1..=100)
        .map(|n| Instance::new(&n.to_string()).unwrap())
        .collect();
    c.bench_function("render 100 instances", |b| {
        b.iter(|| black_box(host.files(&instances, RenderOptions::default()).unwrap()))
    });
}

criterion_group!(generate, benches);
criterion_main!(generate);
