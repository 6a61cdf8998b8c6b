//! Maps keyed by the worker's own numbers (checker ids, probe tokens,
//! script requests): hashed with one multiplication instead of SipHash.
//! The keys are counters the worker hands out itself, never chosen by
//! anyone outside, so they need no protection against crafted collisions;
//! the maps are touched several times per probe.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by one of the worker's numbers.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of an integer key: a bijection, so consecutive ids
/// spread over the table's low bits (the bucket) and its high bits (the
/// control byte) alike.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by integer keys; any other key still hashes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(K);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn ids_hash_apart_and_maps_work() {
        let b = BuildHasherDefault::<IdHasher>::default();
        let hashes: std::collections::HashSet<u64> =
            (0u64..10_000).map(|i| b.hash_one(i)).collect();
        assert_eq!(hashes.len(), 10_000);
        // Consecutive ids fill the control byte's range (the top 7 bits).
        let tops: std::collections::HashSet<u64> =
            (0u64..1_000).map(|i| b.hash_one(i) >> 57).collect();
        assert_eq!(tops.len(), 128);
        let mut m: IdMap<u64, u64> = IdMap::default();
        for i in 0..10_000 {
            m.insert(i, i * 2);
        }
        assert!((0..10_000).all(|i| m.get(&i) == Some(&(i * 2))));
        assert_eq!(m.remove(&42), Some(84));
        assert_eq!(m.len(), 9_999);
    }
}
