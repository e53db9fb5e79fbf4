//! A sorted map whose copies share their storage: cloning it is O(1), and changing one
//! entry of a copy copies one chunk of entries, not the map.
//!
//! ```text
//!   Arc ──▶ [ Arc ──▶ [(k, v) × ≤ 128, sorted], Arc ──▶ [...], ... ]  (chunks sorted too)
//! ```
//!
//! This is what a [`Dag`](crate::Dag) keeps its statuses in, so that an incremental
//! build can hand out a new one after every change while the previous one is still in
//! use. Why not a persistent B-tree crate (`imbl`, `rpds`): those build a map one
//! insertion at a time, and a B-tree filled in key order (as a build fills its
//! statuses) keeps its nodes half empty. At 20,000 IngressRoutes that cost 2 MiB more
//! than a `BTreeMap`, in a controller whose memory budget is tight; chunks cut from a
//! sorted list are full. The map needs no more than what is here: lookups, in-order
//! iteration and a few point updates per build.

use std::borrow::Borrow;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;

/// How many entries a chunk is cut to from a sorted list; a chunk that grows to twice
/// this is split. Small enough that copying one (when a shared map changes) is cheap,
/// large enough that the list of chunks is short.
const CHUNK: usize = 64;

type Chunk<K, V> = Arc<Vec<(K, V)>>;

/// A sorted map with structurally shared copies; see the [module](self) docs.
#[derive(Clone)]
pub(crate) struct SharedMap<K, V> {
    /// Non-empty chunks, in key order.
    chunks: Arc<Vec<Chunk<K, V>>>,
    len: usize,
}

impl<K, V> Default for SharedMap<K, V> {
    fn default() -> Self {
        Self {
            chunks: Arc::default(),
            len: 0,
        }
    }
}

impl<K: Ord + Clone, V: Clone> SharedMap<K, V> {
    /// The map of these entries, which must be sorted by key without repeats.
    pub(crate) fn from_sorted(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut chunks = Vec::new();
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut len = 0;
        for entry in entries {
            debug_assert!(chunk.last().is_none_or(|(last, _): &(K, V)| *last < entry.0));
            chunk.push(entry);
            len += 1;
            if chunk.len() == CHUNK {
                chunks.push(Arc::new(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))));
            }
        }
        if !chunk.is_empty() {
            chunk.shrink_to_fit();
            chunks.push(Arc::new(chunk));
        }
        Self {
            chunks: Arc::new(chunks),
            len,
        }
    }

    /// How many entries the map holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the map is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The index of the chunk that holds `key` or would: the first whose last key is
    /// not less than `key`, or the last chunk.
    fn chunk_of<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let i = self
            .chunks
            .partition_point(|chunk| chunk.last().is_some_and(|(last, _)| last.borrow() < key));
        i.min(self.chunks.len().saturating_sub(1))
    }

    /// The value of `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let chunk = self.chunks.get(self.chunk_of(key))?;
        let i = chunk.binary_search_by(|(k, _)| k.borrow().cmp(key)).ok()?;
        chunk.get(i).map(|(_, v)| v)
    }

    /// Whether the map holds `key`.
    pub(crate) fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The value of `key`, to change in place (copying its chunk if it is shared).
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let c = self.chunk_of(key);
        let i = self
            .chunks
            .get(c)?
            .binary_search_by(|(k, _)| k.borrow().cmp(key))
            .ok()?;
        let chunk = Arc::make_mut(Arc::make_mut(&mut self.chunks).get_mut(c)?);
        chunk.get_mut(i).map(|(_, v)| v)
    }

    /// Inserts or replaces the value of `key`; returns the value replaced.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let c = self.chunk_of(&key);
        let chunks = Arc::make_mut(&mut self.chunks);
        let Some(chunk) = chunks.get_mut(c) else {
            chunks.push(Arc::new(vec![(key, value)]));
            self.len += 1;
            return None;
        };
        let chunk = Arc::make_mut(chunk);
        match chunk.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => chunk.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                chunk.insert(i, (key, value));
                self.len += 1;
                if chunk.len() >= 2 * CHUNK {
                    let right = chunk.split_off(CHUNK);
                    chunk.shrink_to_fit();
                    chunks.insert(c + 1, Arc::new(right));
                }
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let c = self.chunk_of(key);
        let i = self
            .chunks
            .get(c)?
            .binary_search_by(|(k, _)| k.borrow().cmp(key))
            .ok()?;
        let chunks = Arc::make_mut(&mut self.chunks);
        let chunk = Arc::make_mut(chunks.get_mut(c)?);
        let (_, value) = chunk.remove(i);
        self.len -= 1;
        if chunk.is_empty() {
            chunks.remove(c);
        }
        Some(value)
    }
}

impl<K, V> SharedMap<K, V> {
    /// Every entry, in key order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            entries: self.chunks.iter().flat_map(|chunk| chunk.iter()),
            remaining: self.len,
        }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for SharedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

type Entries<'a, K, V> =
    std::iter::FlatMap<std::slice::Iter<'a, Chunk<K, V>>, std::slice::Iter<'a, (K, V)>, ChunkIter<'a, K, V>>;
type ChunkIter<'a, K, V> = fn(&'a Chunk<K, V>) -> std::slice::Iter<'a, (K, V)>;

/// The entries of a [`SharedMap`], in key order.
pub(crate) struct Iter<'a, K, V> {
    entries: Entries<'a, K, V>,
    remaining: usize,
}

impl<K, V> Clone for Iter<'_, K, V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let (k, v) = self.entries.next()?;
        self.remaining -= 1;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> DoubleEndedIterator for Iter<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let (k, v) = self.entries.next_back()?;
        self.remaining -= 1;
        Some((k, v))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

impl<K, V> FusedIterator for Iter<'_, K, V> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{CHUNK, SharedMap};

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16, u32),
        Remove(u16),
        Bump(u16),
        Snapshot,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u16>(), any::<u32>()).prop_map(|(k, v)| Op::Insert(k % 512, v)),
            3 => any::<u16>().prop_map(|k| Op::Remove(k % 512)),
            1 => any::<u16>().prop_map(|k| Op::Bump(k % 512)),
            1 => Just(Op::Snapshot),
        ]
    }

    fn same(map: &SharedMap<u16, u32>, model: &BTreeMap<u16, u32>) {
        assert_eq!(map.len(), model.len());
        assert!(
            map.iter()
                .map(|(k, v)| (*k, *v))
                .eq(model.iter().map(|(k, v)| (*k, *v)))
        );
        assert!(
            map.iter()
                .rev()
                .map(|(k, v)| (*k, *v))
                .eq(model.iter().rev().map(|(k, v)| (*k, *v)))
        );
        for k in 0..512 {
            assert_eq!(map.get(&k), model.get(&k));
        }
    }

    proptest! {
        #[test]
        fn a_shared_map_behaves_as_a_btree_map_and_snapshots_never_change(
            initial in prop::collection::btree_map(0_u16..512, any::<u32>(), 0..300),
            ops in prop::collection::vec(op(), 0..400),
        ) {
            let mut map = SharedMap::from_sorted(initial.clone());
            let mut model = initial;
            let mut snapshots = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(map.insert(k, v), model.insert(k, v)),
                    Op::Remove(k) => prop_assert_eq!(map.remove(&k), model.remove(&k)),
                    Op::Bump(k) => {
                        if let Some(v) = map.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                        if let Some(v) = model.get_mut(&k) {
                            *v = v.wrapping_add(1);
                        }
                    }
                    Op::Snapshot => snapshots.push((map.clone(), model.clone())),
                }
                same(&map, &model);
            }
            for (map, model) in &snapshots {
                same(map, model);
            }
        }
    }

    #[test]
    fn a_map_cut_from_a_sorted_list_has_full_chunks() {
        let map = SharedMap::from_sorted((0..1000_u32).map(|k| (k, ())));
        assert_eq!(map.chunks.len(), 1000_usize.div_ceil(CHUNK));
        assert!(map.chunks.iter().all(|c| c.len() == c.capacity()));
    }
}
