//! Unit tests of the scorer against outputs recorded from systemd 257
//! (`crates/dropin/tests/score/golden/`); the corpus test compares with
//! systemd itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::load::{LoadOptions, MemFs, load};

const UTF8: Glyphs = Glyphs {
    utf8: true,
    emoji: false,
};

fn golden(name: &str) -> String {
    let path = format!("{}/tests/score/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn unit(name: &str, text: &str) -> Loaded {
    let mut fs = MemFs::new();
    fs.file(&format!("/etc/systemd/system/{name}"), text);
    load(&fs, name, &LoadOptions::default())
}

fn scored(text: &str) -> Score {
    score(&unit("x.service", text)).unwrap()
}

#[test]
fn every_check_has_an_assessor() {
    for c in EXPOSURE_CHECKS {
        assert!(assess::assessor(c).is_some(), "{}", c.assess);
        if let Some(o) = c.offset {
            let e = Effective::new("x.service");
            let info = info::read("x.service", &e);
            assert!(info.flag(o).is_some(), "{} reads {o}", c.id);
        }
        assert!(!inputs_of(c.id).is_empty(), "{} lists no inputs", c.id);
    }
    assert_eq!(EXPOSURE_CHECKS.len(), 81);
    assert_eq!(EXPOSURE_CHECKS.iter().map(|c| c.weight).sum::<u64>(), 56460);
}

fn inputs_of(id: &str) -> &'static [&'static str] {
    diff::inputs(id)
}

#[test]
fn recorded_outputs_are_reproduced() {
    for name in ["bare.service", "demo.service"] {
        let text = golden(name);
        let s = score(&unit(name, &text)).unwrap();
        assert_eq!(
            s.render(Format::Text(UTF8)),
            golden(&format!("{name}.txt")),
            "{name}"
        );
        assert_eq!(
            s.render(Format::JsonShort),
            golden(&format!("{name}.short.json")),
            "{name}"
        );
        assert_eq!(
            s.render(Format::JsonPretty),
            golden(&format!("{name}.pretty.json")),
            "{name}"
        );
    }
}

#[test]
fn sums_and_levels_of_the_worked_examples() {
    let bare = scored("[Service]\nExecStart=/bin/true\n");
    assert_eq!(bare.exposure, 94);
    assert_eq!(bare.level().name, "UNSAFE");
    let points: u64 = bare.checks.iter().map(Check::badness_points).sum();
    let weights: u64 = bare
        .checks
        .iter()
        .filter(|c| c.applies())
        .map(|c| c.weight)
        .sum();
    assert_eq!((points, weights), (52510, 56160));
    let early = scored("[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n");
    let weights: u64 = early
        .checks
        .iter()
        .filter(|c| c.applies())
        .map(|c| c.weight)
        .sum();
    assert_eq!(weights, 52960);
    assert_eq!(
        early
            .check("ProtectSystem=")
            .unwrap()
            .description
            .as_deref(),
        Some("Service runs in special boot phase, option is not appropriate")
    );
    for (x, level) in [
        (0, "PERFECT"),
        (1, "SAFE"),
        (9, "SAFE"),
        (10, "OK"),
        (49, "OK"),
        (50, "MEDIUM"),
        (75, "EXPOSED"),
        (90, "UNSAFE"),
        (100, "DANGEROUS"),
    ] {
        assert_eq!(Level::of(x).name, level, "{x}");
    }
}

#[test]
fn implicit_adjustments_at_load() {
    let s = scored(
        "[Service]\nExecStart=/bin/true\nDynamicUser=yes\nProtectClock=yes\nDevicePolicy=closed\n",
    );
    let d = |id: &str| s.check(id).unwrap().clone();
    assert_eq!(d("ProtectSystem=").badness, Some(0));
    assert_eq!(d("ProtectHome=").badness, Some(5));
    assert_eq!(d("NoNewPrivileges=").badness, Some(0));
    assert_eq!(d("RemoveIPC=").badness, Some(0));
    assert_eq!(
        d("User=/DynamicUser=").description.as_deref(),
        Some("Service runs under a transient non-root user identity")
    );
    assert_eq!(
        d("DeviceAllow=").description.as_deref(),
        Some("Service has a device ACL with some special devices: char-rtc:r")
    );
    assert_eq!(d("CapabilityBoundingSet=~CAP_SYS_TIME").badness, Some(0));
    // Without a closed policy nor entries, ProtectClock= adds nothing.
    let open = scored("[Service]\nExecStart=/bin/true\nProtectClock=yes\n");
    assert_eq!(open.check("DeviceAllow=").unwrap().badness, Some(10));
    // Entries are listed newest first, implicit ones before them.
    let listed = scored(
        "[Service]\nExecStart=/bin/true\nDevicePolicy=strict\nDeviceAllow=/dev/null rw\n\
         DeviceAllow=char-pts\nDeviceAllow=/dev/x bogus\nProtectClock=yes\n",
    );
    assert_eq!(
        listed.check("DeviceAllow=").unwrap().description.as_deref(),
        Some(
            "Service has a device ACL with some special devices: char-rtc:r char-pts:rwm /dev/null:rw"
        )
    );
}

#[test]
fn refused_units_are_not_scored() {
    let mut fs = MemFs::new();
    fs.symlink("/etc/systemd/system/m.service", "/dev/null")
        .file("/dev/null", "");
    let masked = score(&load(&fs, "m.service", &LoadOptions::default()));
    assert_eq!(
        masked.unwrap_err().to_string(),
        "m.service: Unit m.service is masked."
    );
    for bad in [
        "User=a:b",
        "DynamicUser=maybe",
        "RootDirectory=relative",
        "SupplementaryGroups=ok 12345678901234567890",
        "Group=/x",
    ] {
        let u = unit(
            "x.service",
            &format!("[Service]\nExecStart=/bin/true\n{bad}\n"),
        );
        assert!(matches!(score(&u), Err(Error::Unscorable { .. })), "{bad}");
    }
}

#[test]
fn ignored_values_keep_the_one_before() {
    let s = scored(
        "[Service]\nExecStart=/bin/true\nNotifyAccess=all\nNotifyAccess=bogus\nPrivateNetwork=yes\nPrivateNetwork=perhaps\n",
    );
    assert_eq!(s.check("NotifyAccess=").unwrap().badness, Some(1));
    assert_eq!(s.check("PrivateNetwork=").unwrap().badness, Some(0));
}

#[test]
fn address_allow_lists_count_localhost_by_address() {
    let ip = |lines: &str| {
        scored(&format!("[Service]\nExecStart=/bin/true\n{lines}"))
            .check("IPAddressDeny=")
            .unwrap()
            .badness
    };
    assert_eq!(ip(""), Some(10));
    assert_eq!(ip("IPAddressDeny=0.0.0.0/0\n"), Some(10));
    assert_eq!(ip("IPAddressDeny=any\n"), Some(0));
    assert_eq!(
        ip("IPAddressDeny=0.0.0.0/0 ::/0\nIPAddressAllow=127.0.0.1/32\n"),
        Some(2)
    );
    assert_eq!(
        ip("IPAddressDeny=any\nIPAddressAllow=localhost 10.0.0.0/8\n"),
        Some(5)
    );
    assert_eq!(
        ip("IPAddressDeny=any\nIPAddressAllow=127.0.0.1/0\n"),
        Some(5)
    );
    assert_eq!(ip("IPAddressDeny=any\nIPAddressAllow=::1/64\n"), Some(5));
    assert_eq!(ip("IPAddressDeny=any\nIPAddressDeny=\n"), Some(10));
    assert_eq!(ip("IPIngressFilterPath=/sys/fs/bpf/x\n"), Some(0));
}

#[test]
fn threshold_and_exit_status() {
    let bare = scored("[Service]\nExecStart=/bin/true\n");
    assert!(!bare.exceeds(100));
    assert!(!bare.exceeds(94));
    assert!(bare.exceeds(93));
    assert_eq!(exit_status(&[Ok(bare.clone())], 100), 0);
    assert_eq!(exit_status(&[Ok(bare.clone())], 50), 1);
    let refused = Err(Error::Unscorable {
        unit: "m.service".into(),
        reason: "masked".into(),
    });
    assert_eq!(exit_status(&[Ok(bare), refused], 100), 1);
}

#[test]
fn glyphs_follow_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert_eq!(
        Glyphs::from_env(env(&[])),
        Glyphs {
            utf8: true,
            emoji: false
        }
    );
    assert_eq!(
        Glyphs::from_env(env(&[("LANG", "en_US.UTF-8"), ("TERM", "xterm")])),
        Glyphs {
            utf8: true,
            emoji: true
        }
    );
    assert_eq!(
        Glyphs::from_env(env(&[("LC_ALL", "de_DE.ISO-8859-1"), ("TERM", "xterm")])),
        Glyphs {
            utf8: false,
            emoji: false
        }
    );
    assert_eq!(
        Glyphs::from_env(env(&[("TERM", "linux"), ("SYSTEMD_EMOJI", "1")])),
        Glyphs {
            utf8: true,
            emoji: true
        }
    );
    let s = scored("[Service]\nExecStart=/bin/true\n");
    let ascii = s.render(Format::Text(Glyphs {
        utf8: false,
        emoji: false,
    }));
    assert!(ascii.ends_with("\n-> Overall exposure level for x.service: 9.4 UNSAFE :-{\n"));
    assert!(ascii.contains("\n- UMask= "));
    let emoji = s.render(Format::Text(Glyphs {
        utf8: true,
        emoji: true,
    }));
    assert!(emoji.ends_with(": 9.4 UNSAFE \u{1f628}\n"));
}

#[test]
fn widths_count_cells() {
    assert_eq!(render::console_width("abc"), 3);
    assert_eq!(render::console_width("\u{2026}"), 1);
    assert_eq!(render::console_width("\u{65e5}\u{672c}"), 4);
    assert_eq!(render::console_width("a\tb"), 10);
}

#[test]
fn json_strings_are_escaped_as_systemd_does() {
    let s = scored(
        "[Service]\nExecStart=/bin/true\nDevicePolicy=closed\nDeviceAllow=\"/dev/a\\\"b\"\n",
    );
    let json = s.render(Format::JsonShort);
    assert!(
        json.contains(
            r#""description":"Service has a device ACL with some special devices: /dev/a\"b:rwm""#
        ),
        "{json}"
    );
}

#[test]
fn moves_name_the_settings_that_differ() {
    let before = unit(
        "x.service",
        "[Service]\nExecStart=/bin/true\nProtectClock=yes\nUMask=0022\n",
    );
    let after = unit(
        "x.service",
        "[Service]\nExecStart=/bin/true\nPrivateNetwork=yes\nUMask=0077\nProtectClock=yes\n",
    );
    let (b, a) = (score(&before).unwrap(), score(&after).unwrap());
    let d = compare(&b, &before.effective, &a, &after.effective);
    assert_eq!(
        d.to_string(),
        format!("{} -> {}", b.exposure_text(), a.exposure_text())
    );
    assert!(d.before > d.after);
    let changed: Vec<String> = d.changed().map(ToString::to_string).collect();
    assert_eq!(
        changed,
        [
            "PrivateNetwork= 0.5 -> - (PrivateNetwork)",
            "UMask= 0.1 -> - (UMask)"
        ]
    );
    // Every other check that moved did so only through the weight sum:
    // none here, as the sum is the same.
    assert_eq!(d.moves.len(), 2);
    assert!(compare(&b, &before.effective, &b, &before.effective).is_empty());
}

#[test]
fn a_fatal_setting_ends_its_dropin_and_refuses_a_fragment() {
    // As systemd 257 does (measured): the rest of the drop-in is not read,
    // the next drop-in is.
    let mut fs = MemFs::new();
    fs.file(
        "/etc/systemd/system/a.service",
        "[Service]\nExecStart=/bin/true\n",
    )
    .file(
        "/etc/systemd/system/a.service.d/x.conf",
        "[Service]\nPrivateDevices=yes\nDynamicUser=maybe\nPrivateNetwork=yes\n",
    )
    .file(
        "/etc/systemd/system/a.service.d/y.conf",
        "[Service]\nProtectClock=yes\n",
    )
    .file(
        "/etc/systemd/system/b.service",
        "[Service]\nExecStart=/bin/true\nDynamicUser=maybe\n",
    );
    let a = score(&load(&fs, "a.service", &LoadOptions::default())).unwrap();
    let badness = |id: &str| a.check(id).unwrap().badness;
    assert_eq!(badness("PrivateDevices="), Some(0));
    assert_eq!(badness("PrivateNetwork="), Some(1));
    assert_eq!(badness("ProtectClock="), Some(0));
    assert_eq!(
        (a.exposure_text().as_str(), a.level().name),
        ("8.5", "EXPOSED")
    );
    let b = score(&load(&fs, "b.service", &LoadOptions::default()));
    assert_eq!(
        b.unwrap_err().to_string(),
        "b.service: Unit b.service has a bad unit file setting."
    );
}

#[test]
fn implicit_moves_name_the_setting_behind_them() {
    let before = unit("x.service", "[Service]\nExecStart=/bin/true\n");
    let after = unit(
        "x.service",
        "[Service]\nExecStart=/bin/true\nPrivateDevices=yes\n",
    );
    let (b, a) = (score(&before).unwrap(), score(&after).unwrap());
    let d = compare(&b, &before.effective, &a, &after.effective);
    let moved: Vec<(&str, Vec<&str>)> = d.changed().map(|m| (m.id, m.settings.clone())).collect();
    assert_eq!(
        moved,
        [
            ("PrivateDevices=", vec!["PrivateDevices"]),
            (
                "CapabilityBoundingSet=~CAP_SYS_RAWIO",
                vec!["PrivateDevices"]
            ),
            ("CapabilityBoundingSet=~CAP_MKNOD", vec!["PrivateDevices"]),
            ("DeviceAllow=", vec!["PrivateDevices"]),
        ]
    );
}

#[test]
fn inputs_are_the_named_settings_then_the_implied_ones() {
    assert_eq!(inputs_of("User=/DynamicUser="), ["User", "DynamicUser"]);
    assert_eq!(
        inputs_of("RootDirectory=/RootImage="),
        ["RootDirectory", "RootImage", "DefaultDependencies"]
    );
    assert_eq!(
        inputs_of("ProtectSystem="),
        ["ProtectSystem", "DynamicUser", "DefaultDependencies"]
    );
    assert_eq!(
        inputs_of("CapabilityBoundingSet=~CAP_MKNOD"),
        ["CapabilityBoundingSet", "PrivateDevices"]
    );
    // An item without load-time adjustments reads its directive only.
    assert_eq!(
        inputs_of("CapabilityBoundingSet=~CAP_KILL"),
        ["CapabilityBoundingSet"]
    );
    assert_eq!(inputs_of("SystemCallFilter=~@clock"), ["SystemCallFilter"]);
    assert_eq!(inputs_of("PrivateNetwork="), ["PrivateNetwork"]);
    assert!(inputs_of("NoSuchCheck=").is_empty());
}

#[test]
fn services_systemd_refuses_at_load_are_not_scored() {
    // Each as systemd-analyze security --offline=true (257.13) answered it
    // in the oracle root: refused (true) or scored (false).
    let cases = [
        // No command, SuccessAction= only: an automatic oneshot, scored;
        // with a credential the automatic type is exec, which needs
        // ExecStart= (the shipped systemd-kexec.service with a
        // LoadCredential= drop-in).
        ("[Unit]\nSuccessAction=exit\n", false),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nLoadCredential=a:/etc/x\n",
            true,
        ),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nSetCredentialEncrypted=a:aGVsbG8=\n",
            true,
        ),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nLoadCredential=a:/etc/x\nLoadCredential=\n",
            false,
        ),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nType=oneshot\nLoadCredential=a:/etc/x\n",
            false,
        ),
        ("[Unit]\nSuccessAction=exit\n[Service]\nType=simple\n", true),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nBusName=a.b.c\n",
            true,
        ),
        (
            "[Unit]\nSuccessAction=exit\n[Service]\nExecStartPre=/bin/true\nLoadCredential=a:/etc/x\n",
            true,
        ),
        ("[Service]\nExecStop=/bin/true\n", true),
        (
            "[Service]\nExecStop=/bin/true\nLoadCredential=a:/etc/x\n",
            true,
        ),
        (
            "[Service]\nExecStart=/bin/true\nLoadCredential=a:/etc/x\n",
            false,
        ),
        // More than one command: oneshot only.
        (
            "[Service]\nExecStart=/bin/true\nExecStart=/bin/true\n",
            true,
        ),
        (
            "[Service]\nType=oneshot\nExecStart=/bin/true\nExecStart=/bin/true\n",
            false,
        ),
        (
            "[Service]\nExecStart=/bin/true\nExecStart=\nExecStart=/bin/true\n",
            false,
        ),
        // Nothing at all to run.
        ("[Service]\nPrivateNetwork=yes\n", true),
        ("[Service]\nType=oneshot\nRemainAfterExit=yes\n", true),
        ("[Service]\nType=dbus\nExecStart=/bin/true\n", true),
    ];
    for (text, refused) in cases {
        let r = score(&unit("x.service", text));
        assert_eq!(r.is_err(), refused, "{text}: {r:?}");
        if refused {
            assert_eq!(
                r.unwrap_err().to_string(),
                "x.service: Unit x.service has a bad unit file setting."
            );
        }
    }
}
