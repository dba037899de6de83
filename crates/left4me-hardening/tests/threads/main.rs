//! The per-unit work of `write` and `diff` shared out over threads gives
//! what one thread gives, byte for byte: the generated files, the score
//! lines and the whole `diff` report (its JSON and its text), on hosts
//! where the instances differ from one another in what is installed (a
//! changed drop-in, an operator's drop-in, one removed, a weakening
//! template drop-in, a drop-in naming the instance's user, instances
//! installed but not asked for, a FIFO among the drop-ins).
//!
//! Every report here holds units that differ and units that do not, in an
//! order a report of runs joined out of order would not have: the
//! comparison with one thread would see it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dropin::load::{Fs, MemFs};
use dropin::{Instance, RenderOptions};
use left4me_hardening::inspect::{self, DiffReport, DiffRequest};
use left4me_hardening::{Host, Threads, score};

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/units");
const ETC: &str = "/etc/systemd/system";

fn instances(n: usize) -> Vec<Instance> {
    (1..=n).map(|i| i.to_string().parse().unwrap()).collect()
}

fn threads(n: usize) -> Threads {
    Threads::Exactly(n.try_into().unwrap())
}

/// The base units, every generated file of `installed` instances as
/// generated, then what `case` changes.
fn host_tree(host: &Host, installed: &[Instance], case: &str) -> MemFs {
    let mut fs = MemFs::new();
    for unit in ["left4me-server@.service", "left4me-web.service"] {
        let text = std::fs::read(format!("{UNITS}/{unit}")).unwrap();
        fs.file(&format!("{ETC}/{unit}"), text);
    }
    for g in host.files(installed, RenderOptions::default()).unwrap() {
        fs.file(&format!("/{}", g.path), g.text.into_bytes());
    }
    let server = |i: usize| format!("{ETC}/left4me-server@{i}.service.d");
    match case {
        "as-generated" => {}
        "instances-apart" => {
            let own = format!("{}/10-hardening.conf", server(5));
            let text = String::from_utf8(fs.read(&own).unwrap()).unwrap();
            fs.file(
                &own,
                text.replace("ProtectHome=yes", "ProtectHome=read-only"),
            );
            fs.file(
                &format!("{}/50-op.conf", server(7)),
                b"[Service]\nProtectSystem=no\nPrivateDevices=no\n".to_vec(),
            );
            fs.file(&format!("{}/10-hardening.conf", server(11)), "");
        }
        "template-weakened" => {
            fs.file(
                &format!("{ETC}/left4me-server@.service.d/30-x.conf"),
                b"[Service]\nNoNewPrivileges=no\n".to_vec(),
            );
        }
        "user-from-instance" => {
            fs.file(
                &format!("{ETC}/left4me-server@.service.d/50-user.conf"),
                b"[Service]\nUser=%i\n".to_vec(),
            );
        }
        "special" => {
            fs.special(&format!("{}/20-fifo.conf", server(9)));
        }
        other => panic!("no case {other}"),
    }
    fs
}

/// The report as JSON and as the text `diff` prints, or the error.
fn shown(report: left4me_hardening::Result<DiffReport>) -> String {
    match report {
        Ok(r) => {
            let text: Vec<String> = r
                .units
                .iter()
                .flat_map(|u| u.lines())
                .chain(
                    r.units
                        .iter()
                        .flat_map(|u| &u.files)
                        .map(|f| f.diff.to_string()),
                )
                .collect();
            format!(
                "{}\n{}",
                serde_json::to_string_pretty(&r).unwrap(),
                text.join("\n")
            )
        }
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn diff_on_many_threads_is_diff_on_one() {
    let host = Host::standard().unwrap();
    let installed = instances(40);
    for case in [
        "as-generated",
        "instances-apart",
        "template-weakened",
        "user-from-instance",
        "special",
    ] {
        let fs = host_tree(&host, &installed, case);
        // Asked for some of them, and for one not installed.
        let asked: Vec<Instance> = ["3", "1", "77"]
            .iter()
            .map(|i| i.parse().unwrap())
            .collect();
        for asked in [Vec::new(), asked] {
            let request = |n| DiffRequest {
                instances: asked.clone(),
                threads: threads(n),
                ..DiffRequest::default()
            };
            let one = shown(inspect::diff(&host, &fs, &request(1)));
            for n in [2, 3, 8, 64] {
                let many = shown(inspect::diff(&host, &fs, &request(n)));
                assert!(one == many, "{case}, asked {asked:?}: {n} threads differ");
            }
            check_the_report_tells_orders_apart(case, &one);
        }
    }
}

/// What makes the comparison above able to fail: the reports name every
/// unit in their order, and where instances differ, they differ apart.
fn check_the_report_tells_orders_apart(case: &str, one: &str) {
    let at = |unit: &str| {
        one.find(&format!("\"{unit}\""))
            .unwrap_or_else(|| panic!("{unit}"))
    };
    assert!(at("left4me-server@1.service") < at("left4me-server@2.service"));
    assert!(at("left4me-server@39.service") < at("left4me-server@40.service"));
    if case == "instances-apart" {
        for i in [5, 7, 11] {
            assert!(
                one.contains(&format!("left4me-server@{i}.service.d")),
                "{i}"
            );
        }
    }
}

#[test]
fn files_and_score_lines_on_many_threads_are_those_on_one() {
    let host = Host::standard().unwrap();
    let installed = instances(40);
    let fs = host_tree(&host, &installed, "instances-apart");
    for count in [0, 1, 2, 5, 40] {
        let asked = instances(count);
        let options = RenderOptions::default();
        let one = host.files_on(&asked, options, threads(1)).unwrap();
        let lines = |n, base: Option<&dyn Fs>| score::lines_on(&host, &one, base, threads(n));
        let (one_lines, one_installed) = (lines(1, None), lines(1, Some(&fs)));
        for n in [2, 3, 8, 64] {
            let many = host.files_on(&asked, options, threads(n)).unwrap();
            let texts = |f: &[left4me_hardening::output::Generated]| {
                f.iter()
                    .map(|g| format!("{}\n{}\n{:?}", g.path, g.text, g.warnings))
                    .collect::<Vec<_>>()
            };
            assert_eq!(texts(&many), texts(&one), "{count} instances, {n} threads");
            assert_eq!(lines(n, None), one_lines, "{count} instances, {n} threads");
            assert_eq!(lines(n, Some(&fs)), one_installed, "{count}, {n} installed");
        }
        // Instance 7 (an operator's drop-in beside the generated one)
        // scores apart from its siblings as installed.
        if count == 40 {
            let seven = one_installed
                .iter()
                .find(|l| l.contains("server@7."))
                .unwrap();
            let six = one_installed
                .iter()
                .find(|l| l.contains("server@6."))
                .unwrap();
            assert_ne!(
                seven.split(' ').nth(2),
                six.split(' ').nth(2),
                "{seven} / {six}"
            );
        }
    }
}
