//! Cross-checks of the generated tables against the real systemd 257 of
//! the oracle root (`scripts/systemd-oracle`). Each comparison is a pure
//! function with a negative control showing it catches a difference.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use systemd_tables::syscalls::Group;
use systemd_tables::unit_keys::{Empty, Key, KeyKind};

fn root() -> PathBuf {
    systemd_tables::workspace_root()
}

fn source() -> &'static (PathBuf, PathBuf) {
    static SOURCE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SOURCE.get_or_init(|| systemd_tables::ensure_source(&root()).expect("systemd-source ensure"))
}

/// Runs `scripts/systemd-oracle ARGS...` under `timeout`; (stdout, stderr).
fn oracle(args: &[&str]) -> (String, String) {
    let (out, err, _) = oracle_status(args);
    (out, err)
}

/// Like [`oracle`], with the exit code.
fn oracle_status(args: &[&str]) -> (String, String, i32) {
    let out = Command::new("timeout")
        .arg("120")
        .arg(root().join("scripts/systemd-oracle"))
        .args(args)
        .output()
        .expect("run scripts/systemd-oracle");
    // 124: the timeout hit; 125..: timeout itself failed.
    let code = out.status.code().unwrap_or(-1);
    assert!(code < 124, "systemd-oracle {args:?} failed: {}", out.status);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        code,
    )
}

// ---- system call groups -------------------------------------------------

/// (name, help, members) of every group `systemd-analyze syscall-filter`
/// prints, in its order.
fn parse_syscall_filter(text: &str) -> Vec<(String, String, Vec<String>)> {
    let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('@') {
            out.push((line.to_owned(), String::new(), Vec::new()));
        } else if let Some(item) = line.strip_prefix("    ")
            && let Some(g) = out.last_mut()
        {
            match item.strip_prefix("# ") {
                Some(help) => g.1 = help.to_owned(),
                None => g.2.push(item.to_owned()),
            }
        } else if line.starts_with('#') {
            break;
        }
    }
    out
}

fn group_mismatches(generated: &[Group], oracle: &[(String, String, Vec<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    if generated.len() != oracle.len() {
        out.push(format!(
            "{} groups generated, {} listed",
            generated.len(),
            oracle.len()
        ));
    }
    for (g, (name, help, members)) in generated.iter().zip(oracle) {
        if g.name != *name || g.help != *help || g.members != *members {
            out.push(format!("{} differs from {name}", g.name));
        }
    }
    out
}

fn groups() -> Vec<Group> {
    systemd_tables::syscalls::groups(&source().0).expect("groups")
}

#[test]
fn syscall_groups_match_systemd_analyze() {
    let (out, _) = oracle(&["exec", "systemd-analyze", "syscall-filter"]);
    let listed = parse_syscall_filter(&out);
    assert_eq!(listed.len(), 30, "{out}");
    assert_eq!(group_mismatches(&groups(), &listed), Vec::<String>::new());
}

#[test]
fn a_changed_group_is_caught() {
    let groups = groups();
    let listed: Vec<_> = groups
        .iter()
        .map(|g| (g.name.clone(), g.help.clone(), g.members.clone()))
        .collect();
    assert!(group_mismatches(&groups, &listed).is_empty());
    let mut changed = listed.clone();
    changed[3].2.pop();
    assert_eq!(group_mismatches(&groups, &changed).len(), 1);
    let mut reordered = listed;
    reordered.swap(0, 1);
    assert_eq!(group_mismatches(&groups, &reordered).len(), 2);
}

// ---- capabilities -------------------------------------------------------

fn parse_capability_table(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((cols.next()?.to_owned(), cols.next()?.parse().ok()?))
        })
        .collect()
}

fn names() -> systemd_tables::names::Names {
    let (s, h) = source();
    systemd_tables::read_names(s, h).expect("names")
}

#[test]
fn capabilities_match_systemd_analyze() {
    let (out, _) = oracle(&["exec", "systemd-analyze", "capability"]);
    let listed = parse_capability_table(&out);
    let generated: Vec<(String, u32)> = names()
        .capabilities
        .iter()
        .map(|(n, v)| (n.to_lowercase(), *v))
        .collect();
    assert_eq!(generated, listed);
    // Negative control: the parse sees a changed row.
    let changed = out.replace("cap_bpf ", "cap_bfp ");
    assert_ne!(generated, parse_capability_table(&changed));
}

/// Every generated capability name, upper-case as `dropin` spells them,
/// is accepted by `systemd-analyze capability NAME...` with its number; an
/// unknown one is refused.
#[test]
fn capability_names_are_accepted_by_systemd_analyze() {
    let caps = names().capabilities;
    let mut args = vec!["exec", "systemd-analyze", "capability"];
    args.extend(caps.iter().map(|(n, _)| n.as_str()));
    let (out, err, code) = oracle_status(&args);
    assert_eq!(code, 0, "{err}");
    let listed = parse_capability_table(&out);
    let want: Vec<(String, u32)> = caps.iter().map(|(n, v)| (n.to_lowercase(), *v)).collect();
    assert_eq!(listed, want);
    let (_, err, code) = oracle_status(&["exec", "systemd-analyze", "capability", "CAP_BOGUS"]);
    assert_ne!(code, 0);
    assert!(err.contains("\"CAP_BOGUS\" is not known"), "{err}");
}

// ---- build features -----------------------------------------------------

fn feature_mismatches(features: &[(&str, bool, &str)], version: &str) -> Vec<String> {
    features
        .iter()
        .filter(|(_, on, flag)| {
            let want = format!("{}{flag}", if *on { '+' } else { '-' });
            !version.split_whitespace().any(|w| w == want)
        })
        .map(|(name, ..)| (*name).to_owned())
        .collect()
}

#[test]
fn build_features_match_systemctl_version() {
    let (out, _) = oracle(&["exec", "systemctl", "--version"]);
    assert_eq!(
        feature_mismatches(systemd_tables::BUILD_FEATURES, &out),
        Vec::<String>::new(),
        "{out}"
    );
    let flipped = [("HAVE_SECCOMP", false, "SECCOMP")];
    assert_eq!(feature_mismatches(&flipped, &out), ["HAVE_SECCOMP"]);
}

// ---- unit-file keys -----------------------------------------------------

fn keys() -> Vec<Key> {
    systemd_tables::unit_keys::service_keys(&source().0).expect("keys")
}

/// (section, key) of `systemd --dump-configuration-items` for a service.
fn parse_items(text: &str) -> BTreeSet<(String, String)> {
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = s.to_owned();
        } else if let Some((k, _)) = line.split_once('=')
            && ["Unit", "Service", "Install"].contains(&section.as_str())
        {
            out.insert((section.clone(), k.to_owned()));
        }
    }
    out
}

fn key_mismatches(keys: &[Key], items: &BTreeSet<(String, String)>) -> Vec<String> {
    // The dump skips keys that were removed (warn_compat, DISABLED_LEGACY).
    let generated: BTreeSet<(String, String)> = keys
        .iter()
        .filter(|k| k.kind != KeyKind::RemovedLegacy)
        .map(|k| (k.section.clone(), k.name.clone()))
        .collect();
    let mut out: Vec<String> = generated
        .difference(items)
        .map(|(s, k)| format!("only generated: [{s}] {k}"))
        .collect();
    out.extend(
        items
            .difference(&generated)
            .map(|(s, k)| format!("only in systemd: [{s}] {k}")),
    );
    out
}

#[test]
fn unit_keys_match_dump_configuration_items() {
    // sh stays PID 1 of the namespace: systemd as PID 1 would boot.
    let (out, _) = oracle(&[
        "exec",
        "sh",
        "-c",
        "/usr/lib/systemd/systemd --system --dump-configuration-items",
    ]);
    let items = parse_items(&out);
    assert!(items.len() > 300, "{out}");
    let keys = keys();
    assert_eq!(key_mismatches(&keys, &items), Vec::<String>::new());
    // Negative control: a key missing from, or added to, the table shows.
    let mut fewer = keys.clone();
    fewer.retain(|k| k.name != "ProtectClock");
    assert_eq!(
        key_mismatches(&fewer, &items),
        ["only in systemd: [Service] ProtectClock"]
    );
    let mut more = keys;
    let mut bogus = more[0].clone();
    bogus.name = "Bogus".into();
    more.push(bogus);
    assert_eq!(
        key_mismatches(&more, &items),
        ["only generated: [Unit] Bogus"]
    );
}

// ---- names, through systemd-analyze verify --------------------------------

/// The bad-line messages of a verify run of `t.service`, by line number.
fn findings(stderr: &str) -> Vec<(usize, String)> {
    stderr
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("t.service:")?;
            let (n, msg) = rest.split_once(": ")?;
            Some((n.parse().ok()?, msg.to_owned()))
        })
        .collect()
}

#[test]
fn names_and_keys_are_accepted_by_verify() {
    let keys = keys();
    let (source, _) = source();
    let mut keys_for_parsers = keys.clone();
    let parsers =
        systemd_tables::unit_keys::parsers(source, &mut keys_for_parsers).expect("parsers");
    let resets: BTreeSet<&str> = parsers
        .iter()
        .filter(|p| p.empty == Empty::Resets)
        .map(|p| p.name.as_str())
        .collect();
    let names = names();
    let groups = groups();

    let mut unit = vec!["[Unit]".to_owned(), "Description=t".to_owned()];
    let mut service = vec!["[Service]".to_owned()];
    // Every key whose parser resets on an empty assignment: accepted.
    for k in keys
        .iter()
        .filter(|k| k.parser.as_deref().is_some_and(|p| resets.contains(p)))
    {
        let line = format!("{}=", k.name);
        match k.section.as_str() {
            "Unit" => unit.push(line),
            "Service" => service.push(line),
            _ => {}
        }
    }
    // Every key whose parser refuses "" (the fatal ones, ltype true, aside:
    // they would stop the parse): refused with a finding.
    let to_value: BTreeSet<&str> = parsers
        .iter()
        .filter(|p| p.empty == Empty::Refused)
        .map(|p| p.name.as_str())
        .collect();
    let mut expect_refused = BTreeSet::new();
    for k in keys.iter().filter(|k| {
        k.kind == KeyKind::Parsed
            && k.ltype != "true"
            && k.parser.as_deref().is_some_and(|p| to_value.contains(p))
    }) {
        let line = format!("{}=", k.name);
        match k.section.as_str() {
            "Unit" => unit.push(line),
            "Service" => service.push(line),
            _ => continue,
        }
        expect_refused.insert(k.name.clone());
    }
    service.push("ExecStart=/bin/true".to_owned());
    // Every name systemd's tables mention: @known, and the members of
    // every group (some are not in @known).
    let mut known: BTreeSet<&str> = systemd_tables::syscalls::expand(&groups, "@known")
        .into_iter()
        .collect();
    for g in &groups {
        known.extend(systemd_tables::syscalls::expand(&groups, &g.name));
    }
    let calls: Vec<&str> = known.iter().copied().chain(["bogus_call"]).collect();
    service.push(format!("SystemCallFilter={}", calls.join(" ")));
    let mut expect_bad: Vec<(String, String)> = Vec::new();
    let mut add = |key: &str, values: Vec<String>, bogus: &str, service: &mut Vec<String>| {
        for v in values.iter().map(String::as_str).chain([bogus]) {
            service.push(format!("{key}={v}"));
        }
        expect_bad.push((key.to_owned(), bogus.to_owned()));
    };
    add(
        "SystemCallErrorNumber",
        names.errnos.iter().map(|(n, _)| n.clone()).collect(),
        "EBOGUS",
        &mut service,
    );
    add(
        "RestrictAddressFamilies",
        names
            .address_families
            .iter()
            .map(|(n, _)| n.clone())
            .collect(),
        "AF_BOGUS",
        &mut service,
    );
    add(
        "SystemCallArchitectures",
        names.architectures.iter().map(|a| a.name.clone()).collect(),
        "bogus-arch",
        &mut service,
    );
    // (CapabilityBoundingSet= ignores unknown names with a debug message
    // only, so capability names are checked with `systemd-analyze
    // capability` instead.)
    // Last: an unknown key. Seeing it refused shows the whole file was read.
    service.push("BogusKey=1".to_owned());
    let text = unit
        .into_iter()
        .chain(service)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";

    let dir = std::env::temp_dir().join(format!("systemd-tables-oracle-{}", std::process::id()));
    let units = dir.join("etc/systemd/system");
    std::fs::create_dir_all(&units).expect("fake root");
    std::fs::write(units.join("t.service"), &text).expect("write unit");
    let (_, stderr) = oracle(&["verify", dir.to_str().expect("utf-8 path"), "t.service"]);
    std::fs::remove_dir_all(&dir).expect("clean up");

    let lines: Vec<&str> = text.lines().collect();
    let mut not_known = BTreeSet::new();
    let mut refused: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other = Vec::new();
    let mut deprecated = BTreeSet::new();
    let mut refused_empty = BTreeSet::new();
    for (n, msg) in findings(&stderr) {
        let key = lines
            .get(n - 1)
            .and_then(|l| l.split_once('='))
            .map_or("", |(k, _)| k)
            .to_owned();
        let value = lines
            .get(n - 1)
            .and_then(|l| l.split_once('='))
            .map_or("", |(_, v)| v)
            .to_owned();
        if value.is_empty() && expect_refused.contains(&key) {
            refused_empty.insert(key);
        } else if let Some(call) = msg
            .strip_prefix("System call ")
            .and_then(|m| m.strip_suffix(" is not known, ignoring."))
        {
            not_known.insert(call.to_owned());
        } else if msg.starts_with("Failed to parse") {
            refused.entry(key).or_default().push(value);
        } else if msg.starts_with(&format!("Unit uses {key}=; please use")) {
            // Deprecated keys say so whenever they are used.
            deprecated.insert(key);
        } else if msg == "Unknown key 'BogusKey' in section [Service], ignoring." {
            refused.entry(key).or_default().push(value);
        } else {
            other.push(format!(
                "line {n} ({}): {msg}",
                lines.get(n - 1).unwrap_or(&"")
            ));
        }
    }
    assert_eq!(other, Vec::<String>::new(), "unexpected findings");
    let accepted: Vec<&String> = expect_refused.difference(&refused_empty).collect();
    assert!(
        accepted.is_empty(),
        "empty values the classification says are refused were accepted: {accepted:?}"
    );
    assert!(
        deprecated
            .iter()
            .all(|k| keys.iter().any(|x| x.name == *k && !x.documented))
    );
    let mut want: BTreeMap<String, Vec<String>> =
        expect_bad.into_iter().map(|(k, v)| (k, vec![v])).collect();
    want.insert("BogusKey".to_owned(), vec!["1".to_owned()]);
    assert_eq!(refused, want, "only the bogus values are refused");

    // libseccomp's blind spots on x86-64, and the bogus name.
    let mut want_unknown: BTreeSet<String> = dropin::names::SYSCALLS_NOT_ON_X86_64
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    want_unknown.insert("bogus_call".to_owned());
    assert_eq!(not_known, want_unknown);
}

// ---- exposure checks ----------------------------------------------------

#[test]
fn exposure_checks_match_systemd_analyze_security() {
    let dir = std::env::temp_dir().join(format!("systemd-tables-security-{}", std::process::id()));
    let units = dir.join("etc/systemd/system");
    std::fs::create_dir_all(&units).expect("fake root");
    std::fs::write(
        units.join("t.service"),
        "[Unit]\nDescription=t\n[Service]\nExecStart=/bin/true\n",
    )
    .expect("write unit");
    let (out, _) = oracle(&[
        "security",
        dir.to_str().expect("utf-8 path"),
        "t.service",
        "--json=short",
    ]);
    std::fs::remove_dir_all(&dir).expect("clean up");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("security JSON");
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or_default().to_owned(),
                r["json_field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let checks = systemd_tables::exposure::checks(&source().0).expect("checks");
    let generated: BTreeSet<(String, String)> = checks
        .iter()
        .map(|c| (c.id.clone(), c.json_field.clone()))
        .collect();
    assert_eq!(rows.len(), checks.len());
    assert_eq!(generated, listed);
    // A plain root service sets none of the boolean options: each of those
    // rows shows the table's description_bad.
    let mut compared = 0;
    for c in checks.iter().filter(|c| c.assess == "assess_bool") {
        let row = rows
            .iter()
            .find(|r| r["name"] == c.id.as_str())
            .expect("row");
        if row["set"] == false && row["exposure"].is_string() {
            assert_eq!(
                row["description"].as_str(),
                c.description_bad.as_deref(),
                "{}",
                c.id
            );
            compared += 1;
        }
    }
    assert!(compared > 10, "only {compared} descriptions compared");
}
