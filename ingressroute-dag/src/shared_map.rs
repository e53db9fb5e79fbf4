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
    use super::{CHUNK, SharedMap};

    #[test]
    fn a_map_cut_from_a_sorted_list_has_full_chunks() {
        let map = SharedMap::from_sorted((0..1000_u32).map(|k| (k, ())));
        assert_eq!(map.chunks.len(), 1000_usize.div_ceil(CHUNK));
        assert!(map.chunks.iter().all(|c| c.len() == c.capacity()));
    }
}
