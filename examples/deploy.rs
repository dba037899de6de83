//! Deploy tooling: compose the proven server profile and render the
//! drop-ins of instances 1 to 3, plus the reactor's JSON for them.
//!
//! Run with `cargo run --example deploy`.

use dropin::{Instance, RenderOptions};
use left4me_hardening::{Host, ProfileKind, output};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = Host::standard()?;
    let server = host.profile(ProfileKind::Server);
    if let Some(composed) = server.composed() {
        println!(
            "# server profile: {} directives from {} trace events",
            composed.settings().count(),
            composed.trace().len()
        );
    }
    let mut reactor = serde_json::Map::new();
    for n in 1..=3 {
        let instance = Instance::new(&n.to_string())?;
        let file = host.generate(
            ProfileKind::Server,
            Some(&instance),
            RenderOptions { comments: false },
        )?;
        println!("==> /{} <==", file.path);
        print!("{}", file.text);
        if let serde_json::Value::Object(m) = output::bundlewrap(&file) {
            reactor.extend(m);
        }
    }
    println!("==> reactor metadata <==");
    println!("{}", serde_json::to_string_pretty(&reactor)?);
    Ok(())
}
