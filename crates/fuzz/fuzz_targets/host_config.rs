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
            let Some(composed) = f.composed() else {
                continue;
            };
            let unit = f.unit().map(ToString::to_string).unwrap_or_default();
            // Read back as systemd reads it: nothing logged, the same
            // settings as the composition.
            let mut read = Effective::new(&unit);
            read.read("generated.conf", f.text.as_bytes());
            read.finish();
            assert!(
                read.diagnostics().is_empty(),
                "systemd would log {:?} reading:\n{}",
                read.diagnostics(),
                f.text
            );
            let changes = Effective::of(composed, &unit).changes(&read);
            assert!(changes.is_empty(), "round trip changed {changes:?}:\n{}", f.text);
        }
    }
});
