//! The one place snapshots are configured: every snapshot lives in the
//! top-level `snapshots/`, is named, and has no module prefix, so a
//! reviewer finds `snapshots/server@1.snap` for `snapshot!("server@1", …)`.

/// `insta::assert_snapshot!` into the top-level `snapshots/`.
macro_rules! snapshot {
    ($name:expr, $value:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../../snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, $value));
    }};
}
