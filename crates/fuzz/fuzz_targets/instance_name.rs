//! Instance names, as `--instance` passes them: any bytes must be refused
//! with an error naming them, or give a server drop-in whose paths stay
//! where they belong.
#![no_main]

use std::path::{Component, Path};
use std::sync::OnceLock;

use dropin::{Instance, RenderOptions};
use left4me_hardening::{Host, ProfileKind};
use libfuzzer_sys::fuzz_target;

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| Host::standard().expect("the standard host builds"))
}

fuzz_target!(|data: &[u8]| {
    // The command line takes UTF-8 only (clap refuses the rest, tested in
    // the robustness suite); lossy conversion still exercises the rules.
    let name = String::from_utf8_lossy(data);
    let instance = match Instance::new(&name) {
        Ok(i) => i,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(&format!("{name:?}")),
                "error does not name the value: {message}"
            );
            return;
        }
    };
    assert!(!name.is_empty());
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c))
    );
    let _ = instance.unescaped();
    match host().generate(
        ProfileKind::Server,
        Some(&instance),
        RenderOptions::default(),
    ) {
        Ok(file) => {
            // The file lands in the instance's own drop-in directory.
            let path = Path::new(&file.path);
            assert!(
                path.components().all(|c| matches!(c, Component::Normal(_))),
                "unsafe file path {:?}",
                file.path
            );
            assert_eq!(
                file.path,
                format!("etc/systemd/system/left4me-server@{name}.service.d/10-hardening.conf")
            );
            let unit = format!("left4me-server@{name}.service");
            let lexed = dropin::lexer::lex("instance.conf", file.text.as_bytes(), &["Service"]);
            assert!(lexed.diagnostics.is_empty(), "{:?}", lexed.diagnostics);
            assert!(!lexed.assignments.is_empty());
            let mut read = dropin::Effective::new(&unit);
            read.read("instance.conf", file.text.as_bytes());
            read.finish();
            assert!(read.diagnostics().is_empty(), "{:?}", read.diagnostics());
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(&format!("{name:?}")),
                "error does not name the instance: {message}"
            );
        }
    }
});
