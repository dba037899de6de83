//! An installed drop-in, as `diff` and `lint` read it (systemd 257's
//! lexer and parsers): any bytes must give settings and diagnostics, never
//! a panic; and the canonical lines of what was read must read back to
//! the same settings, with nothing logged.
#![no_main]

use dropin::{Directive, Effective};
use libfuzzer_sys::fuzz_target;

const UNIT: &str = "fuzz@1.service";

fuzz_target!(|data: &[u8]| {
    let mut effective = Effective::new(UNIT);
    effective.read("fuzz.conf", data);
    effective.finish();
    let _ = effective.to_string();
    for d in effective.diagnostics() {
        assert!(!d.to_string().is_empty());
    }

    // Every typed directive's canonical lines, applied to a fresh unit,
    // give the same state: what `lines` promises and what `check` relies
    // on when it hands them to systemd-run.
    let mut text = String::from("[Service]\n");
    for d in Directive::ALL {
        if effective.is_set(*d) {
            for v in effective.lines(*d) {
                text.push_str(&format!("{}={v}\n", d.name()));
            }
        }
    }
    let mut again = Effective::new(UNIT);
    again.read("canonical.conf", text.as_bytes());
    again.finish();
    for d in Directive::ALL {
        assert_eq!(
            effective.lines(*d),
            again.lines(*d),
            "{} does not read back from its canonical lines:\n{text}",
            d.name()
        );
    }
});
