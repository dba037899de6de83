//! Hashing for the crate's fixed tables: the FNV-1a the generator lays
//! `UNIT_KEYS_HASHED` out by, and maps of hand-written tables (the
//! directive registry) built once per process. The tables are fixed, so a
//! fast hash that no input can steer is enough (the keys are the tables'
//! own; an input only looks one up).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a over the bytes hashed: a few instructions per byte, for the
/// short names of systemd's tables.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// FNV-1a of `section`, a `0xff` byte and `key`: the hash the generator
/// places the unit keys by (`UNIT_KEYS_HASHED`).
pub(crate) fn key_hash(section: &str, key: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(section.as_bytes());
    h.write(&[0xff]);
    h.write(key.as_bytes());
    h.finish()
}

/// A map keyed by table entries, hashed with [`Fnv`].
pub(crate) type Index<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The position of the first entry of each key `key_of` gives, as a scan
/// of `table` from the start finds it.
pub(crate) fn first_of<T, K: std::hash::Hash + Eq>(
    table: &[T],
    key_of: impl Fn(&T) -> K,
) -> Index<K, usize> {
    let mut index = Index::with_capacity_and_hasher(table.len(), Default::default());
    for (i, entry) in table.iter().enumerate() {
        index.entry(key_of(entry)).or_insert(i);
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_entry_of_a_key_is_indexed() {
        let table = [("a", 1), ("b", 2), ("a", 3)];
        let index = first_of(&table, |e| e.0);
        assert_eq!(index.get("a"), Some(&0));
        assert_eq!(index.get("b"), Some(&1));
        assert_eq!(index.get("c"), None);
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 64 test vectors: "" and "a".
        let hash = |s: &[u8]| {
            let mut h = Fnv::default();
            h.write(s);
            h.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(hash(b"ab"), hash(b"ba"));
    }
}
