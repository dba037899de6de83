//! The exposure scorer against systemd 257's own `systemd-analyze
//! security --offline=true`, on a corpus: every service unit shipped in
//! the Debian 13 oracle root, our generated units (the snapshotted
//! drop-ins layered on the reference base units), and a seeded corpus of
//! generated variants (random hardening directive sets on those units, on
//! the shipped Debian units and on minimal services, odd values included).
//!
//! Each group is scored by [`dropin::score`] (loaded with
//! [`dropin::load`] from the same files) and by systemd in one call per
//! output format, hermetically (`SYSTEMD_UNIT_PATH` without a trailing
//! colon, so only the group's directory is searched): the text table
//! byte for byte, `--json=short` and `--json=pretty` byte for byte, and
//! each check's badness, weight, range, description and exposure from
//! `SYSTEMD_ANALYZE_DEBUG=1 --json=short`; which units systemd refuses;
//! the exit status with and without `--threshold=`. Any difference fails
//! the test, naming the unit, the check and the files it reads.
//!
//! Bounded: `LEFT4ME_SCORE_CASES` variants on our base units and minimal
//! services (default 600), `LEFT4ME_SCORE_SHIPPED_CASES` variants on the
//! shipped services (default 300: a shipped service with its shipped
//! drop-ins, under a name of its own, and random drop-ins over it), seed
//! `LEFT4ME_SCORE_SEED`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use dropin::Error;
use dropin::load::{LoadOptions, Loader, MemFs, load};
use dropin::score::{self, Format, Glyphs, Score};
use systemd_oracle::{Analysis, Oracle, Tree};

mod corpus;

use corpus::{Files, GEN, Rng, SHIPPED, Shipped, env_number, profiles, shipped_variants, variants};

/// What systemd prints with the oracle's environment: a UTF-8 locale and
/// no `TERM` (so no emoji).
const GLYPHS: Glyphs = Glyphs {
    utf8: true,
    emoji: false,
};

/// A group of units scored by one systemd call per format: the files
/// (paths as systemd sees them), the directory searched, and the units
/// asked for.
struct Group {
    name: &'static str,
    dir: String,
    /// Files to stage (empty when the directory is the root's own).
    tree: Tree,
    /// The same files, for the model.
    fs: MemFs,
    /// The units asked for (file names in `dir`; a template is asked for
    /// as itself and scored as `NAME@test_instance`).
    units: Vec<String>,
}

impl Group {
    /// The unit systemd loads for argument `u`.
    fn loaded_name(u: &str) -> String {
        match u.split_once("@.") {
            Some((p, t)) => format!("{p}@test_instance.{t}"),
            None => u.to_owned(),
        }
    }

    fn ours(&self) -> Vec<(String, dropin::Result<Score>)> {
        let options = LoadOptions {
            search_path: vec![self.dir.clone()],
        };
        let loader = Loader::new(&self.fs, &options);
        self.units
            .iter()
            .map(|u| {
                let loaded = loader.load(&Self::loaded_name(u));
                (u.clone(), score::score(&loaded))
            })
            .collect()
    }

    /// `systemd-analyze security --offline=true ARGS UNITS` in the
    /// oracle root, only `dir` searched; `env` adds variables.
    fn systemd(&self, oracle: &Oracle, env: &[&str], args: &[&str]) -> Analysis {
        let prefix = if self.tree.is_empty() { "" } else { "@ROOT@" };
        let unit_path = format!("SYSTEMD_UNIT_PATH={prefix}{}", self.dir);
        let paths: Vec<String> = self
            .units
            .iter()
            .map(|u| format!("{prefix}{}/{u}", self.dir))
            .collect();
        let mut all: Vec<&str> = vec!["env", &unit_path];
        all.extend_from_slice(env);
        all.extend([
            "systemd-analyze",
            "security",
            "--offline=true",
            "--no-pager",
        ]);
        all.extend_from_slice(args);
        all.extend(paths.iter().map(String::as_str));
        oracle.run(&self.tree, &all).expect("systemd-analyze ran")
    }
}

/// Every service unit shipped in the oracle root, read where systemd
/// reads it.
fn shipped(oracle: &Oracle) -> Group {
    let host = oracle.root_dir().unwrap().join(&SHIPPED[1..]);
    let (fs, units) = corpus::shipped_units(&host);
    Group {
        name: "shipped",
        dir: SHIPPED.to_owned(),
        tree: Tree::new(),
        fs,
        units,
    }
}

/// systemd's text output, one piece per unit it scored (each ends with
/// its summary line).
fn split_text(out: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in out.split_inclusive('\n') {
        current.push_str(line);
        if line.starts_with("\u{2192} Overall exposure level for ") {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// systemd's `--json=pretty` output, one array per unit.
fn split_pretty(out: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    for line in out.split_inclusive('\n') {
        current.push_str(line);
        if line == "]\n" {
            pieces.push(std::mem::take(&mut current));
        }
    }
    pieces
}

/// The files `u` reads, for reports.
fn files_of(group: &Group, u: &str) -> String {
    let options = LoadOptions {
        search_path: vec![group.dir.clone()],
    };
    let l = load(&group.fs, &Group::loaded_name(u), &options);
    let mut out = String::new();
    for f in l.fragment.iter().chain(&l.dropins) {
        let bytes = dropin::load::Fs::read(&group.fs, f).unwrap_or_default();
        let _ = write!(out, "\n  --- {f}\n{}", String::from_utf8_lossy(&bytes));
    }
    out
}

/// What differs between our scores and systemd's, one line per finding.
#[derive(Default)]
struct Report {
    /// How many differences were found.
    count: usize,
    /// The first few, described.
    differences: Vec<String>,
}

impl Report {
    /// Records a difference, describing it (which may load the unit's
    /// files again) only for the first few.
    fn add(&mut self, what: impl FnOnce() -> String) {
        self.count += 1;
        if self.differences.len() < 12 {
            self.differences.push(what());
        }
    }
}

/// One unit systemd scored, with our result for it.
type Pair<'a> = (&'a String, &'a dropin::Result<Score>);

/// Compares one output format: `ours` (our rendering of a unit) with
/// systemd's pieces, matched to the units systemd scored, in order.
fn compare_pieces(
    report: &mut Report,
    group: &Group,
    format: &str,
    scored: &[Pair<'_>],
    ours: impl Fn(&Score) -> String,
    theirs: &[String],
) -> usize {
    let mut differing = 0;
    if scored.len() != theirs.len() {
        report.add(|| {
            format!(
                "{} {format}: systemd printed {} pieces for {} units",
                group.name,
                theirs.len(),
                scored.len()
            )
        });
        return scored.len().max(1);
    }
    for ((u, r), t) in scored.iter().zip(theirs) {
        let Ok(s) = r else {
            // Reported with the refusals.
            differing += 1;
            continue;
        };
        let o = ours(s);
        if &o != t {
            differing += 1;
            report.add(|| {
                let line = o
                    .lines()
                    .zip(t.lines())
                    .find(|(a, b)| a != b)
                    .map(|(a, b)| format!("\n  ours:    {a:?}\n  systemd: {b:?}"))
                    .unwrap_or_else(|| format!("\n  ours {} bytes, systemd {}", o.len(), t.len()));
                format!(
                    "{} {format}: {u} ({}) differs:{line}{}",
                    group.name,
                    s.unit,
                    files_of(group, u)
                )
            });
        }
    }
    differing
}

/// Compares the per-check JSON of `SYSTEMD_ANALYZE_DEBUG=1`.
fn compare_checks(report: &mut Report, group: &Group, scored: &[Pair<'_>], out: &str) {
    let lines: Vec<&str> = out.lines().collect();
    for ((u, r), line) in scored.iter().zip(&lines) {
        let Ok(s) = r else {
            continue;
        };
        let json: serde_json::Value = serde_json::from_str(line).expect("systemd's JSON");
        let rows = json.as_array().expect("an array");
        let printed = s.printed();
        if rows.len() != printed.len() {
            report.add(|| {
                format!(
                    "{} checks: {u}: {} rows, ours {}",
                    group.name,
                    rows.len(),
                    printed.len()
                )
            });
            continue;
        }
        for (row, c) in rows.iter().zip(&printed) {
            let theirs = (
                row["name"].as_str().unwrap_or_default(),
                row["json_field"].as_str().unwrap_or_default(),
                row["set"].as_bool(),
                row["badness"].as_u64().filter(|b| *b != u64::MAX),
                row["weight"].as_u64().unwrap_or_default(),
                row["range"].as_u64().unwrap_or_default(),
                row["description"].as_str(),
                row["exposure"].as_str().map(str::to_owned),
            );
            let ours = (
                c.id,
                c.json_field,
                c.set(),
                c.badness,
                c.weight,
                c.range,
                c.description.as_deref(),
                c.exposure_text(),
            );
            if theirs != ours {
                report.add(|| {
                    format!(
                        "{} checks: {u} {}:\n  ours:    {ours:?}\n  systemd: {theirs:?}{}",
                        group.name,
                        c.id,
                        files_of(group, u)
                    )
                });
            }
        }
    }
}

/// Everything systemd prints for `group`, compared with our scores.
/// Returns our scores (by unit asked for) and the report.
fn check_group(oracle: &Oracle, group: &Group) -> (Vec<(String, dropin::Result<Score>)>, Report) {
    let ours = group.ours();
    let mut report = Report::default();
    let text = group.systemd(oracle, &[], &[]);
    // Units systemd refused: one message each on stderr, "Unit NAME …".
    let refused: std::collections::BTreeSet<&str> = text
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Unit ")?.split(' ').next())
        .collect();
    let mut scored: Vec<Pair<'_>> = Vec::new();
    for (u, r) in &ours {
        let name = Group::loaded_name(u);
        let id = match r {
            Ok(s) => s.unit.clone(),
            Err(Error::Unscorable { unit, .. }) => unit.clone(),
            Err(e) => panic!("{u}: {e}"),
        };
        let theirs = refused.contains(name.as_str()) || refused.contains(id.as_str());
        if !theirs {
            scored.push((u, r));
        }
        if theirs != r.is_err() {
            report.add(|| {
                format!(
                    "{}: {u}: ours {:?}, systemd {}; systemd's stderr for it: {:?}{}",
                    group.name,
                    r.as_ref().map(|s| s.summary()),
                    if theirs { "refused it" } else { "scored it" },
                    text.stderr
                        .lines()
                        .filter(|l| l.contains(&name) || l.contains(&format!("/{u}")))
                        .collect::<Vec<_>>(),
                    files_of(group, u)
                )
            });
        }
    }
    compare_pieces(
        &mut report,
        group,
        "text",
        &scored,
        |s| s.render(Format::Text(GLYPHS)),
        &split_text(&text.stdout),
    );
    let status = |r: &[(String, dropin::Result<Score>)], t: u64| {
        let results: Vec<dropin::Result<Score>> = r.iter().map(|(_, s)| s.clone()).collect();
        i32::from(score::exit_status(&results, t))
    };
    if text.status != Some(status(&ours, 100)) {
        report.add(|| {
            format!(
                "{}: exit status {:?}, ours {}",
                group.name,
                text.status,
                status(&ours, 100)
            )
        });
    }

    let short = group.systemd(oracle, &[], &["--json=short"]);
    let pieces: Vec<String> = short
        .stdout
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    compare_pieces(
        &mut report,
        group,
        "json=short",
        &scored,
        |s| s.render(Format::JsonShort),
        &pieces,
    );

    let pretty = group.systemd(oracle, &[], &["--json=pretty"]);
    compare_pieces(
        &mut report,
        group,
        "json=pretty",
        &scored,
        |s| s.render(Format::JsonPretty),
        &split_pretty(&pretty.stdout),
    );

    let debug = group.systemd(oracle, &["SYSTEMD_ANALYZE_DEBUG=1"], &["--json=short"]);
    compare_checks(&mut report, group, &scored, &debug.stdout);
    (ours, report)
}

fn fail_on(reports: &[Report]) {
    let count: usize = reports.iter().map(|r| r.count).sum();
    if count > 0 {
        let shown: Vec<&String> = reports.iter().flat_map(|r| &r.differences).collect();
        panic!(
            "{count} differences from systemd 257 (some of them):\n{}",
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn scores_equal_systemd_on_the_corpus() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let cases = env_number("LEFT4ME_SCORE_CASES", 600);
    let on_shipped = env_number("LEFT4ME_SCORE_SHIPPED_CASES", 300);
    let seed = env_number("LEFT4ME_SCORE_SEED", 0x5c0e_2570);
    let mut rng = Rng(seed);

    let shipped = shipped(oracle);
    let shipped_bases = Shipped::read(&oracle.root_dir().unwrap().join(&SHIPPED[1..]));
    let mut files = Files::default();
    let mut units = Vec::new();
    profiles(&mut files, &mut units);
    let ours_count = units.len();
    variants(&mut rng, cases, &mut files, &mut units);
    shipped_variants(&mut rng, on_shipped, &shipped_bases, &mut files, &mut units);
    let based: std::collections::BTreeSet<String> = units[ours_count + cases as usize..]
        .iter()
        .map(|u| {
            // The shipped file: without the prefix and the instance.
            let name = u.split_once('-').map_or(u.as_str(), |(_, rest)| rest);
            match (name.split_once('@'), name.rsplit_once('.')) {
                (Some((stem, _)), Some((_, suffix))) => format!("{stem}@.{suffix}"),
                _ => name.to_owned(),
            }
        })
        .collect();
    let generated = Group {
        name: "generated",
        dir: GEN.to_owned(),
        tree: files.tree,
        fs: files.fs,
        units,
    };

    let (shipped_scores, shipped_report) = check_group(oracle, &shipped);
    let (gen_scores, gen_report) = check_group(oracle, &generated);

    // The threshold: systemd fails exactly when one unit is above it.
    let mut threshold_report = Report::default();
    let mut small = Files::default();
    let mut profile_units = Vec::new();
    profiles(&mut small, &mut profile_units);
    let profiles_only = Group {
        name: "profiles",
        dir: GEN.to_owned(),
        tree: small.tree,
        fs: small.fs,
        units: profile_units,
    };
    let ours = profiles_only.ours();
    let worst = ours
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|s| s.exposure))
        .max()
        .unwrap_or(0);
    for t in [worst, worst.saturating_sub(1)] {
        let arg = format!("--threshold={t}");
        let out = profiles_only.systemd(oracle, &[], &[&arg]);
        let results: Vec<dropin::Result<Score>> = ours.iter().map(|(_, s)| s.clone()).collect();
        let want = i32::from(score::exit_status(&results, t));
        if out.status != Some(want) {
            threshold_report
                .add(|| format!("threshold {t}: systemd {:?}, ours {want}", out.status));
        }
    }

    // What the corpus holds, by level, and how many units were refused.
    let mut levels: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused = 0;
    for (_, r) in shipped_scores.iter().chain(&gen_scores) {
        match r {
            Ok(s) => *levels.entry(s.level().name).or_default() += 1,
            Err(Error::Unscorable { .. }) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!(
        "score corpus: {} units: {} shipped + {} generated ({ours_count} of our profiles, \
         {cases} variants on our base units and minimal services, {on_shipped} variants on \
         {} distinct shipped services of {}; seed {seed:#x}); levels {levels:?}; refused {refused}",
        shipped.units.len() + generated.units.len(),
        shipped.units.len(),
        generated.units.len(),
        based.len(),
        shipped_bases.len()
    );
    fail_on(&[shipped_report, gen_report, threshold_report]);
    assert!(
        shipped.units.len() >= 100,
        "the oracle root ships >= 100 services"
    );
    assert!(
        cases + on_shipped >= 500,
        "the corpus has at least 500 variants: {cases} + {on_shipped}"
    );
    assert!(
        on_shipped == 0 || based.len() >= 50,
        "variants on the shipped units spread over them: {}",
        based.len()
    );
    assert!(levels.len() >= 5, "the corpus spans levels: {levels:?}");
}

/// Negative control: a model with one weight changed (`PrivateNetwork=`
/// 2000 instead of 2500) disagrees with systemd on most units, so the
/// comparison above can fail.
#[test]
fn a_changed_weight_is_caught() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let mut files = Files::default();
    let mut units = Vec::new();
    profiles(&mut files, &mut units);
    let mut rng = Rng(7);
    variants(&mut rng, 40, &mut files, &mut units);
    let group = Group {
        name: "control",
        dir: GEN.to_owned(),
        tree: files.tree,
        fs: files.fs,
        units,
    };
    let ours: Vec<(String, dropin::Result<Score>)> = group
        .ours()
        .into_iter()
        .filter(|(_, r)| r.is_ok())
        .collect();
    let text = group.systemd(oracle, &[], &[]);
    let theirs = split_text(&text.stdout);
    let pairs: Vec<Pair<'_>> = ours.iter().map(|(u, r)| (u, r)).collect();
    // The model as it is agrees…
    let mut report = Report::default();
    let differing = compare_pieces(
        &mut report,
        &group,
        "text",
        &pairs,
        |s| s.render(Format::Text(GLYPHS)),
        &theirs,
    );
    assert_eq!(differing, 0, "{:?}", report.differences);
    // …and with PrivateNetwork= weighing 2000 instead of 2500 it does not.
    let skewed: Vec<(String, dropin::Result<Score>)> = ours
        .iter()
        .map(|(u, r)| {
            let s = r.as_ref().unwrap();
            (
                u.clone(),
                Ok(s.with_weights(|c| {
                    if c.id == "PrivateNetwork=" {
                        2000
                    } else {
                        c.weight
                    }
                })),
            )
        })
        .collect();
    let pairs: Vec<Pair<'_>> = skewed.iter().map(|(u, r)| (u, r)).collect();
    let mut report = Report::default();
    let differing = compare_pieces(
        &mut report,
        &group,
        "text",
        &pairs,
        |s| s.render(Format::Text(GLYPHS)),
        &theirs,
    );
    assert!(
        differing * 2 > pairs.len(),
        "only {differing} of {} units differ with a changed weight",
        pairs.len()
    );
}

/// Which members of the scored system call groups exist natively is
/// libseccomp's answer on the analysing host, not systemd's source:
/// derive it from systemd itself (a deny list of every member but one
/// names that one as allowed exactly when it exists) and compare with
/// the model's table.
#[test]
fn native_group_members_match_systemd() {
    let oracle = Oracle::get().expect("the systemd 257 oracle (scripts/systemd-oracle)");
    let groups = [
        "@swap",
        "@obsolete",
        "@clock",
        "@cpu-emulation",
        "@debug",
        "@mount",
        "@module",
        "@raw-io",
        "@reboot",
        "@privileged",
        "@resources",
    ];
    fn expand(group: &str, out: &mut Vec<&'static str>) {
        let g = dropin::syscall::Syscall::new("SystemCallFilter", group).unwrap();
        for m in g.members() {
            if m.starts_with('@') {
                expand(m, out);
            } else {
                out.push(m);
            }
        }
    }
    let mut members: Vec<&str> = Vec::new();
    for g in groups {
        expand(g, &mut members);
    }
    members.sort_unstable();
    members.dedup();
    let mut files = Files::default();
    let mut units = Vec::new();
    for (i, m) in members.iter().enumerate() {
        let others: Vec<&str> = members.iter().copied().filter(|o| o != m).collect();
        files.file(
            &format!("/corpus/native/n{i:03}.service"),
            &format!(
                "[Service]\nExecStart=/bin/true\nSystemCallFilter=~{}\n",
                others.join(" ")
            ),
        );
        units.push(format!("n{i:03}.service"));
    }
    let group = Group {
        name: "native",
        dir: "/corpus/native".to_owned(),
        tree: files.tree,
        fs: files.fs,
        units,
    };
    let out = group.systemd(oracle, &[], &["--json=short"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), members.len(), "{}", out.stderr);
    let mut wrong = Vec::new();
    let mut native = 0;
    for (m, line) in members.iter().zip(&lines) {
        let allowed = format!("(e.g. {m} is allowed)");
        let systemd = line.contains(&allowed);
        native += usize::from(systemd);
        if systemd != score::exists_natively(m) {
            wrong.push(format!("{m}: systemd {systemd}"));
        }
    }
    assert!(wrong.is_empty(), "native members differ: {wrong:?}");
    // The probe can tell: most members exist, some (32-bit only) do not.
    assert!(
        native > 50 && native < members.len(),
        "{native} of {}",
        members.len()
    );
}
