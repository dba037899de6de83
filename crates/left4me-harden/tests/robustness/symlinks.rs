//! A destination that is a symbolic link (a deployment may link
//! `/etc/systemd/system/...10-hardening.conf` into a checkout): refused by
//! default, its target replaced atomically with `--follow-symlinks`. The
//! link is resolved inside the root, as systemd reads it: an absolute
//! target starts at the root, `..` stops there.

use std::fs;
use std::os::unix::fs::{MetadataExt as _, symlink};
use std::path::Path;

use crate::support::{Scratch, assert_trouble, expected, listing, run, temps};

const WEB: &str = "etc/systemd/system/left4me-web.service.d/10-hardening.conf";

/// Where the checkout lies in the root, and how an absolute link names it.
const CHECKOUT: &str = "srv/checkout";
const TARGET: &str = "/srv/checkout/web.conf";

/// A root written without comments whose web drop-in is a link to
/// `/srv/checkout/web.conf` in the root (holding `old`), linked as
/// `link_text` (default: that absolute path).
fn linked_root(link_text: Option<&str>) -> (Scratch, std::path::PathBuf) {
    let scratch = Scratch::new("symlink");
    let root = scratch.join("root");
    fs::create_dir(&root).expect("root");
    let out = run([
        "write".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--no-comments".as_ref(),
    ]);
    assert!(out.status.success());
    let checkout = root.join(CHECKOUT);
    fs::create_dir_all(&checkout).expect("checkout");
    let target = checkout.join("web.conf");
    fs::write(&target, "old content\n").expect("target");
    let link = root.join(WEB);
    fs::remove_file(&link).expect("rm");
    symlink(link_text.unwrap_or(TARGET), &link).expect("symlink");
    (scratch, target)
}

fn write(root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["write".into(), "--root".into(), root.as_os_str().to_owned()];
    args.extend(extra.iter().map(Into::into));
    run::<_, std::ffi::OsString>(args)
}

#[test]
fn a_symlink_is_refused_by_default_naming_it_and_the_flag() {
    let (scratch, target) = linked_root(None);
    let root = scratch.join("root");
    let before = listing(&scratch.path);
    let out = write(&root, &[]);
    assert_trouble(
        &out,
        &[
            &format!("{:?}", root.join(WEB)),
            "is a symbolic link",
            "--follow-symlinks",
        ],
    );
    assert!(before == listing(&scratch.path), "something changed");
    assert_eq!(
        fs::read_link(root.join(WEB)).expect("still a link"),
        Path::new(TARGET)
    );
    let _ = target;
    // --check reports the same refusal rather than a difference.
    let out = write(&root, &["--check"]);
    assert_trouble(&out, &["--follow-symlinks"]);
}

#[test]
fn follow_symlinks_replaces_the_target_atomically_and_keeps_the_link() {
    let (scratch, target) = linked_root(None);
    let root = scratch.join("root");
    let inode_before = fs::metadata(&target).expect("target").ino();
    let out = write(&root, &["--follow-symlinks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = root.join(WEB);
    assert!(
        fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).expect("link"), Path::new(TARGET));
    let want = &expected(&[], &[])[WEB];
    assert_eq!(&fs::read(&target).expect("target"), want);
    // Replaced by rename (a new inode), not rewritten in place, and no temp
    // file left beside it.
    assert_ne!(fs::metadata(&target).expect("target").ino(), inode_before);
    assert_eq!(temps(&scratch.path), Vec::<String>::new());
    // Idempotent through the link.
    let out = write(&root, &["--follow-symlinks", "--check"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn follow_symlinks_handles_relative_chained_and_dangling_links() {
    // Relative: resolved against the link's directory; one `..` too many
    // stops at the root, as systemd resolves it.
    let (scratch, target) = linked_root(Some("../../../../../srv/checkout/web.conf"));
    let root = scratch.join("root");
    let out = write(&root, &["--follow-symlinks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        &fs::read(&target).expect("target"),
        &expected(&[], &[])[WEB]
    );

    // A chain: link -> hop -> web.conf; the last file is replaced, both
    // links stay.
    let (scratch, target) = linked_root(None);
    let root = scratch.join("root");
    let hop = root.join(CHECKOUT).join("hop.conf");
    symlink("web.conf", &hop).expect("hop");
    fs::remove_file(root.join(WEB)).expect("rm");
    symlink("/srv/checkout/hop.conf", root.join(WEB)).expect("link");
    let out = write(&root, &["--follow-symlinks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_link(&hop).expect("hop stays a link"),
        Path::new("web.conf")
    );
    assert_eq!(
        &fs::read(&target).expect("target"),
        &expected(&[], &[])[WEB]
    );

    // Dangling: the file it names is created.
    let (scratch, target) = linked_root(None);
    let root = scratch.join("root");
    fs::remove_file(&target).expect("rm target");
    let out = write(&root, &["--follow-symlinks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        &fs::read(&target).expect("target"),
        &expected(&[], &[])[WEB]
    );
}

#[test]
fn follow_symlinks_refuses_a_link_to_a_directory_or_a_missing_directory() {
    let (scratch, target) = linked_root(None);
    let root = scratch.join("root");
    let dir = root.join(CHECKOUT);
    fs::remove_file(root.join(WEB)).expect("rm");
    symlink("/srv/checkout", root.join(WEB)).expect("link");
    let before = listing(&scratch.path);
    let out = write(&root, &["--follow-symlinks"]);
    assert_trouble(&out, &["not a regular file", &format!("{dir:?}")]);
    assert!(before == listing(&scratch.path));
    let _ = target;

    fs::remove_file(root.join(WEB)).expect("rm");
    symlink("/nowhere/x.conf", root.join(WEB)).expect("link");
    let before = listing(&scratch.path);
    let out = write(&root, &["--follow-symlinks"]);
    assert_trouble(&out, &["cannot be resolved", "nowhere"]);
    assert!(before == listing(&scratch.path));
}

/// A link to a file outside the root (by its host path) is not followed
/// out of the root: its target is read as a path inside the root, where
/// it does not exist, and nothing outside is touched.
#[test]
fn follow_symlinks_never_leaves_the_root() {
    let (scratch, _) = linked_root(None);
    let root = scratch.join("root");
    let outside = scratch.join("outside");
    fs::create_dir(&outside).expect("outside");
    fs::write(outside.join("web.conf"), "outside\n").expect("outside file");
    fs::remove_file(root.join(WEB)).expect("rm");
    symlink(outside.join("web.conf"), root.join(WEB)).expect("link");
    let before = listing(&scratch.path);
    let out = write(&root, &["--follow-symlinks"]);
    assert_trouble(&out, &["cannot be resolved inside the root"]);
    assert!(before == listing(&scratch.path), "something changed");
    // `..` enough to climb out stops at the root instead.
    fs::remove_file(root.join(WEB)).expect("rm");
    symlink(
        "../../../../../../../../../../outside/web.conf",
        root.join(WEB),
    )
    .expect("link");
    fs::create_dir(root.join("outside")).expect("in-root twin");
    let out = write(&root, &["--follow-symlinks"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(outside.join("web.conf")).expect("outside"),
        b"outside\n"
    );
    assert_eq!(
        &fs::read(root.join("outside/web.conf")).expect("in root"),
        &expected(&[], &[])[WEB]
    );
}
