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
    seen: RefCell<HashMap<(String, Located), (Score, Reads)>>,
    reused: std::cell::Cell<usize>,
}

impl<'l> Scores<'l> {
    /// Scores units of `loader`.
    pub fn new(loader: &'l Loader<'l>) -> Scores<'l> {
        Scores {
            loader,
            seen: RefCell::default(),
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
        let key = (alike.class.to_owned(), masked(&located, alike.own));
        if let Some(score) = self.sibling(&key, alike, name, &located) {
            return Ok(score);
        }
        self.keep(key, &self.loader.load_located(name, located))
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
        let key = (alike.class.to_owned(), masked(located, alike.own));
        match self.sibling(&key, alike, name, located) {
            Some(score) => Ok(score),
            None => self.keep(key, loaded),
        }
    }

    /// A sibling's score that holds for `name`, located at `key`.
    fn sibling(
        &self,
        key: &(String, Located),
        alike: &Alike<'_>,
        name: &str,
        located: &Located,
    ) -> Option<Score> {
        let seen = self.seen.borrow();
        let (score, reads) = seen.get(key)?;
        if reads.touches(alike.differs) {
            return None;
        }
        self.reused.set(self.reused.get() + 1);
        Some(Score {
            unit: info::unit_id(name, located.fragment.as_deref()),
            ..score.clone()
        })
    }

    /// `loaded` scored, its score kept for its siblings at `key`.
    fn keep(&self, key: (String, Located), loaded: &crate::load::Loaded) -> Result<Score> {
        let (score, reads) = score_tracked(loaded);
        if let Ok(s) = &score {
            self.seen
                .borrow_mut()
                .entry(key)
                .or_insert_with(|| (s.clone(), reads));
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
}
