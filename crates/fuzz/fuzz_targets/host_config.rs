//! The host configuration (TOML), as `--config` reads it: any bytes must
//! give a one-line error or a host whose every generated file lands below
//! the root, reads back, and means what the composition means.
#![no_main]

use std::path::{Component, Path};

use dropin::{Effective, Instance, RenderOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let host = match left4me_hardening::config::parse("fuzz.toml", text).and_then(|c| c.apply()) {
        Ok(host) => host,
        Err(e) => {
            let message = e.to_string();
            assert!(
                !message.contains('\n'),
                "error is not one line: {message:?}"
            );
            return;
        }
    };
    let one = Instance::new("1").expect("instance 1");
    for comments in [true, false] {
        let Ok(files) = host.files(std::slice::from_ref(&one), RenderOptions { comments }) else {
            continue;
        };
        for f in files {
            assert!(
                Path::new(&f.path)
                    .components()
                    .all(|c| matches!(c, Component::Normal(_))),
                "file outside the root: {:?}",
                f.path
            );
            let Some(composed) = &f.composed else {
                continue;
            };
            let reads = dropin::parse::installed("generated.conf", f.text.as_bytes())
                .and_then(|u| dropin::parse::service_assignments(&u))
                .unwrap_or_else(|e| panic!("generated file does not read back: {e}\n{}", f.text));
            assert_eq!(
                Effective::from_reads(&reads),
                Effective::of(composed),
                "round trip changed the settings:\n{}",
                f.text
            );
        }
    }
});
