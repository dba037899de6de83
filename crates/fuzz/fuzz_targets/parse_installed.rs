//! An installed drop-in, as `diff` and `lint` read it: any bytes must give
//! an error or typed assignments, never a panic; and whatever parses must
//! survive compose → render → parse with the same effective settings.
#![no_main]

use dropin::{Composed, Effective, Layer, Provenance, Read, RenderOptions, UnitFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = UnitFile::parse_bytes("fuzz.conf", data) else {
        return;
    };
    let Ok(reads) = dropin::parse::service_assignments(&file) else {
        return;
    };
    let effective = Effective::from_reads(&reads);
    let _ = effective.to_string();

    // The typed assignments as one layer: composing them must give what
    // reading them gives, and rendering that must read back the same.
    let why = Provenance::new("fuzz", "read from the input");
    let mut layer = Layer::new("input");
    let mut typed = Vec::new();
    for r in &reads {
        if let Read::Typed(a) = r {
            layer.push(a.clone(), why.clone());
            typed.push(r.clone());
        }
    }
    let composed = Composed::compose(&[layer]);
    let of_composed = Effective::of(&composed);
    assert_eq!(
        of_composed,
        Effective::from_reads(&typed),
        "compose disagrees with reading"
    );
    for comments in [true, false] {
        let text =
            dropin::render::dropin(&["fuzz".to_owned()], &composed, RenderOptions { comments });
        let again =
            dropin::render::dropin(&["fuzz".to_owned()], &composed, RenderOptions { comments });
        assert_eq!(text, again, "rendering is not deterministic");
        let reread = UnitFile::parse("rendered.conf", &text)
            .and_then(|f| dropin::parse::service_assignments(&f))
            .unwrap_or_else(|e| panic!("rendered text does not parse: {e}\n{text}"));
        assert_eq!(
            Effective::from_reads(&reread),
            of_composed,
            "round trip changed the effective settings:\n{text}"
        );
    }
});
