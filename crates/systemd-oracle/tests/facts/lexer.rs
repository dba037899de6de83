//! systemd's unit-file lexer (`config_parse`, src/shared/conf-parser.c):
//! continuations, comments, whitespace, line ends, NUL, BOM, UTF-8,
//! sections, line length, line numbers, and the exact warnings.

use systemd_oracle::{LoadState, Tree, UnitDump};

use crate::{SERVICE, messages, unit};

const DIR: &str = "/etc/systemd/system";
/// `LONG_LINE_MAX` (src/basic/fileio.h): 1 MiB.
const MIB: usize = 1024 * 1024;

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let h = |rest: &[u8]| -> Vec<u8> {
        let mut v = b"[Unit]\n".to_vec();
        v.extend_from_slice(rest);
        v.extend_from_slice(SERVICE.as_bytes());
        v
    };
    let long = |n: usize| -> Vec<u8> {
        let mut line = b"Description=".to_vec();
        line.resize(n, b'x');
        line.push(b'\n');
        h(&line)
    };
    let long_cont = |total: usize| -> Vec<u8> {
        // First line, its backslash becoming a space, plus the second
        // line: `total` bytes joined.
        let mut first = b"Description=".to_vec();
        first.resize(MIB / 2, b'x');
        let second = total - first.len() - 1;
        first.extend_from_slice(b"\\\n");
        first.resize(first.len() + second, b'y');
        first.push(b'\n');
        h(&first)
    };
    vec![
        ("cont", h(b"Description=a \\\nb\n")),
        ("cont-nospace", h(b"Description=a\\\nb\n")),
        ("cont-even", h(b"Description=a \\\\\nDocumentation=man:x\n")),
        ("cont-odd3", h(b"Description=a \\\\\\\nb\n")),
        (
            "cont-comment",
            h(b"Description=a \\\n# comment\n; semi\nb\n"),
        ),
        ("cont-blank", h(b"Description=a \\\n\nb\n")),
        ("cont-spaces", h(b"Description=   \\\n   b\n")),
        ("cont-eof", {
            let mut v = SERVICE.as_bytes().to_vec();
            v.extend_from_slice(b"[Unit]\nBogus=a \\");
            v
        }),
        ("comment-backslash", h(b"# comment \\\nDescription=after\n")),
        (
            "comment-indented",
            h(b"   # indented\n\t;x\nDescription=ok\n"),
        ),
        (
            "semicolon",
            h(b";Description=no\nDescription=yes ; not a comment\n"),
        ),
        ("hash-inline", h(b"Description=yes # not a comment\n")),
        ("nbsp", h("Description=\u{a0}x\u{a0}\n".as_bytes())),
        ("emsp", h("Description=\u{2003}x\u{2003}\n".as_bytes())),
        ("tabs", h(b"Description=\t x \t\n")),
        ("key-ws", h(b"   Description\t=\tx\n")),
        ("cr", h(b"Description=a\rb\n")),
        (
            "crlf",
            b"[Unit]\r\nA1=1\r\nA2=2\r\n[Service]\r\nExecStart=/bin/true\r\n".to_vec(),
        ),
        ("lfcr", h(b"\rA1=1\n\rA2=2\n")),
        (
            "cr-only",
            b"[Unit]\rA1=1\rA2=2\r[Service]\rExecStart=/bin/true\r".to_vec(),
        ),
        ("nul", h(b"Description=a\0b\n")),
        ("nul-lines", h(b"A1=1\0\0A2=2\n")),
        ("bom", {
            let mut v = b"\xef\xbb\xbf".to_vec();
            v.extend_from_slice(&h(b"Description=bom\n"));
            v
        }),
        ("bom-line2", h(b"\xef\xbb\xbfDescription=bom on line 2\n")),
        ("bom-twice", {
            let mut v = b"\xef\xbb\xbf".to_vec();
            v.extend_from_slice(&h(b"\xef\xbb\xbfDescription=x\n"));
            v
        }),
        ("utf8-value", h(b"Description=a\xffb\n")),
        ("utf8-comment", h(b"# a\xffb\nDescription=ok\n")),
        ("utf8-key", h(b"Descr\xffiption=x\n")),
        ("no-equals", h(b"Description\n")),
        ("empty-key", h(b"=value\n")),
        ("key-space", h(b"Bad Key=1\nDescription = spaced \n")),
        ("key-case", h(b"description=x\n")),
        (
            "unknown-section",
            h(b"Description=x\n[Foo]\nA=1\n[X-Foo]\nB=1\n"),
        ),
        ("before-section", {
            let mut v = b"Description=x\n".to_vec();
            v.extend_from_slice(&h(b""));
            v
        }),
        ("section-trailing", {
            let mut v = b"[Unit] trailing\nDescription=x\n".to_vec();
            v.extend_from_slice(SERVICE.as_bytes());
            v
        }),
        ("section-spaces", {
            let mut v = b"[ Unit ]\nDescription=x\n".to_vec();
            v.extend_from_slice(SERVICE.as_bytes());
            v
        }),
        ("section-empty", {
            let mut v = b"[]\nDescription=x\n".to_vec();
            v.extend_from_slice(SERVICE.as_bytes());
            v
        }),
        ("section-control", {
            let mut v = b"[Un\x01it]\nDescription=x\n".to_vec();
            v.extend_from_slice(SERVICE.as_bytes());
            v
        }),
        ("quoted", h(b"Description=\"quoted value\"\n")),
        ("last-wins", h(b"Description=first\nDescription=second\n")),
        ("empty-resets", h(b"Description=first\nDescription=\n")),
        (
            "line-numbers",
            h(b"Description=a \\\nb \\\nc\nBogus=1\nAlsoBogus=2 \\\nz\n"),
        ),
        ("long-ok", long(MIB - 1)),
        ("long-too", long(MIB)),
        ("long-cont-ok", long_cont(MIB)),
        ("long-cont-too", long_cont(MIB + 1)),
        ("dropin-long", h(b"Description=dropin with a long line\n")),
        ("dropin-utf8", h(b"Description=dropin with invalid UTF-8\n")),
    ]
}

pub(crate) fn stage(t: &mut Tree) -> Vec<String> {
    let mut units = Vec::new();
    for (name, bytes) in cases() {
        t.file(&format!("{DIR}/lx-{name}.service"), bytes);
        units.push(format!("lx-{name}.service"));
    }
    let mut long = b"[Unit]\nDocumentation=man:before\nDocumentation=man:".to_vec();
    long.resize(long.len() + MIB, b'x');
    long.extend_from_slice(b"\nDocumentation=man:after\n");
    t.file(&format!("{DIR}/lx-dropin-long.service.d/10.conf"), long)
        .file(
            &format!("{DIR}/lx-dropin-long.service.d/20.conf"),
            "[Unit]\nDocumentation=man:next-file\n",
        )
        .file(
            &format!("{DIR}/lx-dropin-utf8.service.d/10.conf"),
            b"[Unit]\nDocumentation=man:before\nDescription=a\xffb\nDocumentation=man:after\n",
        )
        .file(
            &format!("{DIR}/lx-dropin-utf8.service.d/20.conf"),
            "[Unit]\nDocumentation=man:next-file\n",
        );
    units
}

fn lx(name: &str) -> &'static UnitDump {
    unit(&format!("lx-{name}.service"))
}

fn log(name: &str) -> Vec<String> {
    messages(&format!("{DIR}/lx-{name}.service"))
}

fn description(name: &str) -> Option<&'static str> {
    lx(name).get("Description")
}

const NONE: Vec<String> = Vec::new();

#[test]
fn a_trailing_backslash_continues_the_line_as_a_space() {
    assert_eq!(description("cont"), Some("a  b"));
    assert_eq!(description("cont-nospace"), Some("a b"));
    assert_eq!(description("cont-spaces"), Some("b"));
    // An even number of backslashes escapes itself: no continuation, the
    // backslashes stay.
    assert_eq!(description("cont-even"), Some("a \\\\"));
    assert_eq!(lx("cont-even").get("Documentation"), Some("man:x"));
    assert_eq!(description("cont-odd3"), Some("a \\\\ b"));
    for name in ["cont", "cont-even", "cont-odd3"] {
        assert_eq!(log(name), NONE, "{name}");
    }
}

#[test]
fn comment_lines_inside_a_continuation_are_skipped_an_empty_line_ends_it() {
    assert_eq!(description("cont-comment"), Some("a  b"));
    assert_eq!(description("cont-blank"), Some("a"));
    assert_eq!(log("cont-blank"), ["4: Missing '=', ignoring line."]);
    // A comment line never continues.
    assert_eq!(description("comment-backslash"), Some("after"));
}

#[test]
fn a_file_ending_inside_a_continuation_is_parsed_one_line_past_its_end() {
    assert_eq!(
        log("cont-eof"),
        ["5: Unknown key 'Bogus' in section [Unit], ignoring."]
    );
}

#[test]
fn comments_start_a_line_with_hash_or_semicolon_only() {
    assert_eq!(description("comment-indented"), Some("ok"));
    assert_eq!(description("semicolon"), Some("yes ; not a comment"));
    assert_eq!(description("hash-inline"), Some("yes # not a comment"));
    assert_eq!(description("quoted"), Some("\"quoted value\""));
}

#[test]
fn only_ascii_whitespace_is_stripped() {
    assert_eq!(description("tabs"), Some("x"));
    assert_eq!(description("key-ws"), Some("x"));
    assert_eq!(description("nbsp"), Some("\u{a0}x\u{a0}"));
    assert_eq!(description("emsp"), Some("\u{2003}x\u{2003}"));
}

#[test]
fn cr_lf_crlf_lfcr_and_nul_each_end_a_line() {
    // A lone CR ends the line: "b" is line 3.
    assert_eq!(description("cr"), Some("a"));
    assert_eq!(log("cr"), ["3: Missing '=', ignoring line."]);
    let unknown = |n: u32, k: &str| format!("{n}: Unknown key '{k}' in section [Unit], ignoring.");
    // CRLF and LFCR are one line end each; CR alone is one too.
    for name in ["crlf", "lfcr", "cr-only"] {
        assert_eq!(log(name), [unknown(2, "A1"), unknown(3, "A2")], "{name}");
        assert_eq!(lx(name).load_state(), LoadState::Loaded, "{name}");
    }
    // NUL ends a line too; two NULs make an empty line.
    assert_eq!(description("nul"), Some("a"));
    assert_eq!(log("nul"), ["3: Missing '=', ignoring line."]);
    assert_eq!(log("nul-lines"), [unknown(2, "A1"), unknown(4, "A2")]);
}

#[test]
fn the_first_utf8_bom_is_skipped_wherever_it_is() {
    assert_eq!(description("bom"), Some("bom"));
    assert_eq!(description("bom-line2"), Some("bom on line 2"));
    assert_eq!(
        log("bom-twice"),
        ["2: Unknown key '\u{feff}Description' in section [Unit], ignoring."]
    );
}

#[test]
fn invalid_utf8_fails_a_fragment_but_only_stops_a_dropin() {
    let u = lx("utf8-value");
    assert_eq!(u.load_state(), LoadState::Error);
    assert_eq!(u.get("Load Error Code"), Some("Invalid argument"));
    assert_eq!(
        log("utf8-value"),
        ["2: String is not UTF-8 clean, ignoring assignment: Description=a\u{fffd}b"]
    );
    assert_eq!(lx("utf8-key").load_state(), LoadState::Error);
    // In a comment it does not matter.
    assert_eq!(description("utf8-comment"), Some("ok"));
    // In a drop-in: the lines before it apply, the rest of that file does
    // not, the next file does, and the unit loads.
    let u = lx("dropin-utf8");
    assert_eq!(u.load_state(), LoadState::Loaded);
    assert_eq!(u.all("Documentation"), ["man:before", "man:next-file"]);
    assert_eq!(
        messages(&format!("{DIR}/lx-dropin-utf8.service.d/10.conf")),
        ["3: String is not UTF-8 clean, ignoring assignment: Description=a\u{fffd}b"]
    );
}

#[test]
fn malformed_assignments_are_skipped_with_a_warning() {
    assert_eq!(log("no-equals"), ["2: Missing '=', ignoring line."]);
    assert_eq!(
        log("empty-key"),
        ["2: Missing key name before '=', ignoring line."]
    );
    assert_eq!(
        log("key-space"),
        ["2: Unknown key 'Bad Key' in section [Unit], ignoring."]
    );
    assert_eq!(description("key-space"), Some("spaced"));
    assert_eq!(
        log("key-case"),
        ["2: Unknown key 'description' in section [Unit], ignoring."]
    );
    for name in ["no-equals", "empty-key", "key-space", "key-case"] {
        assert_eq!(lx(name).load_state(), LoadState::Loaded, "{name}");
    }
}

#[test]
fn sections_unknown_outside_and_malformed() {
    // Unknown sections warn once and swallow their keys; X- sections are
    // silent.
    assert_eq!(
        log("unknown-section"),
        ["3: Unknown section 'Foo'. Ignoring."]
    );
    assert_eq!(description("unknown-section"), Some("x"));
    assert_eq!(
        log("before-section"),
        ["1: Assignment outside of section. Ignoring."]
    );
    assert_eq!(
        description("before-section"),
        Some("lx-before-section.service")
    );
    assert_eq!(
        log("section-spaces"),
        ["1: Unknown section ' Unit '. Ignoring."]
    );
    assert_eq!(log("section-empty"), ["1: Unknown section ''. Ignoring."]);
    // Text after "]" or a control character fails the whole fragment.
    let u = lx("section-trailing");
    assert_eq!(u.load_state(), LoadState::Error);
    assert_eq!(u.get("Load Error Code"), Some("Bad message"));
    assert_eq!(
        log("section-trailing"),
        ["1: Invalid section header '[Unit] trailing'"]
    );
    assert_eq!(lx("section-control").load_state(), LoadState::Error);
    assert_eq!(
        log("section-control"),
        ["1: Bad characters in section header '[Un\u{1}it]'"]
    );
}

#[test]
fn the_last_assignment_wins_and_an_empty_one_resets() {
    assert_eq!(description("last-wins"), Some("second"));
    assert_eq!(description("empty-resets"), Some("lx-empty-resets.service"));
}

#[test]
fn a_continued_line_is_reported_at_its_last_physical_line() {
    assert_eq!(description("line-numbers"), Some("a  b  c"));
    assert_eq!(
        log("line-numbers"),
        [
            "5: Unknown key 'Bogus' in section [Unit], ignoring.",
            "7: Unknown key 'AlsoBogus' in section [Unit], ignoring.",
        ]
    );
}

#[test]
fn lines_and_joined_continuations_up_to_one_mib_minus_one_byte() {
    assert_eq!(lx("long-ok").load_state(), LoadState::Loaded);
    assert_eq!(description("long-ok").map(str::len), Some(MIB - 1 - 12));
    assert_eq!(lx("long-cont-ok").load_state(), LoadState::Loaded);
    for name in ["long-too", "long-cont-too"] {
        let u = lx(name);
        assert_eq!(u.load_state(), LoadState::Error, "{name}");
        assert_eq!(u.get("Load Error Code"), Some("No buffer space available"));
        // Silent at the default log level.
        assert_eq!(log(name), NONE, "{name}");
    }
    // In a drop-in the long line silently ends that file.
    let u = lx("dropin-long");
    assert_eq!(u.load_state(), LoadState::Loaded);
    assert_eq!(u.all("Documentation"), ["man:before", "man:next-file"]);
    assert_eq!(
        messages(&format!("{DIR}/lx-dropin-long.service.d/10.conf")),
        NONE
    );
}
