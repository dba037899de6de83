//! Reading what `systemd --test --system` printed: unit blocks and log
//! lines.
//!
//! A dump lists every loaded unit as a `→ Unit NAME:` line followed by
//! `Key: value` lines indented by two tabs, in an order fixed by systemd's
//! code. Sub-blocks such as `→ ExecStart:` indent their lines once more;
//! their lines are read as `ExecStart.Command Line` and so on. Jobs are
//! left out. See `docs/systemd-257-loading.md` for which settings print
//! and how.

use std::collections::BTreeMap;

/// The prefix of the oracle's own batch targets, whose dependency lines
/// are left out of every unit.
pub(crate) const BATCH_PREFIX: &str = "left4me-oracle-batch-";

/// Keys that print one line per member of a set, in hash order.
pub const SET_LINE_KEYS: &[&str] = &[
    // unit_dependency_table (src/basic/unit-def.c)
    "Requires",
    "Requisite",
    "Wants",
    "BindsTo",
    "PartOf",
    "Upholds",
    "RequiredBy",
    "RequisiteOf",
    "WantedBy",
    "BoundBy",
    "UpheldBy",
    "ConsistsOf",
    "Conflicts",
    "ConflictedBy",
    "Before",
    "After",
    "OnSuccess",
    "OnSuccessOf",
    "OnFailure",
    "OnFailureOf",
    "Triggers",
    "TriggeredBy",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "PropagatesStopTo",
    "StopPropagatedFrom",
    "JoinsNamespaceOf",
    "References",
    "ReferencedBy",
    "InSlice",
    "SliceOf",
    // unit_mount_dependency_type_table
    "RequiresMountsFor",
    "WantsMountsFor",
    // other sets (unit-serialize.c, cgroup.c, execute.c)
    "Alias",
    "Following Set Member",
    "IPAddressAllow",
    "IPAddressDeny",
    "RestrictFileSystems",
    "RestrictNetworkInterfaces",
];

/// Keys that print a set on one line as space-separated words, in hash
/// order. `SystemCallFilter` marks a deny list with a `~` before its
/// first word.
pub const SET_WORD_KEYS: &[&str] = &[
    "SystemCallFilter",
    "SystemCallArchitectures",
    "LogFilterPatterns",
];

/// A unit's load state, as the dump's `Unit Load State:` line says it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LoadState {
    /// `stub`
    Stub,
    /// `loaded`
    Loaded,
    /// `not-found`
    NotFound,
    /// `bad-setting`
    BadSetting,
    /// `error`
    Error,
    /// `merged`
    Merged,
    /// `masked`
    Masked,
    /// Any other word.
    Other(String),
}

impl LoadState {
    fn parse(word: &str) -> LoadState {
        match word {
            "stub" => LoadState::Stub,
            "loaded" => LoadState::Loaded,
            "not-found" => LoadState::NotFound,
            "bad-setting" => LoadState::BadSetting,
            "error" => LoadState::Error,
            "merged" => LoadState::Merged,
            "masked" => LoadState::Masked,
            other => LoadState::Other(other.to_owned()),
        }
    }
}

/// One line systemd logged.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogLine {
    /// The file named by a `FILE:LINE: message` line.
    pub file: Option<String>,
    /// The line number named by a `FILE:LINE: message` line.
    pub line: Option<u32>,
    /// The unit named by a `UNIT: message` line.
    pub unit: Option<String>,
    /// The message after `FILE:LINE: ` or `UNIT: `, or the whole line.
    pub message: String,
    /// The line as logged.
    pub text: String,
}

impl LogLine {
    /// Reads one logged line.
    pub fn parse(text: &str) -> LogLine {
        let mut out = LogLine {
            file: None,
            line: None,
            unit: None,
            message: text.to_owned(),
            text: text.to_owned(),
        };
        if text.starts_with('/') {
            // The first ":DIGITS: " ends the file name.
            for (i, _) in text.match_indices(':') {
                let rest = &text[i + 1..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 && rest[digits..].starts_with(": ") {
                    out.file = Some(text[..i].to_owned());
                    out.line = rest[..digits].parse().ok();
                    out.message = rest[digits + 2..].to_owned();
                    return out;
                }
            }
        } else if let Some((unit, message)) = text
            .split_once(": ")
            .filter(|(unit, _)| looks_like_unit(unit))
        {
            out.unit = Some(unit.to_owned());
            out.message = message.to_owned();
        }
        out
    }
}

fn looks_like_unit(word: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        ".service",
        ".socket",
        ".target",
        ".device",
        ".mount",
        ".automount",
        ".swap",
        ".timer",
        ".path",
        ".slice",
        ".scope",
    ];
    !word.contains(' ')
        && SUFFIXES
            .iter()
            .any(|s| word.ends_with(s) && word.len() > s.len())
}

/// Lines every run logs whatever the units (a banner, the detected
/// environment, a timing): not about the units, and the timing changes
/// from run to run.
pub(crate) fn is_run_noise(line: &str) -> bool {
    (line.starts_with("systemd ") && line.contains(" running in test system mode"))
        || line.starts_with("Detected virtualization ")
        || line.starts_with("Detected architecture ")
        || line.starts_with("Failed to open libbpf")
        || line.starts_with("Loaded units and determined initial transaction in ")
}

/// What systemd printed for one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitDump {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) lines: Vec<(String, String)>,
    pub(crate) log: Vec<LogLine>,
}

impl UnitDump {
    /// The name this unit was asked for by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The unit's id as the dump names it (differs from [`name`](Self::name)
    /// when that is an alias).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every `Key: value` line in dump order, dependency lines on the
    /// oracle's batch targets left out. Lines of a sub-block are keyed
    /// `Header.Key` (`ExecStart.Command Line`).
    pub fn lines(&self) -> &[(String, String)] {
        &self.lines
    }

    /// The value of the first line with `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The values of every line with `key`, in dump order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The load state (`Unit Load State:`).
    pub fn load_state(&self) -> LoadState {
        LoadState::parse(self.get("Unit Load State").unwrap_or_default())
    }

    /// The fragment systemd loaded (`Fragment Path:`).
    pub fn fragment_path(&self) -> Option<&str> {
        self.get("Fragment Path")
    }

    /// The drop-ins systemd read, in the order it applied them
    /// (`DropIn Path:`).
    pub fn dropin_paths(&self) -> Vec<&str> {
        self.all("DropIn Path")
    }

    /// The log lines about this unit: those of its systemd call that name
    /// its fragment or one of its drop-ins (`FILE:LINE: …`), or the unit
    /// itself (`UNIT: …`), in the order logged.
    pub fn log(&self) -> &[LogLine] {
        &self.log
    }

    /// The lines with set-valued keys put in order: runs of
    /// [`SET_LINE_KEYS`] lines sorted by value, the words of
    /// [`SET_WORD_KEYS`] lines sorted (a leading `~` stays in front).
    /// Everything else keeps systemd's order. Compare these, never the raw
    /// lines, which print sets in hash order.
    pub fn normalized(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::with_capacity(self.lines.len());
        let mut run_start = 0;
        for (key, value) in &self.lines {
            let value = if SET_WORD_KEYS.contains(&key.as_str()) {
                sort_words(value)
            } else {
                value.clone()
            };
            let continues_run = out.last().is_some_and(|(k, _)| k == key);
            if !continues_run {
                run_start = out.len();
            }
            out.push((key.clone(), value));
            if SET_LINE_KEYS.contains(&key.as_str()) {
                out[run_start..].sort();
            }
        }
        out
    }
}

/// The words of a one-line set, sorted; a leading `~` (a deny list) stays
/// in front.
pub fn sort_words(value: &str) -> String {
    let (tilde, rest) = match value.strip_prefix('~') {
        Some(rest) => ("~", rest),
        None => ("", value),
    };
    let mut words: Vec<&str> = rest.split_whitespace().collect();
    words.sort_unstable();
    format!("{tilde}{}", words.join(" "))
}

/// One unit's block before it is matched to a request.
#[derive(Debug, Default)]
pub(crate) struct Block {
    pub(crate) aliases: Vec<String>,
    pub(crate) lines: Vec<(String, String)>,
}

/// Splits one call's stdout into unit blocks by id.
pub(crate) fn parse_units(text: &str) -> BTreeMap<String, Block> {
    const UNIT: &str = "\t\u{2192} Unit ";
    let mut blocks: BTreeMap<String, Block> = BTreeMap::new();
    // The block being read.
    let mut current: Option<(String, Block)> = None;
    // The sub-block header of the lines being read, and whether it is a
    // job (left out).
    let mut header: Option<String> = None;
    let mut in_job = false;
    let body = match text.split_once("-> By units:\n") {
        Some((_, body)) => body,
        None => return blocks,
    };
    let body = body.split_once("\n-> By jobs:").map_or(body, |(b, _)| b);
    for line in body.split('\n') {
        if let Some(id) = line.strip_prefix(UNIT).and_then(|l| l.strip_suffix(':')) {
            if let Some((id, block)) = current.take() {
                blocks.insert(id, block);
            }
            current = Some((id.to_owned(), Block::default()));
            header = None;
            in_job = false;
            continue;
        }
        let Some((_, block)) = current.as_mut() else {
            continue;
        };
        if let Some(content) = line.strip_prefix("\t\t") {
            if let Some(deeper) = content.strip_prefix('\t') {
                if in_job {
                    continue;
                }
                let (key, value) = split_line(deeper.trim_start_matches('\t'));
                let key = match &header {
                    Some(h) => {
                        let mut k = String::with_capacity(h.len() + 1 + key.len());
                        k.push_str(h);
                        k.push('.');
                        k.push_str(key);
                        k
                    }
                    None => key.to_owned(),
                };
                block.lines.push((key, value.to_owned()));
                continue;
            }
            if content.starts_with("-> Job ") {
                in_job = true;
                header = None;
                continue;
            }
            in_job = false;
            if let Some(h) = content
                .strip_prefix("\u{2192} ")
                .and_then(|h| h.strip_suffix(':'))
            {
                header = Some(h.to_owned());
                continue;
            }
            header = None;
            let (key, value) = split_line(content);
            if key == "Alias" {
                block.aliases.push(value.to_owned());
            }
            if !value.starts_with(BATCH_PREFIX) {
                block.lines.push((key.to_owned(), value.to_owned()));
            }
        } else if !line.is_empty() {
            // A value with a line break in it: its next line.
            if let Some((_, value)) = block.lines.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        }
    }
    if let Some((id, block)) = current {
        blocks.insert(id, block);
    }
    blocks
}

fn split_line(content: &str) -> (&str, &str) {
    match content.split_once(':') {
        Some((key, value)) => (key, value.strip_prefix(' ').unwrap_or(value)),
        None => (content, ""),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const SAMPLE: &str = "-> By units:\n\
        \t\u{2192} Unit a.service:\n\
        \t\tAlias: b.service\n\
        \t\tDescription: A\n\
        \t\tUnit Load State: loaded\n\
        \t\tAfter: z.service (origin-file)\n\
        \t\tAfter: left4me-oracle-batch-0.target (origin-file)\n\
        \t\tAfter: m.service (origin-file)\n\
        \t\tBefore: c.service (origin-file)\n\
        \t\tSystemCallFilter: ~write read\n\
        \t\tEnvironment: A=1\n\
        2\n\
        \t\t\u{2192} ExecStart:\n\
        \t\t\tCommand Line: /bin/true\n\
        \t\t\tCommand Line: /bin/false\n\
        \t\tAllowedCPUs: \n\
        \t\t-> Job 1:\n\
        \t\t\tAction: a.service -> start\n\
        \t\u{2192} Unit c.service:\n\
        \t\tUnit Load State: not-found\n\
        -> By jobs:\n\
        \t-> Job 1:\n";

    #[test]
    fn blocks_lines_and_sub_blocks() {
        let blocks = parse_units(SAMPLE);
        assert_eq!(
            blocks.keys().collect::<Vec<_>>(),
            ["a.service", "c.service"]
        );
        let a = &blocks["a.service"];
        assert_eq!(a.aliases, ["b.service"]);
        let keys: Vec<&str> = a.lines.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "Alias",
                "Description",
                "Unit Load State",
                "After",
                "After",
                "Before",
                "SystemCallFilter",
                "Environment",
                "ExecStart.Command Line",
                "ExecStart.Command Line",
                "AllowedCPUs"
            ]
        );
        assert_eq!(a.lines[7].1, "A=1\n2");
        assert_eq!(a.lines[10].1, "");
    }

    #[test]
    fn normalized_sorts_sets_only() {
        let blocks = parse_units(SAMPLE);
        let a = UnitDump {
            name: "a.service".into(),
            id: "a.service".into(),
            lines: blocks["a.service"].lines.clone(),
            log: vec![],
        };
        let n = a.normalized();
        assert_eq!(n[3], ("After".into(), "m.service (origin-file)".into()));
        assert_eq!(n[4], ("After".into(), "z.service (origin-file)".into()));
        assert_eq!(n[6], ("SystemCallFilter".into(), "~read write".into()));
        assert_eq!(a.lines()[3].1, "z.service (origin-file)");
        assert_eq!(a.load_state(), LoadState::Loaded);
    }

    #[test]
    fn log_lines() {
        let l = LogLine::parse("/etc/systemd/system/a.service:12: Unknown key 'X', ignoring.");
        assert_eq!(l.file.as_deref(), Some("/etc/systemd/system/a.service"));
        assert_eq!(l.line, Some(12));
        assert_eq!(l.message, "Unknown key 'X', ignoring.");
        let l = LogLine::parse("/a:b:3:x: 7: m");
        assert_eq!((l.file.as_deref(), l.line), (None, None));
        let l = LogLine::parse("a.service: Failed to x: y");
        assert_eq!(l.unit.as_deref(), Some("a.service"));
        assert_eq!(l.message, "Failed to x: y");
        assert_eq!(LogLine::parse("Reached target: x").unit, None);
    }
}
