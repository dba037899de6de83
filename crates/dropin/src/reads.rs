//! What a computation reads of a unit's settings: every public accessor of
//! [`crate::Effective`] notes what it was asked while [`tracked`] runs.
//!
//! A computation that reads the settings only through those accessors
//! (the scorer and the lints do: the fields are private) gives the same
//! result on two units that answer every question it asked the same way.
//! That is what lets a caller reuse one instance's score for another
//! instance whose settings differ only where the score never looked
//! (see [`Reads::touches`]).

use std::cell::RefCell;
use std::collections::BTreeSet;

/// What was read, coarsely where a finer record would not be used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    /// Typed storages whose state, values or reset were read.
    pub storages: BTreeSet<&'static str>,
    /// Whether any key the model does not type was read.
    pub untyped: bool,
    /// Whether where an assignment came from (file and line) was read.
    pub origins: bool,
    /// Whether what systemd logged was read (diagnostics, shared resets).
    pub diagnostics: bool,
    /// Whether the fatal assignment, if any, was asked for.
    pub fatal: bool,
    /// Whether the unit's name was read, directly or by expanding a
    /// specifier.
    pub name: bool,
}

impl Reads {
    /// Whether anything read is in `differs` (what may differ between two
    /// units): a storage both name, or a flag both set.
    pub fn touches(&self, differs: &Reads) -> bool {
        !self.storages.is_disjoint(&differs.storages)
            || (self.untyped && differs.untyped)
            || (self.origins && differs.origins)
            || (self.diagnostics && differs.diagnostics)
            || (self.fatal && differs.fatal)
            || (self.name && differs.name)
    }

    /// Everything: each typed storage and every flag.
    pub fn everything(&mut self) {
        self.storages
            .extend(crate::Directive::ALL.iter().map(|d| d.storage()));
        self.untyped = true;
        self.origins = true;
        self.diagnostics = true;
        self.fatal = true;
        self.name = true;
    }

    fn merge(&mut self, other: Reads) {
        self.storages.extend(other.storages);
        self.untyped |= other.untyped;
        self.origins |= other.origins;
        self.diagnostics |= other.diagnostics;
        self.fatal |= other.fatal;
        self.name |= other.name;
    }
}

thread_local! {
    static READS: RefCell<Option<Reads>> = const { RefCell::new(None) };
}

/// Runs `f`, returning with its result everything it read of any
/// [`crate::Effective`] on this thread. Nested calls each see their own
/// reads; the outer call sees the inner ones too.
pub fn tracked<T>(f: impl FnOnce() -> T) -> (T, Reads) {
    let outer = READS.with(|r| r.borrow_mut().replace(Reads::default()));
    let out = f();
    let reads = READS.with(|r| r.borrow_mut().take()).unwrap_or_default();
    if let Some(mut o) = outer {
        o.merge(reads.clone());
        READS.with(|r| *r.borrow_mut() = Some(o));
    }
    (out, reads)
}

/// [`tracked`] for a computation over the settings `e`: a storage read
/// whose value has a specifier in it counts as a read of the unit's name
/// too, as its state depends on the name ([`crate::Effective::specified_storages`]).
pub fn tracked_on<T>(e: &crate::Effective, f: impl FnOnce() -> T) -> (T, Reads) {
    let (out, mut reads) = tracked(f);
    if !reads.name {
        let specified = e.specified_storages();
        reads.name = reads.storages.iter().any(|s| specified.contains(s));
    }
    (out, reads)
}

/// Notes a read, if reads are tracked.
pub(crate) fn note(f: impl FnOnce(&mut Reads)) {
    READS.with(|r| {
        if let Some(r) = r.borrow_mut().as_mut() {
            f(r);
        }
    });
}

/// Notes a read of typed storage `storage`.
pub(crate) fn storage(storage: &'static str) {
    note(|r| {
        r.storages.insert(storage);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_reads_are_seen_by_both_and_untracked_reads_by_none() {
        storage("outside");
        let ((), outer) = tracked(|| {
            storage("a");
            let ((), inner) = tracked(|| storage("b"));
            assert_eq!(inner.storages, BTreeSet::from(["b"]));
        });
        assert_eq!(outer.storages, BTreeSet::from(["a", "b"]));
        let ((), none) = tracked(|| ());
        assert_eq!(none, Reads::default());
    }

    #[test]
    fn touches_needs_a_shared_storage_or_flag() {
        let read = Reads {
            storages: BTreeSet::from(["ProtectSystem"]),
            name: true,
            ..Reads::default()
        };
        let bind = Reads {
            storages: BTreeSet::from(["BindPaths"]),
            ..Reads::default()
        };
        assert!(!read.touches(&bind));
        assert!(read.touches(&Reads {
            name: true,
            ..bind.clone()
        }));
        assert!(read.touches(&Reads {
            storages: BTreeSet::from(["ProtectSystem"]),
            ..Reads::default()
        }));
        assert!(!read.touches(&Reads {
            untyped: true,
            origins: true,
            ..bind
        }));
    }
}
