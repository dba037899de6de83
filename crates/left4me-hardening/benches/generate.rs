//! Speed targets, measured here and by `scripts/bench`, never in timed
//! tests.
//!
//! Targets on the project's 2-core machines: composing a profile at most
//! 20 µs; rendering one instance drop-in (its composition with `%i`
//! resolved, then the text filled into the template's rendering, as a
//! batch does) at most 5 µs; rendering 1,000 instance
//! drop-ins at least 100 times less CPU than the deployment's Mako
//! renderer (`scripts/bench` compares them; it also shows generating
//! them with the version gate and the lints).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dropin::{Composed, Effective, Instance, RenderOptions};
use left4me_hardening::{Content, Host, ProfileKind};

fn benches(c: &mut Criterion) {
    let host = Host::standard().unwrap();
    let Content::DropIn { layers, .. } = &host.profile(ProfileKind::Server).content else {
        unreachable!("the server profile is a drop-in");
    };
    c.bench_function("compose server profile", |b| {
        b.iter(|| black_box(Composed::compose(black_box(layers))))
    });
    c.bench_function("build the standard host (3 profiles)", |b| {
        b.iter(|| black_box(Host::standard().unwrap()))
    });

    let one = Instance::new("1").unwrap();
    let template = host.profile(ProfileKind::Server).composed().unwrap();
    let header = host
        .generate(ProfileKind::Server, Some(&one), RenderOptions::default())
        .unwrap()
        .header;
    // As a batch of instances does: the composition with `%i` resolved
    // (the generated file's settings), and the text filled into the
    // template's rendering, made once per run.
    let rendered = dropin::render::Template::new(template, RenderOptions::default());
    let mut text = String::with_capacity(4096);
    c.bench_function("render one instance", |b| {
        b.iter(|| {
            let composed = template.for_instance(black_box(&one)).unwrap();
            text.clear();
            rendered
                .render_into(&mut text, &header, black_box(&one))
                .unwrap();
            black_box((composed, text.len()))
        })
    });

    let batch = host.batch(ProfileKind::Server).unwrap();
    c.bench_function("generate one instance (lints, render)", |b| {
        b.iter(|| {
            black_box(
                batch
                    .generate(Some(&one), RenderOptions::default())
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

    let instances: Vec<Instance> = (1..=1000)
        .map(|n| Instance::new(&n.to_string()).unwrap())
        .collect();
    let mut group = c.benchmark_group("host");
    group.sample_size(20);
    let server = host.profile(ProfileKind::Server);
    group.bench_function("render 1000 instances", |b| {
        b.iter(|| {
            let files: Vec<_> = instances
                .iter()
                .map(|i| {
                    left4me_hardening::output::generate(
                        server,
                        &host.layout,
                        Some(i),
                        RenderOptions::default(),
                    )
                    .unwrap()
                })
                .collect();
            black_box(files)
        })
    });
    group.bench_function("generate 1000 instances", |b| {
        b.iter(|| black_box(host.files(&instances, RenderOptions::default()).unwrap()))
    });
    group.finish();
}

criterion_group!(generate, benches);
criterion_main!(generate);
