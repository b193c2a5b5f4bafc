//! The hasher of the maps keyed by Telegram ids (chats, users, a chat and
//! user together), which the update path looks up several times per update.
//! std's SipHash defends a map against keys an attacker picks; these keys are
//! ids Telegram assigns, so a multiply-and-mix hash does, at a fraction of the cost.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Multiplies each integer in; `finish` mixes the high bits down, so ids
/// that share their low bits (multiples of a power of two) still spread over buckets.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.add(u64::from(x));
    }

    fn write_i32(&mut self, x: i32) {
        self.add(x as u64);
    }

    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }

    fn write_i64(&mut self, x: i64) {
        self.add(x as u64);
    }

    fn finish(&self) -> u64 {
        let h = self.0;
        h ^ (h >> 29) ^ (h >> 47)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn ids_sharing_their_low_bits_still_spread_over_buckets() {
        let build = BuildHasherDefault::<IdHasher>::default();
        // 4,096 chats whose ids are all multiples of 1,024, into 256 buckets
        // by the low bits, as hashbrown picks them.
        let mut buckets = [0u32; 256];
        for i in 0..4096i64 {
            buckets[(build.hash_one(i * 1024) & 255) as usize] += 1;
        }
        let fullest = buckets.iter().max().copied().unwrap_or(0);
        assert!(fullest < 40, "a bucket holds {fullest} of 4,096 (16 on average)");
        let mut map: IdMap<(i64, i64), u32> = IdMap::default();
        map.insert((-100, 7), 1);
        assert_eq!(map.get(&(-100, 7)), Some(&1));
        assert_eq!(map.get(&(7, -100)), None);
    }
}
