//! What the command line's shell integration needs beyond its argument
//! parser: the man pages' sections that are not about options (exit
//! status, environment, files, examples) and the repair of the generated
//! bash completion script.
//!
//! ```
//! use left4me_hardening::shell;
//!
//! let script = "cmd=\"left4me__harden__subcmd__render\"\ncase \"${cmd}\" in\n    left4me__subcmd__harden__subcmd__render)\n";
//! let fixed = shell::fix_bash(script, "left4me-harden");
//! assert!(fixed.contains("    left4me__harden__subcmd__render)\n"));
//! assert!(!fixed.contains("left4me__subcmd__harden"));
//!
//! let diff = shell::man_sections(Some("diff"));
//! let titles: Vec<&str> = diff.iter().map(|s| s.title).collect();
//! assert_eq!(titles, ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"]);
//! # Ok::<(), left4me_hardening::Error>(())
//! ```

/// The default host configuration: read when neither `--config`,
/// `--no-config` nor [`CONFIG_ENV`] says otherwise.
pub const DEFAULT_CONFIG: &str = "/etc/left4me-harden/host.toml";

/// The environment variable naming the host configuration.
pub const CONFIG_ENV: &str = "LEFT4ME_HARDEN_CONFIG";

/// The profile names, for completion and help.
pub fn profiles() -> Vec<String> {
    crate::ProfileKind::ALL
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The workload trait names, for completion and help.
pub fn traits() -> Vec<String> {
    crate::Trait::names()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// What `explain` takes, for completion: see [`crate::explain::subjects`].
pub fn subjects() -> Vec<String> {
    crate::explain::subjects()
}

/// The completion script of `cmd` for `shell`, for the binary named as
/// the command (bash's repaired, see [`fix_bash`]).
pub fn completion(shell: clap_complete::Shell, cmd: &mut clap::Command) -> String {
    let bin = cmd.get_name().to_owned();
    let bin = bin.as_str();
    let mut text = Vec::new();
    clap_complete::generate(shell, cmd, bin, &mut text);
    let text = String::from_utf8_lossy(&text).into_owned();
    match shell {
        clap_complete::Shell::Bash => fix_bash(&text, bin),
        clap_complete::Shell::Fish => text + &fish_positionals(cmd),
        _ => text,
    }
}

/// clap_complete's fish script completes option values but not the
/// values of positional arguments (`render <TAB>`: the profiles); these
/// lines add them, one `complete` per subcommand positional that lists
/// its values, under the script's own subcommand condition.
fn fish_positionals(cmd: &mut clap::Command) -> String {
    cmd.build();
    let bin = cmd.get_name().to_owned();
    let func = format!("__fish_{}_using_subcommand", bin.replace('-', "_"));
    let mut out = String::new();
    for sub in cmd.get_subcommands() {
        for arg in sub.get_positionals() {
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().replace(['\\', '"', '$'], ""))
                .collect();
            if !values.is_empty() {
                out.push_str(&format!(
                    "complete -c {bin} -n \"{func} {}\" -f -a \"{}\"\n",
                    sub.get_name(),
                    values.join(" ")
                ));
            }
        }
    }
    out
}

/// The man page of `cmd`, or of its subcommand `sub`: clap's sections,
/// then [`man_roff`]'s, then the version. A subcommand's page is named
/// `BIN-SUB`, as the main page's list of subcommands names it; a `sub`
/// that is not a (visible) subcommand is an error naming it.
pub fn man_page(cmd: &clap::Command, sub: Option<&str>) -> crate::Result<Vec<u8>> {
    let mut cmd = cmd.clone();
    cmd.build();
    let bin = cmd.get_name().to_owned();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    let subs = subcommands(&cmd);
    let page = match sub {
        None => cmd,
        Some(s) => {
            let found = cmd
                .get_subcommands()
                .find(|c| c.get_name() == s && !c.is_hide_set());
            let Some(c) = found else {
                let hint = crate::suggest::hint(s, subs.iter().map(String::as_str));
                return Err(crate::Error::Input(format!("no subcommand {s:?}{hint}")));
            };
            let name = format!("{bin}-{s}");
            c.clone()
                .name(name.clone())
                .display_name(name)
                .bin_name(format!("{bin} {s}"))
                .version(version)
        }
    };
    // Our own pages (each exists: man_pages writes them all), then
    // systemd's that the tool follows.
    let mut see_also: Vec<String> = match sub {
        None => subs.iter().map(|s| format!("{bin}-{s}(1)")).collect(),
        Some(_) => vec![format!("{bin}(1)")],
    };
    see_also.extend(["systemd.exec(5)", "systemd-analyze(1)", "sysctl.d(5)"].map(str::to_owned));
    let man = clap_mangen::Man::new(page);
    let mut text = Vec::new();
    render(&man, sub, &see_also, &mut text)
        .map_err(|e| crate::Error::Input(format!("man page: {e}")))?;
    Ok(text)
}

fn render(
    man: &clap_mangen::Man,
    sub: Option<&str>,
    see_also: &[String],
    text: &mut Vec<u8>,
) -> std::io::Result<()> {
    man.render_title(text)?;
    man.render_name_section(text)?;
    man.render_synopsis_section(text)?;
    man.render_description_section(text)?;
    man.render_options_section(text)?;
    man.render_subcommands_section(text)?;
    text.extend(man_roff(sub).bytes());
    text.extend(see_also_roff(see_also).bytes());
    man.render_version_section(text)
}

/// Every man page of `cmd` (`BIN.1`, then `BIN-SUB.1` for each visible
/// subcommand), as file name and roff.
pub fn man_pages(cmd: &clap::Command) -> crate::Result<Vec<(String, Vec<u8>)>> {
    let bin = cmd.get_name().to_owned();
    let mut pages = vec![(format!("{bin}.1"), man_page(cmd, None)?)];
    for sub in subcommands(cmd) {
        pages.push((format!("{bin}-{sub}.1"), man_page(cmd, Some(&sub))?));
    }
    Ok(pages)
}

/// The subcommands of `cmd` a man page exists for.
pub fn subcommands(cmd: &clap::Command) -> Vec<String> {
    let mut cmd = cmd.clone();
    cmd.build();
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_owned())
        .collect()
}

/// The bash completion script clap_complete generates names a command by
/// joining its words with `__subcmd__` after replacing each dash of the
/// binary name with `__`, but spells the `case` arms with each dash
/// replaced by `__subcmd__`, so below the top level no arm matches and
/// nothing is completed. This spells the arms as the commands are named.
pub fn fix_bash(script: &str, bin: &str) -> String {
    let wrong = bin.replace('-', "__subcmd__");
    let right = bin.replace('-', "__");
    if wrong == right {
        return script.to_owned();
    }
    script
        .lines()
        .map(|line| {
            let arm = line.trim_start();
            if arm.starts_with(&wrong) && arm.ends_with(')') {
                line.replacen(&wrong, &right, 1)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if script.ends_with('\n') { "\n" } else { "" }
}

/// A man page section: its title and its paragraphs, plain text (the
/// caller escapes them for roff); a paragraph whose first line starts with
/// `$ ` is an example command, the lines after it what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The section heading.
    pub title: &'static str,
    /// The paragraphs.
    pub paragraphs: Vec<String>,
}

/// The exit statuses of a subcommand (`None`: the main page).
fn exit_status(sub: Option<&str>) -> Vec<String> {
    let one = match sub {
        Some("write") => Some("with --check: a file would change"),
        Some("diff") => Some("what is installed differs from what would be generated"),
        Some("lint") => Some("an error-level finding (with --strict, a warning too)"),
        Some("check") => Some("an attack vector is reachable"),
        Some("triage") => Some("a denial or an unreadable record"),
        Some("score") => Some("a unit not scored or above --threshold"),
        Some(_) => None,
        None => Some(
            "a difference (write --check, diff), a finding (lint, triage), a reachable vector (check) or a unit over the threshold (score)",
        ),
    };
    let mut out = vec!["0: success; nothing differs, nothing found.".to_owned()];
    if let Some(one) = one {
        out.push(format!("1: {one}."));
    }
    out.push(
        "2: trouble: bad input (a value is named in the error), a file that cannot be read or written; nothing is written."
            .to_owned(),
    );
    out.push("141: standard output was closed (as a process killed by SIGPIPE).".to_owned());
    out
}

/// Examples for a subcommand (`None`: the main page).
fn examples(sub: Option<&str>) -> Vec<String> {
    let list: &[&str] = match sub {
        Some("render") => &[
            "$ left4me-harden render server --instance 1\nThe drop-in of server instance 1, %i resolved.",
            "$ left4me-harden render web --no-config --no-comments\nThe standard web profile, without provenance comments.",
        ],
        Some("write") => &[
            "$ left4me-harden write --check --instance 1\nExit 1 if any file would change; writes nothing.",
            "$ left4me-harden write --instance 1 --instance 2 && systemctl daemon-reload\nWrite every file, then have systemd read the drop-ins.",
        ],
        Some("diff") => &[
            "$ left4me-harden diff --instance 1\nThe settings systemd reads from what is installed against what would be generated.",
            "$ systemctl show left4me-server@1.service | left4me-harden diff --show - server --instance 1\nAgainst what the running systemd says.",
        ],
        Some("explain") => &[
            "$ left4me-harden explain PrivatePIDs\nThe directive in each profile, with its provenance.",
            "$ left4me-harden explain kernel.yama.ptrace_scope\nThe sysctl key the sysctl profile sets.",
        ],
        Some("lint") => &[
            "$ left4me-harden lint --root /\nEvery installed unit of the profiles, as systemd 257 loads it.",
            "$ left4me-harden lint --root / left4me-server@1.service\nOne installed unit.",
            "$ left4me-harden lint my.conf --unit ./left4me-server@.service\nA hand-written drop-in over a base unit file.",
        ],
        Some("list") => {
            &["$ left4me-harden list --instance 1\nThe profiles and the files each writes."]
        }
        Some("check") => &[
            "$ sudo left4me-harden check --instance 1 --instance 2\nProbe the attack vectors on the running servers.",
        ],
        Some("triage") => &[
            "$ dmesg | left4me-harden triage --root / -\nName the directive behind each SECCOMP kill.",
        ],
        Some("score") => &[
            "$ left4me-harden score --summary\nThe profiles' exposure, as systemd-analyze security.",
        ],
        Some("completions") => &[
            "$ left4me-harden completions bash > /etc/bash_completion.d/left4me-harden\nInstall bash completion.",
        ],
        Some("man") => {
            &["$ left4me-harden man --out-dir /usr/share/man/man1\nWrite every man page."]
        }
        Some(_) => &["$ left4me-harden help diff\nThe help of one subcommand."],
        None => &[
            "$ left4me-harden write --check\nWould anything change? (exit 1 if so)",
            "$ left4me-harden diff\nWhat differs, setting by setting.",
            "$ left4me-harden write && systemctl daemon-reload && sysctl --system\nWrite, then have systemd and the kernel read the files.",
        ],
    };
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The sections of the page of `sub` (`None`: the main page) that clap
/// does not produce: EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES.
pub fn man_sections(sub: Option<&str>) -> Vec<Section> {
    let environment = vec![
        format!(
            "{CONFIG_ENV}: the host configuration to read instead of {DEFAULT_CONFIG} (--config and --no-config win over it)."
        ),
        "NO_COLOR: when set to a non-empty value, no colour (as --color never), unless --color always.".to_owned(),
        "TERM: when unset or dumb, no colour unless --color always.".to_owned(),
    ];
    let files = vec![
        format!(
            "{DEFAULT_CONFIG}: the host configuration (see docs/host-config.md), read from the running system even with --root; its path and a SHA-256 of its content are in every generated file's header."
        ),
        "/etc/systemd/system/left4me-server@.service.d/10-hardening.conf, /etc/systemd/system/left4me-server@N.service.d/10-hardening.conf, /etc/systemd/system/left4me-web.service.d/10-hardening.conf: the drop-ins (names as in the host configuration's layout).".to_owned(),
        "/etc/sysctl.d/99-left4me-ptrace.conf: the sysctl file.".to_owned(),
    ];
    vec![
        Section {
            title: "EXIT STATUS",
            paragraphs: exit_status(sub),
        },
        Section {
            title: "ENVIRONMENT",
            paragraphs: environment,
        },
        Section {
            title: "FILES",
            paragraphs: files,
        },
        Section {
            title: "EXAMPLES",
            paragraphs: examples(sub),
        },
    ]
}

/// Escapes text for roff: a backslash written `\e`, a dash `\-`, a line that would start
/// with a control character (`.` or `'`) prefixed with `\&`.
pub fn roff_escape(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l.replace('\\', "\\e").replace('-', "\\-");
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A SEE ALSO section naming `pages` (`name(section)`), each in bold.
pub fn see_also_roff(pages: &[String]) -> String {
    let names: Vec<String> = pages
        .iter()
        .map(|p| match p.split_once('(') {
            Some((name, rest)) => format!("\\fB{}\\fR({rest}", roff_escape(name)),
            None => roff_escape(p),
        })
        .collect();
    format!(".SH \"SEE ALSO\"\n{}\n", names.join(",\n"))
}

/// The sections as roff, each paragraph `.TP`-tagged for EXIT STATUS,
/// ENVIRONMENT and FILES (the tag is the text before the first `: `), an
/// example's command in bold.
pub fn man_roff(sub: Option<&str>) -> String {
    let mut out = String::new();
    for s in man_sections(sub) {
        if s.paragraphs.is_empty() {
            continue;
        }
        out.push_str(&format!(".SH \"{}\"\n", s.title));
        for p in &s.paragraphs {
            if let Some(rest) = p.strip_prefix("$ ") {
                let (cmd, what) = rest.split_once('\n').unwrap_or((rest, ""));
                out.push_str(&format!(
                    ".PP\n\\fB{}\\fR\n.RS 4\n{}\n.RE\n",
                    roff_escape(cmd),
                    roff_escape(what)
                ));
            } else if let Some((tag, what)) = p.split_once(": ") {
                out.push_str(&format!(
                    ".TP\n\\fB{}\\fR\n{}\n",
                    roff_escape(tag),
                    roff_escape(what)
                ));
            } else {
                out.push_str(&format!(".PP\n{}\n", roff_escape(p)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_the_four_sections_and_examples() {
        for sub in [None, Some("render"), Some("diff"), Some("help")] {
            let roff = man_roff(sub);
            for title in ["EXIT STATUS", "ENVIRONMENT", "FILES"] {
                assert!(
                    roff.contains(&format!(".SH \"{title}\"")),
                    "{sub:?}: {title}"
                );
            }
        }
        assert!(man_roff(Some("diff")).contains(".SH \"EXAMPLES\""));
        assert!(man_roff(Some("diff")).contains("\\fBleft4me\\-harden diff \\-\\-instance 1\\fR"));
    }

    #[test]
    fn see_also_names_each_page_in_bold() {
        let roff = see_also_roff(&["left4me-harden(1)".to_owned(), "systemd.exec(5)".to_owned()]);
        assert_eq!(
            roff,
            ".SH \"SEE ALSO\"\n\\fBleft4me\\-harden\\fR(1),\n\\fBsystemd.exec\\fR(5)\n"
        );
    }

    #[test]
    fn a_line_starting_with_a_dot_is_escaped() {
        assert_eq!(roff_escape(".x\n'y\nz\\"), "\\&.x\n\\&'y\nz\\e");
    }

    #[test]
    fn a_name_without_a_dash_is_left_alone() {
        assert_eq!(fix_bash("tool__subcmd__x)\n", "tool"), "tool__subcmd__x)\n");
    }
}
