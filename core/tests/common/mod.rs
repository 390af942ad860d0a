//! Inputs shared by the tests, the fuzz targets and the rank benchmark.
#![allow(dead_code)]

use rand_core::RngCore;

/// The fixed slot hash (MurmurHash3's finaliser) that gave the old treap its
/// heap priorities: priorities that follow it turned the treap into a path.
pub fn old_treap_hash(slot: u32) -> f64 {
    let mut h = slot.wrapping_add(0x9E37_79B9);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    f64::from(h ^ (h >> 16))
}

/// `n` priorities in random order (xorshift, fixed seed), then in the orders
/// an adversary would pick against a search tree: ascending, descending,
/// zigzag, and the old treap's hash order.
pub fn priority_orders(n: usize) -> [(&'static str, Vec<f64>); 5] {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let random = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64
        })
        .collect();
    [
        ("random", random),
        ("ascending", (0..n).map(|i| i as f64).collect()),
        ("descending", (0..n).map(|i| (n - i) as f64).collect()),
        ("zigzag", (0..n).map(|i| if i % 2 == 0 { i as f64 } else { 1e9 - i as f64 }).collect()),
        ("old treap hash", (0..n as u32).map(old_treap_hash).collect()),
    ]
}

/// A generator whose every draw is the largest (`unit_f64` is `1 - 2^-53`):
/// the edge of the last stratum.
pub struct Top;

impl RngCore for Top {
    fn next_u32(&mut self) -> u32 {
        u32::MAX
    }
    fn next_u64(&mut self) -> u64 {
        u64::MAX
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(0xff)
    }
}
