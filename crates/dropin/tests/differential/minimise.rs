//! Delta debugging (Zeller and Hildebrandt's ddmin) on a reproducer: the
//! fewest files, then the fewest lines of them, that still show a
//! disagreement, so that a failure prints a case a reader can follow.

use super::Node;

/// One file of a reproducer: its absolute path and what is there.
pub(crate) type File = (String, Node);

/// A 1-minimal subsequence of `items` for which `fails` holds (removing
/// any one more item makes it pass), asking `fails` at most `budget`
/// times; the second value is how many times it was asked. `fails` must
/// hold for `items` itself.
pub(crate) fn ddmin<T: Clone>(
    items: &[T],
    fails: &mut dyn FnMut(&[T]) -> bool,
    budget: usize,
) -> (Vec<T>, usize) {
    let mut current = items.to_vec();
    let mut asked = 0;
    let mut parts = 2usize;
    while !current.is_empty() && asked < budget {
        let parts_now = parts.min(current.len());
        let size = current.len().div_ceil(parts_now);
        let mut reduced = false;
        // Each chunk alone, then each complement (the chunk removed).
        let chunks: Vec<(usize, usize)> = (0..parts_now)
            .map(|i| (i * size, ((i + 1) * size).min(current.len())))
            .filter(|(a, b)| a < b)
            .collect();
        for &(a, b) in &chunks {
            if asked >= budget || chunks.len() < 2 {
                break;
            }
            asked += 1;
            if fails(&current[a..b]) {
                current = current[a..b].to_vec();
                parts = 2;
                reduced = true;
                break;
            }
        }
        if !reduced {
            for &(a, b) in &chunks {
                if asked >= budget {
                    break;
                }
                let rest: Vec<T> = current[..a].iter().chain(&current[b..]).cloned().collect();
                asked += 1;
                if fails(&rest) {
                    current = rest;
                    parts = parts_now.saturating_sub(1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if parts_now >= current.len() {
                break;
            }
            parts = (parts_now * 2).min(current.len());
        }
    }
    (current, asked)
}

/// The lines of `bytes`, each with its line end (a last line may have
/// none).
/// How many lines the files of a case hold in all.
fn line_count(files: &[File]) -> usize {
    files
        .iter()
        .map(|(_, n)| match n {
            Node::File(b) => lines(b).len(),
            Node::Symlink(_) => 0,
        })
        .sum()
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// The smallest set of files and lines of `files` that `fails` still
/// holds for: first whole files are dropped, then lines of the regular
/// files that are left (links stay as they are). Asks `fails` at most
/// `budget` times in all; returns the files and how often it asked.
pub(crate) fn minimise(
    files: &[File],
    fails: &mut dyn FnMut(&[File]) -> bool,
    budget: usize,
) -> (Vec<File>, usize) {
    let (kept, asked_files) = ddmin(files, fails, budget);
    // One item per line: (index of its file in `kept`, the line).
    let items: Vec<(usize, Vec<u8>)> = kept
        .iter()
        .enumerate()
        .flat_map(|(i, (_, n))| match n {
            Node::File(b) => lines(b).into_iter().map(|l| (i, l)).collect(),
            Node::Symlink(_) => Vec::new(),
        })
        .collect();
    let rebuild = |chosen: &[(usize, Vec<u8>)]| -> Vec<File> {
        kept.iter()
            .enumerate()
            .map(|(i, (p, n))| match n {
                Node::File(_) => {
                    let bytes: Vec<u8> = chosen
                        .iter()
                        .filter(|(f, _)| *f == i)
                        .flat_map(|(_, l)| l.iter().copied())
                        .collect();
                    (p.clone(), Node::File(bytes))
                }
                Node::Symlink(_) => (p.clone(), n.clone()),
            })
            .collect()
    };
    let (chosen, asked_lines) = ddmin(
        &items,
        &mut |c: &[(usize, Vec<u8>)]| fails(&rebuild(c)),
        budget.saturating_sub(asked_files),
    );
    (rebuild(&chosen), asked_files + asked_lines)
}

/// `files` as a reproducer prints them: a `--- PATH` header per file,
/// its text escaped (long files cut).
pub(crate) fn show(files: &[File]) -> String {
    let mut out = String::new();
    for (p, n) in files {
        match n {
            Node::File(b) => {
                out.push_str(&format!("--- {p}\n"));
                let text = String::from_utf8_lossy(b).escape_debug().to_string();
                if text.len() > 2000 {
                    let cut = (0..=2000).rev().find(|i| text.is_char_boundary(*i));
                    out.push_str(&format!(
                        "{}… ({} bytes)\n",
                        &text[..cut.unwrap_or(0)],
                        b.len()
                    ));
                } else {
                    out.push_str(&format!("{text}\n"));
                }
            }
            Node::Symlink(t) => out.push_str(&format!("--- {p} -> {t}\n")),
        }
    }
    out
}

#[test]
fn ddmin_finds_the_two_items_a_failure_needs() {
    let items: Vec<u32> = (0..100).collect();
    let mut fails = |s: &[u32]| s.contains(&17) && s.contains(&42);
    let (min, asked) = ddmin(&items, &mut fails, 1000);
    assert_eq!(min, vec![17, 42]);
    assert!(asked < 100, "{asked} questions for 100 items");
    // Out of budget: what it has so far, still failing.
    let (partial, asked) = ddmin(&items, &mut fails, 3);
    assert_eq!(asked, 3);
    assert!(fails(&partial) && partial.len() < 100, "{partial:?}");
}

#[test]
fn a_synthetic_disagreement_shrinks_to_the_lines_it_needs() {
    use dropin::load::{self, LoadOptions, MemFs};
    // The disagreement: a model blind to /run/systemd/system against the
    // model itself, on a unit where one /run drop-in line among many
    // changes a setting.
    let noise = |n: usize| -> String {
        (0..n)
            .map(|i| format!("# note {i}\nUMask=00{}7\n", i % 8))
            .collect()
    };
    let files: Vec<File> = vec![
        (
            "/etc/systemd/system/m-srv.service".to_owned(),
            Node::File(
                format!(
                    "[Unit]\nDescription=m\n{}[Service]\nExecStart=/bin/true\n{}",
                    noise(3),
                    noise(4)
                )
                .into_bytes(),
            ),
        ),
        (
            "/etc/systemd/system/m-srv.service.d/10-a.conf".to_owned(),
            Node::File(format!("[Service]\n{}", noise(6)).into_bytes()),
        ),
        (
            "/run/systemd/system/m-srv.service.d/20-b.conf".to_owned(),
            Node::File(
                format!("[Service]\n{}ProtectSystem=strict\n{}", noise(5), noise(5)).into_bytes(),
            ),
        ),
        (
            "/usr/lib/systemd/system/m-srv.service.d/05-c.conf".to_owned(),
            Node::Symlink("/dev/null".to_owned()),
        ),
    ];
    let blind = super::blind_to_run();
    let mut fails = |fs_files: &[File]| -> bool {
        let mut fs = MemFs::new();
        fs.special("/dev/null");
        for (p, n) in fs_files {
            match n {
                Node::File(b) => fs.file(p, b.clone()),
                Node::Symlink(t) => fs.symlink(p, t),
            };
        }
        let ours = load::load(&fs, "m-srv.service", &LoadOptions::default());
        let wrong = load::load(&fs, "m-srv.service", &blind);
        ours.state == load::LoadState::Loaded
            && ours.effective.lines(dropin::Directive::ProtectSystem)
                != wrong.effective.lines(dropin::Directive::ProtectSystem)
    };
    let before = line_count(&files);
    assert!(
        fails(&files),
        "the synthetic case must disagree to begin with"
    );
    let (min, asked) = minimise(&files, &mut fails, 400);
    assert!(fails(&min), "the minimised case must still disagree");
    let shown = show(&min);
    let after = line_count(&min);
    // Left: a non-empty fragment (any one line: an empty one is masked)
    // and the /run drop-in's section header and its one line.
    assert_eq!(min.len(), 2, "{shown}");
    assert!(
        shown.contains(
            "--- /run/systemd/system/m-srv.service.d/20-b.conf\n[Service]\\nProtectSystem=strict\\n\n"
        ),
        "{shown}"
    );
    assert_eq!(after, 3, "{before} lines became {after}:\n{shown}");
    assert!(asked <= 400, "{asked}");
}
