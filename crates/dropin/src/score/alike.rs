//! Scoring many instances of one template without loading each: an
//! instance whose files are found and read as a sibling's were, except
//! for settings the sibling's score never read, scores as the sibling.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{Score, info, score_tracked};
use crate::error::Result;
use crate::load::{Loader, Located};
use crate::reads::Reads;

/// What the caller knows of one unit's own drop-in: the file the caller
/// generated for it, and what it reads differently from a sibling's.
///
/// The caller promises: two units given one `class` have own files whose
/// texts systemd reads alike except in `differs` (for generated instance
/// drop-ins: the same composition, with only the settings that use `%i`
/// resolved differently, each such line a line of its own). Everything
/// else the load reads is found by the loader and compared as paths: the
/// same path reads the same within one loader.
#[derive(Clone, Debug)]
pub struct Alike<'a> {
    /// Which units may share a score (a template's drop-ins from one
    /// composition).
    pub class: &'a str,
    /// The unit's own drop-in, as the loader names it.
    pub own: &'a str,
    /// What may differ between two units of the class (their names,
    /// origins and logs always do: see [`instance_differs`]).
    pub differs: &'a Reads,
}

/// The scores of the units of one [`Loader`], each instance loaded and
/// scored in full only when no sibling's score provably holds for it.
pub struct Scores<'l> {
    loader: &'l Loader<'l>,
    /// The scores kept, with what each read.
    kept: RefCell<Vec<(Score, Reads)>>,
    /// Where in `kept` the score of a class and shared location is.
    seen: RefCell<HashMap<Key, usize>>,
    /// The unit looked up last: an instance is most often located as the
    /// one before it, which is then known without building and hashing
    /// its shared location.
    last: RefCell<Option<Last>>,
    reused: std::cell::Cell<usize>,
}

/// A class and the location its units share ([`masked`]).
type Key = (String, Located);

/// The unit a [`Scores`] looked up last, and the kept score of its class
/// and shared location.
struct Last {
    class: String,
    own: String,
    located: Located,
    at: Option<usize>,
}

impl Last {
    fn of(alike: &Alike<'_>, located: &Located, at: Option<usize>) -> Last {
        Last {
            class: alike.class.to_owned(),
            own: alike.own.to_owned(),
            located: located.clone(),
            at,
        }
    }
}

/// What a lookup found: the kept score, else the key to keep one at.
struct Found {
    at: Option<usize>,
    key: Option<Key>,
}

impl<'l> Scores<'l> {
    /// Scores units of `loader`.
    pub fn new(loader: &'l Loader<'l>) -> Scores<'l> {
        Scores {
            loader,
            kept: RefCell::default(),
            seen: RefCell::default(),
            last: RefCell::default(),
            reused: std::cell::Cell::new(0),
        }
    }

    /// The score of unit `name`, as [`super::score`] gives it for
    /// `loader.load(name)`.
    pub fn score(&self, name: &str, alike: Option<&Alike<'_>>) -> Result<Score> {
        let Some(alike) = alike else {
            return super::score(&self.loader.load(name));
        };
        let located = self.loader.locate(name);
        // The own drop-in must be read, by the path given.
        if !reads_own(&located, alike) {
            return super::score(&self.loader.load_located(name, located));
        }
        let found = self.find(alike, &located);
        if let Some(score) = self.sibling(&found, alike, name, &located) {
            return Ok(score);
        }
        let loaded = self.loader.load_located(name, located.clone());
        self.keep(found, alike, &located, &loaded)
    }

    /// The score of unit `name` that the caller loaded from `located`
    /// (as [`Loader::locate`] found it) with this loader, as
    /// [`super::score`] gives it for `loaded`.
    pub fn score_loaded(
        &self,
        name: &str,
        located: &Located,
        loaded: &crate::load::Loaded,
        alike: Option<&Alike<'_>>,
    ) -> Result<Score> {
        let Some(alike) = alike.filter(|a| reads_own(located, a)) else {
            return super::score(loaded);
        };
        let found = self.find(alike, located);
        match self.sibling(&found, alike, name, located) {
            Some(score) => Ok(score),
            None => self.keep(found, alike, located, loaded),
        }
    }

    /// Where the kept score of `located`'s class and shared location is.
    fn find(&self, alike: &Alike<'_>, located: &Located) -> Found {
        let mut last = self.last.borrow_mut();
        if let Some(l) = last.as_ref().filter(|l| {
            l.class == alike.class && masked_eq((&l.located, &l.own), (located, alike.own))
        }) {
            return Found {
                at: l.at,
                key: None,
            };
        }
        let key = (alike.class.to_owned(), masked(located, alike.own));
        let at = self.seen.borrow().get(&key).copied();
        *last = Some(Last::of(alike, located, at));
        Found { at, key: Some(key) }
    }

    /// A sibling's score that holds for `name`, located as `found` says.
    fn sibling(
        &self,
        found: &Found,
        alike: &Alike<'_>,
        name: &str,
        located: &Located,
    ) -> Option<Score> {
        let kept = self.kept.borrow();
        let (score, reads) = kept.get(found.at?)?;
        if reads.touches(alike.differs) {
            return None;
        }
        self.reused.set(self.reused.get() + 1);
        Some(Score {
            unit: info::unit_id(name, located.fragment.as_deref()),
            ..score.clone()
        })
    }

    /// `loaded` scored, its score kept for its siblings where none is
    /// kept yet.
    fn keep(
        &self,
        found: Found,
        alike: &Alike<'_>,
        located: &Located,
        loaded: &crate::load::Loaded,
    ) -> Result<Score> {
        let (score, reads) = score_tracked(loaded);
        if let (Ok(s), None) = (&score, found.at) {
            let key = found
                .key
                .unwrap_or_else(|| (alike.class.to_owned(), masked(located, alike.own)));
            let mut kept = self.kept.borrow_mut();
            let at = kept.len();
            kept.push((s.clone(), reads));
            self.seen.borrow_mut().insert(key, at);
            *self.last.borrow_mut() = Some(Last::of(alike, located, Some(at)));
        }
        score
    }

    /// How many scores were a sibling's rather than a load's.
    pub fn reused(&self) -> usize {
        self.reused.get()
    }
}

/// Whether the load reads the own drop-in, by the path given.
fn reads_own(located: &Located, alike: &Alike<'_>) -> bool {
    located.files.files.iter().any(|f| f == alike.own)
}

/// Whether two units' locations, each with its own drop-in, are masked
/// alike: `masked(a) == masked(b)`, with nothing built.
fn masked_eq((a, own_a): (&Located, &str), (b, own_b): (&Located, &str)) -> bool {
    let dir = |own: &str| own.rsplit_once('/').map_or("", |(d, _)| d).len();
    let (dir_a, dir_b) = (&own_a[..dir(own_a)], &own_b[..dir(own_b)]);
    // What `masked` makes of a path: 0 the own file, 1 its directory,
    // 2 the path itself.
    let class = |p: &str, own: &str, own_dir: &str| match p {
        p if p == own => 0,
        p if p == own_dir => 1,
        _ => 2,
    };
    let same = |p: &String, q: &String| {
        let (x, y) = (class(p, own_a, dir_a), class(q, own_b, dir_b));
        x == y && (x < 2 || p == q)
    };
    let all =
        |p: &[String], q: &[String]| p.len() == q.len() && p.iter().zip(q).all(|(p, q)| same(p, q));
    a.fragment == b.fragment
        && a.aliases == b.aliases
        && all(&a.dirs, &b.dirs)
        && all(&a.files.files, &b.files.files)
        && a.files.shadowed.len() == b.files.shadowed.len()
        && a.files
            .shadowed
            .iter()
            .zip(&b.files.shadowed)
            .all(|((p, r), (q, s))| same(p, q) && same(r, s))
}

/// `located` with the own drop-in and its directory named by a mark: what
/// two siblings' locations share.
fn masked(located: &Located, own: &str) -> Located {
    const MARK: &str = "\0own";
    let own_dir = own.rsplit_once('/').map_or("", |(d, _)| d);
    let mark = |p: &String| {
        if p == own {
            format!("{MARK}/file")
        } else if p == own_dir {
            format!("{MARK}/dir")
        } else {
            p.clone()
        }
    };
    let mut out = located.clone();
    out.dirs = located.dirs.iter().map(mark).collect();
    out.files.files = located.files.files.iter().map(mark).collect();
    out.files.shadowed = located
        .files
        .shadowed
        .iter()
        .map(|(a, b)| (mark(a), mark(b)))
        .collect();
    out
}

/// What may differ between two instances of `template` whose own
/// drop-ins are generated from it: their names, the origins and logs of
/// their own drop-ins, and the storages of the settings that use `%i` (the
/// rest of the composition is shared, see [`crate::Composed::for_instance`]).
/// `None` where one of those settings could make systemd's parser fail
/// fatally, which would leave the rest of one instance's file unread.
pub fn instance_differs(template: &crate::Composed) -> Option<Reads> {
    let fresh = crate::Effective::new("template@.service");
    let mut differs = Reads {
        name: true,
        origins: true,
        diagnostics: true,
        ..Reads::default()
    };
    for (d, setting) in template.settings() {
        let uses = setting
            .assignments()
            .iter()
            .any(|(a, _)| a.value.as_ref().is_some_and(crate::Value::uses_instance));
        if !uses {
            continue;
        }
        if crate::Effective::may_fail_fatally(d) {
            return None;
        }
        if fresh.types(d) {
            differs.storages.insert(d.storage());
        } else {
            differs.untyped = true;
        }
    }
    Some(differs)
}

#[cfg(test)]
mod tests {
    use super::{Located, masked, masked_eq};
    use crate::load::{LoadOptions, MemFs, load};

    fn reads_of(unit: &str) -> crate::reads::Reads {
        let mut fs = MemFs::new();
        fs.file("/u/a@.service", unit.as_bytes().to_vec());
        let options = LoadOptions {
            search_path: vec!["/u".to_owned()],
        };
        super::score_tracked(&load(&fs, "a@1.service", &options)).1
    }

    #[test]
    fn a_score_reads_the_name_through_a_specifier_or_a_dynamic_user() {
        let plain = reads_of("[Service]\nExecStart=/bin/true\nUser=x\n");
        assert!(!plain.name && plain.untyped && !plain.origins && !plain.diagnostics);
        assert!(
            plain
                .storages
                .contains(crate::Directive::ProtectSystem.storage())
        );
        assert!(
            !plain
                .storages
                .contains(crate::Directive::BindPaths.storage())
        );
        assert!(reads_of("[Service]\nExecStart=/bin/true\nUser=%i\nUser=x\n").name);
        assert!(reads_of("[Service]\nExecStart=/bin/true\nDynamicUser=yes\n").name);
    }

    /// Directories, files and shadowed files of one location.
    type Shape = (Vec<String>, Vec<String>, Vec<(String, String)>);

    /// Locations of instance drop-ins: the own file and directory in
    /// every place `masked` marks, other paths equal or not, shadowing
    /// or not.
    fn locations() -> Vec<(Located, String)> {
        use crate::load::ConfFiles;
        let d = |i: &str| format!("/etc/systemd/system/x@{i}.service.d");
        let f = |i: &str| format!("{}/10-h.conf", d(i));
        let t = "/etc/systemd/system/x@.service.d".to_owned();
        let extra = format!("{t}/20-e.conf");
        let mut out = Vec::new();
        for i in ["1", "2"] {
            let own = f(i);
            let shapes: Vec<Shape> = vec![
                (vec![t.clone(), d(i)], vec![own.clone()], vec![]),
                (
                    vec![t.clone(), d(i)],
                    vec![own.clone(), extra.clone()],
                    vec![],
                ),
                (vec![d(i), t.clone()], vec![own.clone()], vec![]),
                (
                    vec![t.clone(), d(i)],
                    vec![own.clone()],
                    vec![(own.clone(), extra.clone())],
                ),
                (
                    vec![t.clone(), d(i)],
                    vec![own.clone()],
                    vec![(extra.clone(), own.clone())],
                ),
                (vec![t.clone(), d("9")], vec![own.clone()], vec![]),
                (vec![t.clone(), d(i)], vec![f("9")], vec![]),
                (vec![t.clone()], vec![own.clone()], vec![]),
            ];
            for (dirs, files, shadowed) in shapes {
                for fragment in [None, Some("/etc/systemd/system/x@.service".to_owned())] {
                    let located = Located {
                        fragment,
                        aliases: Default::default(),
                        dirs: dirs.clone(),
                        files: ConfFiles {
                            files: files.clone(),
                            shadowed: shadowed.clone(),
                        },
                    };
                    out.push((located, own.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn masked_alike_is_masked_equal() {
        let all = locations();
        let mut equal = 0;
        for (a, own_a) in &all {
            for (b, own_b) in &all {
                let want = masked(a, own_a) == masked(b, own_b);
                equal += usize::from(want);
                assert_eq!(
                    masked_eq((a, own_a), (b, own_b)),
                    want,
                    "{a:?} ({own_a}) against {b:?} ({own_b})"
                );
            }
        }
        // Each shape of one instance equals the same shape of the other
        // (and itself), except where a sibling's path is named.
        assert!(equal > all.len(), "{equal} equal pairs");
    }
}
