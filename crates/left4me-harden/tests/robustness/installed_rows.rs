//! The installed drop-ins of the hostile table: what `diff` and `lint`
//! read where the generated server template drop-in should be. Shared by
//! the robustness suite (each must be reported, never crash or mislead)
//! and the differential oracle (each must read as systemd 257 reads it).

/// Bytes from a seeded xorshift: garbage that is the same every run.
pub(crate) fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed.to_le_bytes()[0]
        })
        .collect()
}

/// Each row: its name, the file's bytes, and what `diff` says about it.
pub(crate) fn installed_rows() -> Vec<(&'static str, Vec<u8>, String)> {
    vec![
        (
            // systemd reads nothing from it.
            "empty installed file",
            Vec::new(),
            "settings differ".to_owned(),
        ),
        (
            "whitespace-only installed file",
            b"\n \n\t\n".to_vec(),
            "settings differ".to_owned(),
        ),
        (
            "10 MiB installed file",
            "[Service]\n"
                .bytes()
                .chain(b"ReadOnlyPaths=/a\n".iter().copied().cycle())
                .take(10 * 1024 * 1024)
                .collect(),
            "larger than the 1048576 bytes".to_owned(),
        ),
        (
            // As systemd logs it, file and line, control characters escaped.
            "binary garbage",
            garbage(64 * 1024, 0x9e37_79b9_7f4a_7c15),
            "10-hardening.conf:1: ".to_owned(),
        ),
        (
            // A NUL ends the line, as in systemd: the line reads.
            "NUL in an installed value",
            b"[Service]\nNoNewPrivileges=yes\0\n".to_vec(),
            "settings differ".to_owned(),
        ),
        (
            "non-UTF-8 installed value",
            b"[Service]\nReadOnlyPaths=/caf\xe9\n".to_vec(),
            "10-hardening.conf:2: String is not UTF-8 clean, ignoring assignment".to_owned(),
        ),
        (
            // A CR ends a line for systemd too.
            "CR-only line endings",
            b"[Service]\rNoNewPrivileges=yes\r".to_vec(),
            "settings differ".to_owned(),
        ),
        (
            "100k repeated keys",
            std::iter::once("[Service]\n")
                .chain(std::iter::repeat_n("X=1\n", 100_000))
                .collect::<String>()
                .into_bytes(),
            "more in /etc/systemd/system/left4me-server@.service.d/10-hardening.conf".to_owned(),
        ),
        (
            "newline-injected value read back",
            b"[Service]\nBindPaths=relative/path\n".to_vec(),
            "10-hardening.conf:2: BindPaths= path is not absolute, ignoring: relative/path"
                .to_owned(),
        ),
        (
            "assignment outside a section",
            b"NoNewPrivileges=yes\n".to_vec(),
            "10-hardening.conf:1: Assignment outside of section. Ignoring.".to_owned(),
        ),
    ]
}
