//! A small map from strings to values, kept as one sorted `Vec`: the in-memory filesystem's
//! files and directories. Lookups are binary searches; inserting and removing move the entries
//! after the key (the filesystem holds at most a few thousand). One generic instance is far less
//! code than a `BTreeMap` (the firmware's flash budget, docs/footprint.md).

use alloc::string::String;
use alloc::vec::Vec;

/// Entries sorted by key, in byte order (as `BTreeMap<String, V>` orders them).
#[derive(Debug)]
pub(crate) struct SortedMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for SortedMap<V> {
    fn default() -> Self {
        SortedMap {
            entries: Vec::new(),
        }
    }
}

impl<V> SortedMap<V> {
    /// The index of `key`, or where it would be inserted.
    fn search(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// How many entries there are.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The value at `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        let i = self.search(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value at `key`, writable.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let i = self.search(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Whether `key` has a value.
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.search(key).is_ok()
    }

    /// Stores `value` at `key`; returns the value it replaced.
    pub(crate) fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.search(&key) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, v)| core::mem::replace(v, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.search(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// The first key at or after `key` in byte order.
    pub(crate) fn first_from(&self, key: &str) -> Option<&String> {
        let i = self.search(key).unwrap_or_else(|i| i);
        self.entries.get(i).map(|(k, _)| k)
    }

    /// Every key, in byte order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    use super::SortedMap;
    use alloc::collections::BTreeMap;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;
    use core::ops::Bound;

    /// The same operations on a `BTreeMap` give the same answers.
    #[test]
    fn behaves_as_a_btree_map() {
        let keys = [
            "/b", "/a/c", "/a", "/", "/a/", "/ab", "/a/c/d", "/b", "/a", "/z", "/a/c",
        ];
        let mut map = SortedMap::default();
        let mut model = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(
                map.insert(key.to_string(), i),
                model.insert(key.to_string(), i)
            );
            if i % 3 == 2 {
                let gone = keys[i / 2];
                assert_eq!(map.remove(gone), model.remove(gone));
            }
            for probe in keys.iter().chain(&["", "/a/b", "/y", "/zz", "/a/c/"]) {
                assert_eq!(map.get(probe), model.get(*probe));
                assert_eq!(map.contains_key(probe), model.contains_key(*probe));
                let next = model
                    .range::<str, _>((Bound::Included(*probe), Bound::Unbounded))
                    .next()
                    .map(|(k, _)| k);
                assert_eq!(map.first_from(probe), next);
            }
            assert_eq!(map.len(), model.len());
            assert_eq!(
                map.keys().collect::<Vec<_>>(),
                model.keys().collect::<Vec<&String>>()
            );
        }
        if let Some(v) = map.get_mut("/z") {
            *v = 99;
        }
        assert_eq!(map.get("/z"), Some(&99));
    }
}
