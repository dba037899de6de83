#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Properties, checked on generated profiles (bounded: `cargo test` stays
//! fast): rendering round-trips to the same effective settings,
//! composition follows systemd's reset rule, rendering is deterministic.

use dropin::{Assignment, Composed, Directive, Effective, Layer, Merge, Provenance, RenderOptions};
use proptest::prelude::*;

/// Cases per property: enough to cover every directive many times over,
/// few enough for a quick `cargo test`.
const CASES: u32 = 256;

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[a-z0-9_][a-z0-9_.-]{0,7}".prop_filter("not . or ..", |c| c != "." && c != ".."),
        1 => Just("%i".to_owned()),
        1 => Just("100%%".to_owned()),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(component(), 1..4).prop_map(|c| format!("/{}", c.join("/")))
}

/// A valid value text for `d`: one of the samples that cover every keyword
/// and form of its kind, or generated paths for the path kinds.
fn value_text(d: Directive) -> BoxedStrategy<String> {
    let samples: Vec<String> = d
        .spec()
        .kind
        .samples()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let sample = prop::sample::select(samples);
    match d.spec().kind {
        dropin::Kind::Paths => prop_oneof![
            sample,
            prop::collection::vec((any::<bool>(), path()), 1..4).prop_map(|ps| ps
                .into_iter()
                .map(|(dash, p)| if dash { format!("-{p}") } else { p })
                .collect::<Vec<_>>()
                .join(" "))
        ]
        .boxed(),
        dropin::Kind::Binds => prop_oneof![
            sample,
            prop::collection::vec(
                (
                    any::<bool>(),
                    path(),
                    prop::option::of(path()),
                    prop::sample::select(vec!["", ":rbind", ":norbind"])
                ),
                1..3
            )
            .prop_map(|bs| bs
                .into_iter()
                .map(|(dash, src, dst, opt)| {
                    let dash = if dash { "-" } else { "" };
                    match dst {
                        Some(dst) => format!("{dash}{src}:{dst}{opt}"),
                        None => format!("{dash}{src}"),
                    }
                })
                .collect::<Vec<_>>()
                .join(" "))
        ]
        .boxed(),
        dropin::Kind::Tmpfs => prop_oneof![
            sample,
            prop::collection::vec(path(), 1..3).prop_map(|ps| ps.join(" "))
        ]
        .boxed(),
        _ => sample.boxed(),
    }
}

/// An assignment of `d`: a value, or the reset where systemd accepts one.
fn assignment_of(d: Directive) -> BoxedStrategy<Assignment> {
    let value = value_text(d)
        .prop_map(move |t| Assignment::parse(d, &t).unwrap_or_else(|e| panic!("{d}={t:?}: {e}")));
    if d.spec().kind.accepts_empty() {
        prop_oneof![4 => value, 1 => Just(Assignment::reset(d).unwrap())].boxed()
    } else {
        value.boxed()
    }
}

fn directive() -> impl Strategy<Value = Directive> {
    prop::sample::select(Directive::ALL.to_vec())
}

fn assignment() -> impl Strategy<Value = Assignment> {
    directive().prop_flat_map(assignment_of)
}

/// Provenance text, including line breaks and control characters, which
/// rendering must keep inside comments.
fn provenance() -> impl Strategy<Value = Provenance> {
    prop_oneof![
        4 => Just(Provenance::new("Test 4", "proven on the host")),
        1 => ("[ -~]{0,20}", "[ -~\n\r\t\x00\x1b]{0,30}").prop_map(|(o, r)| Provenance::new(o, r)),
    ]
}

/// A layer and the assignments it was built from, in order.
fn layer() -> impl Strategy<Value = (Layer, Vec<Assignment>)> {
    (
        "[a-z]{1,8}",
        prop::collection::vec((assignment(), provenance()), 0..10),
    )
        .prop_map(|(name, lines)| {
            let mut l = Layer::new(name);
            let mut raw = Vec::new();
            for (a, p) in lines {
                raw.push(a.clone());
                l.push(a, p);
            }
            (l, raw)
        })
}

/// Layers, and every assignment of all of them in order.
fn layers() -> impl Strategy<Value = (Vec<Layer>, Vec<Assignment>)> {
    prop::collection::vec(layer(), 1..4).prop_map(|ls| {
        let raw = ls.iter().flat_map(|(_, r)| r.clone()).collect();
        (ls.into_iter().map(|(l, _)| l).collect(), raw)
    })
}

/// The unit the properties read files for: an instance, so that `%i`
/// expands as systemd expands it.
const UNIT: &str = "left4me-server@7.service";

fn read_back(text: &str) -> Effective {
    let mut e = Effective::new(UNIT);
    e.read("rendered.conf", text.as_bytes());
    e.finish();
    e
}

/// What systemd reads from these assignments, one line each.
fn read_lines(assignments: &[Assignment]) -> Effective {
    let text: String = assignments
        .iter()
        .map(|a| format!("{}\n", dropin::render::assignment_line(a)))
        .collect();
    read_back(&format!("[Service]\n{text}"))
}

fn header() -> Vec<String> {
    vec!["Generated for a property test.".to_owned()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// parse(render(p)) has the same effective settings as p, with and
    /// without comments.
    #[test]
    fn render_then_parse_keeps_the_effective_settings((layers, _) in layers()) {
        let composed = Composed::compose(&layers);
        let want = Effective::of(&composed, UNIT);
        for comments in [true, false] {
            let text = dropin::render::dropin(&header(), &composed, RenderOptions { comments });
            let got = read_back(&text);
            // Every value the model builds is one systemd reads without a word.
            prop_assert_eq!(got.diagnostics(), &[], "{}", text);
            prop_assert_eq!(&got, &want, "{}", text);
        }
    }

    /// An instance's drop-in filled into the template's rendering
    /// ([`dropin::render::Template`]) is byte for byte the drop-in of the
    /// template's composition with `%i` resolved, or both refuse the
    /// instance; with and without comments.
    #[test]
    fn template_fill_is_the_instance_rendered(
        (layers, _) in layers(),
        names in prop::collection::vec(
            prop_oneof![
                "[a-z0-9]{1,4}",
                r"[A-Za-z0-9:_.\\@-]{1,10}",
                Just("..".to_owned()),
                Just(r"a\x2fb".to_owned()),
                Just("-".to_owned()),
            ],
            1..4,
        ),
    ) {
        let composed = Composed::compose(&layers);
        for comments in [true, false] {
            let options = RenderOptions { comments };
            let template = dropin::render::Template::new(&composed, options);
            for name in &names {
                let Ok(instance) = dropin::Instance::new(name) else { continue };
                let want = composed
                    .for_instance(&instance)
                    .map(|c| dropin::render::dropin(&header(), &c, options));
                let mut got = String::from("kept");
                let filled = template.render_into(&mut got, &header(), &instance);
                match (&want, filled) {
                    (Ok(want), Ok(())) => prop_assert_eq!(got.strip_prefix("kept"), Some(want.as_str())),
                    (Err(_), Err(_)) => prop_assert_eq!(got.as_str(), "kept"),
                    (want, filled) => prop_assert!(false, "{name}: {want:?} but {filled:?}"),
                }
            }
        }
    }

    /// Every directive's canonical lines, given to a fresh unit, hold what
    /// the lines they came from held: what `check` relies on when it hands
    /// a unit's settings to `systemd-run --property=`.
    #[test]
    fn canonical_lines_read_back_the_same((_, raw) in layers()) {
        let effective = read_lines(&raw);
        let mut text = String::from("[Service]\n");
        for d in Directive::ALL {
            if effective.is_set(*d) {
                for v in effective.lines(*d) {
                    text.push_str(&format!("{}={v}\n", d.name()));
                }
            }
        }
        let again = read_back(&text);
        prop_assert_eq!(again.diagnostics(), &[], "{}", text);
        prop_assert_eq!(&again, &effective, "{}", text);
    }

    /// Composing layers gives what systemd gets reading every assignment of
    /// every layer in order.
    #[test]
    fn composition_is_what_systemd_reads((layers, raw) in layers()) {
        let composed = Composed::compose(&layers);
        prop_assert_eq!(read_lines(&raw), Effective::of(&composed, UNIT));
    }

    /// systemd's reset rule: whatever came before, a list directive reset
    /// and then given items ends up with exactly those items, reset first.
    #[test]
    fn a_reset_discards_everything_before_it(
        (before, _) in layers(),
        d in directive().prop_filter("list directives", |d| d.spec().merge() != Merge::Single),
        items in prop::collection::vec(Just(()), 0..4),
        seed in any::<u64>(),
    ) {
        // Items for d, derived from the samples deterministically.
        let samples = d.spec().kind.samples();
        let texts: Vec<&str> = items
            .iter()
            .enumerate()
            .map(|(i, ())| samples[(seed as usize).wrapping_add(i) % samples.len()])
            .collect();
        let why = Provenance::new("reset", "start over");
        let mut last = Layer::new("last");
        last.push(Assignment::reset(d).unwrap(), why.clone());
        for t in &texts {
            last.push(Assignment::parse(d, t).unwrap(), why.clone());
        }
        let mut all = before.clone();
        all.push(last);
        let composed = Composed::compose(&all);

        let mut only = vec![Assignment::reset(d).unwrap()];
        only.extend(texts.iter().map(|t| Assignment::parse(d, t).unwrap()));
        let want = read_lines(&only);
        let got = Effective::of(&composed, UNIT);
        prop_assert_eq!(got.lines(d), want.lines(d));
        prop_assert!(got.was_reset(d));
        // Rendered, the lines of the storage (which directives may share:
        // BindPaths= and BindReadOnlyPaths=) start with the one reset,
        // which empties all of it, and only d's items follow.
        let storage = d.storage();
        let text = dropin::render::dropin(&[], &composed, RenderOptions { comments: false });
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.split_once('=')
                    .and_then(|(k, _)| Directive::from_name(k))
                    .is_some_and(|k| k.storage() == storage)
            })
            .collect();
        prop_assert!(lines.first().is_some_and(|l| l.ends_with('=')), "{}", text);
        prop_assert_eq!(lines.len(), texts.len() + 1);
        let own = format!("{}=", d.name());
        prop_assert!(lines[1..].iter().all(|l| l.starts_with(own.as_str())));
    }

    /// Rendering depends on its input only: twice the same, and the same
    /// for an equal composition built again.
    #[test]
    fn rendering_is_deterministic((layers, _) in layers(), comments in any::<bool>()) {
        let options = RenderOptions { comments };
        let a = Composed::compose(&layers);
        let b = Composed::compose(&layers.clone());
        let first = dropin::render::dropin(&header(), &a, options);
        prop_assert_eq!(&first, &dropin::render::dropin(&header(), &a, options));
        prop_assert_eq!(&first, &dropin::render::dropin(&header(), &b, options));
        prop_assert!(first.ends_with('\n'));
        prop_assert!(!first.lines().any(|l| l.ends_with(' ')));
    }
}

/// A line of a file read for [`shared_reads_are_plain_reads`]: a
/// generated assignment, or one of the lines a shared read must take
/// care with (a fatal one, an unknown key, an untyped key, a specifier).
fn file_line() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => assignment().prop_map(|a| dropin::render::assignment_line(&a)),
        1 => prop::sample::select(vec![
            "User=a:b",
            "NoSuchKey=1",
            "Environment=A=1",
            "Environment=",
            "BindPaths=",
            "ReadWritePaths=/var/%i",
            "# a comment",
            "[Unit]",
            "Description=x %i",
            "[Service]",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// Reading files with what reading the same lines did before kept
    /// ([`Effective::read_shared`]) gives what reading them plainly gives,
    /// origins and logs included, for every unit of a template: a pool of
    /// few files, so that units read the same lines again, each file the
    /// unit's own or one every unit reads (a template's drop-in), so that
    /// storages hold equal settings before a file as well as none.
    #[test]
    fn shared_reads_are_plain_reads(
        pool in prop::collection::vec(prop::collection::vec(file_line(), 0..12), 1..4),
        units in prop::collection::vec(
            ("[a-z0-9]{1,3}", prop::collection::vec((0usize..4, any::<bool>()), 0..4)), 1..6),
    ) {
        let mut replays = dropin::effective::Replays::new();
        for (instance, files) in &units {
            let unit = format!("x@{instance}.service");
            let mut plain = Effective::new(&unit);
            let mut shared = Effective::new(&unit);
            for (n, (i, common)) in files.iter().enumerate() {
                // Some files end with a line of the unit's own: the lines
                // before it are another unit's, the storage's last is not.
                let own = match i % 3 {
                    0 => format!("BindReadOnlyPaths=/srv/{instance}"),
                    1 => format!("ReadWritePaths=/var/{instance}"),
                    _ => String::new(),
                };
                let text = format!("[Service]\n{}\n{own}\n", pool[i % pool.len()].join("\n"));
                let file = if *common {
                    format!("/etc/systemd/system/x@.service.d/{n}-{i}.conf")
                } else {
                    format!("/etc/systemd/system/{unit}.d/{n}-{i}.conf")
                };
                let a = plain.read(&file, text.as_bytes());
                let b = shared.read_shared(&file, text.as_bytes(), &mut replays);
                prop_assert_eq!(a, b, "{}", text);
            }
            plain.finish();
            shared.finish();
            prop_assert_eq!(format!("{plain:?}"), format!("{shared:?}"));
        }
    }
}

/// A line of a unit file read first for [`first_reads_are_plain_reads`]:
/// most lines of [`file_line`], and lines whose storage other lines set
/// with and without a specifier, a user that is fatal for some
/// instances only, and a key systemd does not know.
fn fragment_line() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => file_line(),
        1 => prop::sample::select(vec![
            "Description=plain",
            "ExecStart=/bin/true %i",
            "ExecStart=/bin/false",
            "ExecStart=",
            "WorkingDirectory=/srv/%i",
            "Environment=B=%i",
            "User=%i",
            "ReadWritePaths=/var/a",
            "BindPaths=/srv/%i",
            "BindReadOnlyPaths=/etc/x",
            "NoSuchKey=%i",
            "[Unit]",
            "After=x.service",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// A unit file read first onto nothing, for several instances with
    /// what reading it for another instance kept
    /// ([`Effective::read_first`]), gives what reading it plainly gives,
    /// origins, logs and the untyped log included: files with specifiers
    /// in some storages and not in others, instances for which a `User=%i`
    /// is fatal (`a:b`) and for which it is not.
    #[test]
    fn first_reads_are_plain_reads(
        pool in prop::collection::vec(prop::collection::vec(fragment_line(), 0..14), 1..3),
        units in prop::collection::vec(
            (prop::sample::select(vec!["1", "2", "a:b", "x-y", "root"]), 0usize..3), 1..6),
    ) {
        let mut replays = dropin::effective::Replays::new();
        for (instance, file) in &units {
            let unit = format!("x@{instance}.service");
            let text = format!("[Service]\n{}\n", pool[file % pool.len()].join("\n"));
            let path = format!("/etc/systemd/system/x@.service.{file}");
            let mut plain = Effective::new(&unit);
            let a = plain.read(&path, text.as_bytes());
            let specifiers = dropin::systemd::specifier::Context::new(&unit, None);
            let (mut first, b) = Effective::read_first(specifiers, &path, text.as_bytes(), &mut replays);
            prop_assert_eq!(a, b, "{}", text);
            plain.finish();
            first.finish();
            prop_assert_eq!(format!("{plain:?}"), format!("{first:?}"), "{}", text);
        }
    }
}
