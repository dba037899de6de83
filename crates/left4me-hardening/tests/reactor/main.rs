//! What the reactor receives: the bundlewrap JSON, rendered by a renderer
//! written to the reactor's contract (not by ours), gives systemd the same
//! effective settings as our `.conf` rendering; and the self-describing
//! JSON dump of every profile, snapshotted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
#[path = "../support/snapshots.rs"]
mod snapshots;

use dropin::{Effective, Instance, RenderOptions};
use left4me_hardening::output::{self, Generated};
use left4me_hardening::{Host, ProfileKind, config};
use serde_json::Value as Json;

/// Python's `str()` of a JSON scalar, as the reactor's renderer applies it.
fn python_str(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// The reactor's renderer of one `{section: {key: value}}` unit, written
/// from its contract (facts.md, "The reactor's metadata shape"): sections
/// in the order Unit, Timer, Service, Swap, Install, then the others;
/// keys sorted inside a section; a list renders one `Key=item` line per
/// item, in order; a dict renders `Key=k=v` lines; `None` renders nothing;
/// anything else `Key=str(value)` — so `""` is the reset line `Key=`.
fn reactor_render(unit: &Json) -> String {
    const ORDER: &[&str] = &["Unit", "Timer", "Service", "Swap", "Install"];
    let sections = unit.as_object().expect("a unit is a dict of sections");
    let mut names: Vec<&String> = sections.keys().collect();
    names.sort_by_key(|n| {
        (
            ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()),
            (*n).clone(),
        )
    });
    let mut out = String::new();
    for name in names {
        out.push_str(&format!("[{name}]\n"));
        let keys = sections[name].as_object().expect("a section is a dict");
        let mut sorted: Vec<&String> = keys.keys().collect();
        sorted.sort();
        for key in sorted {
            match &keys[key] {
                Json::Null => {}
                Json::Array(items) => {
                    for item in items {
                        out.push_str(&format!("{key}={}\n", python_str(item)));
                    }
                }
                Json::Object(dict) => {
                    for (k, v) in dict {
                        out.push_str(&format!("{key}={k}={}\n", python_str(v)));
                    }
                }
                scalar => out.push_str(&format!("{key}={}\n", python_str(scalar))),
            }
        }
        out.push('\n');
    }
    out
}

/// The unit the comparisons read files for.
const UNIT: &str = "left4me-server@1.service";

fn effective(name: &str, text: &str) -> Effective {
    let mut e = Effective::new(UNIT);
    e.read(name, text.as_bytes());
    e.finish();
    assert_eq!(e.diagnostics(), &[], "{name}");
    e
}

/// Every drop-in a host produces: template, instances 1 and 2, web.
fn dropins(host: &Host) -> Vec<Generated> {
    let mut out = Vec::new();
    for (kind, instance) in [
        (ProfileKind::Server, None),
        (ProfileKind::Server, Some("1")),
        (ProfileKind::Server, Some("2")),
        (ProfileKind::Web, None),
    ] {
        let i = instance.map(|i| Instance::new(i).unwrap());
        out.push(
            host.generate(kind, i.as_ref(), RenderOptions::default())
                .unwrap(),
        );
    }
    out
}

fn assert_contract(host: &Host) {
    for g in dropins(host) {
        let json = output::bundlewrap(&g);
        let doc = json.as_object().unwrap();
        assert_eq!(doc.len(), 1, "{json}");
        let (name, unit) = doc.iter().next().unwrap();
        assert_eq!(name, &g.bundlewrap_name);
        assert!(
            g.path.ends_with(name.as_str()) && name.contains(".service.d/"),
            "{name}"
        );
        // A value is a string or a list of strings; a reset opens its list.
        for (key, value) in unit["Service"].as_object().unwrap() {
            match value {
                Json::String(_) => {}
                Json::Array(items) => {
                    assert!(items.len() > 1, "{key}: a single line is a string");
                    assert!(items.iter().all(Json::is_string), "{key}");
                    assert!(
                        items.iter().skip(1).all(|i| i != ""),
                        "{key}: a reset is first in its list"
                    );
                }
                other => panic!("{key}: {other}"),
            }
        }
        let rendered = reactor_render(unit);
        let theirs = effective(name, &rendered);
        let ours = effective(&g.path, &g.text);
        assert_eq!(theirs.to_string(), ours.to_string(), "{name}");
        assert_eq!(theirs, ours, "{name}");
        assert_eq!(theirs, Effective::of(g.composed().unwrap(), UNIT), "{name}");
    }
}

#[test]
fn bundlewrap_renders_to_the_same_effective_settings() {
    assert_contract(&Host::standard().unwrap());
}

#[test]
fn bundlewrap_of_a_configured_host_too() {
    let text = include_str!("../../../../examples/host-config.toml");
    let host = config::parse("host-config.toml", text)
        .unwrap()
        .apply()
        .unwrap();
    assert_contract(&host);
}

fn configured(name: &str, text: &str) -> Host {
    config::parse(name, text).unwrap().apply().unwrap()
}

const BIND_RESET: &str = include_str!("../fixtures/host-configs/bind-reset.toml");
const BIND_RESET_OTHER_KEY: &str =
    include_str!("../fixtures/host-configs/bind-reset-other-key.toml");

#[test]
fn bundlewrap_of_a_reset_of_the_shared_bind_list_too() {
    // BindPaths= and BindReadOnlyPaths= fill one list: the reset, whichever
    // key the host config gives it on, must come before the lines of both.
    for (name, text) in [
        ("bind-reset.toml", BIND_RESET),
        ("bind-reset-other-key.toml", BIND_RESET_OTHER_KEY),
    ] {
        let host = configured(name, text);
        assert_contract(&host);
        let g = host
            .generate(ProfileKind::Server, None, RenderOptions::default())
            .unwrap();
        let service = &output::bundlewrap(&g)[&g.bundlewrap_name]["Service"];
        assert_eq!(
            service["BindPaths"],
            serde_json::json!(["", "/var/lib/left4me/runtime/%i"]),
            "{name}"
        );
        assert_eq!(
            service["BindReadOnlyPaths"],
            serde_json::json!(["/var/lib/left4me/installation", "/etc/left4me/host.env"]),
            "{name}"
        );
    }
}

#[test]
fn a_shared_reset_on_the_key_that_sorts_second_clears_the_first() {
    // The negative control of the case above: the document as it was, with
    // the reset on BindReadOnlyPaths= (the composition's, and the .conf
    // file's, first key of the bind list), loses the BindPaths= line
    // through the sorted renderer.
    let host = configured("bind-reset.toml", BIND_RESET);
    let g = host
        .generate(ProfileKind::Server, None, RenderOptions::default())
        .unwrap();
    let mut json = output::bundlewrap(&g);
    let service = &mut json[&g.bundlewrap_name]["Service"];
    service["BindPaths"] = "/var/lib/left4me/runtime/%i".into();
    service["BindReadOnlyPaths"] =
        serde_json::json!(["", "/var/lib/left4me/installation", "/etc/left4me/host.env"]);
    let rendered = reactor_render(&json[&g.bundlewrap_name]);
    let theirs = effective(&g.bundlewrap_name, &rendered);
    let ours = effective(&g.path, &g.text);
    assert_ne!(theirs, ours);
    assert_eq!(
        theirs.lines(dropin::Directive::BindPaths),
        Vec::<String>::new()
    );
}

#[test]
fn only_list_directives_share_a_storage() {
    // The reset placement of output::bundlewrap covers shared storage of
    // list directives. A single-valued directive sharing one would make the
    // reactor's key order decide which value wins: this fails first.
    for a in dropin::Directive::ALL {
        for b in dropin::Directive::ALL {
            if a != b && a.storage() == b.storage() {
                assert_eq!(a.spec().merge(), dropin::Merge::List, "{a} shares with {b}");
            }
        }
    }
}

/// Every file a host produces for instances 1 and 2.
fn all_files(host: &Host) -> Vec<Generated> {
    let instances = [Instance::new("1").unwrap(), Instance::new("2").unwrap()];
    host.files(&instances, RenderOptions::default()).unwrap()
}

#[test]
fn the_document_carries_provenance_line_by_line() {
    for host in [
        Host::standard().unwrap(),
        configured(
            "host-config.toml",
            include_str!("../../../../examples/host-config.toml"),
        ),
        configured("bind-reset.toml", BIND_RESET),
    ] {
        let files = all_files(&host);
        let doc = output::bundlewrap_document(&files);
        let provenance = doc["left4me-harden"]["provenance"].as_object().unwrap();
        // One entry per file, by the name the reactor knows it by.
        let mut names: Vec<&String> = doc["systemd"]["units"]
            .as_object()
            .unwrap()
            .keys()
            .chain(doc["files"].as_object().unwrap().keys())
            .collect();
        names.sort();
        assert_eq!(provenance.keys().collect::<Vec<_>>(), names);
        for g in &files {
            let p = &provenance[&g.bundlewrap_name];
            assert_eq!(p["profile"], g.profile.name(), "{}", g.bundlewrap_name);
            assert_eq!(p["header"], serde_json::json!(g.header));
            let Some(composed) = g.composed() else {
                assert_eq!(p["settings"][0]["key"], "kernel.yama.ptrace_scope");
                assert_eq!(p["settings"][0]["origin"], "Test 9");
                continue;
            };
            assert_eq!(p["unit"], g.unit().unwrap().to_string());
            assert_eq!(p["notes"].as_array().unwrap().len(), composed.notes().len());
            // Each key's provenance lines up with the lines the reactor
            // renders for it: same count, same values, in order.
            let unit = &doc["systemd"]["units"][&g.bundlewrap_name]["Service"];
            let lines = p["lines"]["Service"].as_object().unwrap();
            assert_eq!(
                lines.keys().collect::<Vec<_>>(),
                unit.as_object().unwrap().keys().collect::<Vec<_>>()
            );
            for (key, value) in unit.as_object().unwrap() {
                let values: Vec<&Json> = match value {
                    Json::Array(items) => items.iter().collect(),
                    one => vec![one],
                };
                let of_lines: Vec<&Json> = lines[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| &l["value"])
                    .collect();
                assert_eq!(values, of_lines, "{key}");
                for l in lines[key].as_array().unwrap() {
                    assert!(!l["origin"].as_str().unwrap().is_empty(), "{key}: {l}");
                    assert!(!l["reason"].as_str().unwrap().is_empty(), "{key}: {l}");
                }
            }
        }
    }
}

#[test]
fn the_renderer_follows_the_contract() {
    let unit = serde_json::json!({
        "Install": {"WantedBy": "multi-user.target"},
        "Service": {"B": ["", "/a", "/b"], "A": "x", "N": null, "E": {"K": "v"}, "T": true},
        "Unit": {"Description": "d"},
        "X-Other": {"Z": 1},
    });
    assert_eq!(
        reactor_render(&unit),
        "[Unit]\nDescription=d\n\n[Service]\nA=x\nB=\nB=/a\nB=/b\nE=K=v\nT=True\n\n\
         [Install]\nWantedBy=multi-user.target\n\n[X-Other]\nZ=1\n\n"
    );
}

#[test]
fn the_sysctl_file_is_a_file_item() {
    let g = Host::standard()
        .unwrap()
        .generate(ProfileKind::Sysctl, None, RenderOptions::default())
        .unwrap();
    let json = output::bundlewrap(&g);
    let item = &json["/etc/sysctl.d/99-left4me-ptrace.conf"];
    assert_eq!(item["content"], g.text.as_str());
    assert_eq!(item["mode"], "0644");
}

#[test]
fn snapshot_json_dumps() {
    let host = Host::standard().unwrap();
    for (name, kind, instance) in [
        ("json-server-template", ProfileKind::Server, None),
        ("json-server@1", ProfileKind::Server, Some("1")),
        ("json-web", ProfileKind::Web, None),
        ("json-sysctl", ProfileKind::Sysctl, None),
    ] {
        let i = instance.map(|i| Instance::new(i).unwrap());
        let g = host
            .generate(kind, i.as_ref(), RenderOptions::default())
            .unwrap();
        let json = host.describe(&g);
        // Self-describing: every directive line carries its provenance.
        for d in json["directives"].as_array().into_iter().flatten() {
            assert!(d["since"].is_u64() && d["doc"].is_string(), "{d}");
            for line in d["lines"].as_array().unwrap() {
                assert!(!line["origin"].as_str().unwrap().is_empty(), "{line}");
            }
        }
        snapshot!(name, serde_json::to_string_pretty(&json).unwrap());
    }
}
