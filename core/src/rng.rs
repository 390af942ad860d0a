//! The default random generator and the two conversions every sampler uses.
//!
//! Samplers take any [`rand_core::RngCore`]; each also owns a [`DefaultRng`] so
//! that the seed's call shapes (`sample(batch)`) work without passing a
//! generator, and so that a snapshot captures the generator too.
//!
//! Determinism: [`DefaultRng`] is xoshiro256++ (Blackman & Vigna), seeded by
//! SplitMix64 from a `u64`. Both use only wrapping integer arithmetic, and the
//! conversions below use only exact integer-to-float operations, so the same
//! seed gives the same bits on x86_64, wasm32 and thumbv7em.

use rand_core::{impls, RngCore, SeedableRng};

/// xoshiro256++: 256 bits of state, period 2^256 - 1, passes BigCrush; not
/// cryptographic. Seed it with [`DefaultRng::seed_from_u64`].
///
/// ```
/// use adasample::DefaultRng;
/// use rand_core::{RngCore, SeedableRng};
/// let mut a = DefaultRng::seed_from_u64(7);
/// let mut b = DefaultRng::seed_from_u64(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DefaultRng {
    s: [u64; 4],
}

impl DefaultRng {
    /// The generator for `seed` (SplitMix64 expansion), usable in `const`
    /// contexts; the same as `SeedableRng::seed_from_u64(seed)`.
    pub const fn new(seed: u64) -> Self {
        let mut x = seed;
        DefaultRng { s: [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)] }
    }

    /// All-zero state: a placeholder for the samplers' `EMPTY` constants (so
    /// that a `static` of one lands in `.bss`), always re-seeded before use.
    pub(crate) const ZERO: Self = DefaultRng { s: [0; 4] };

    /// The generator's full state, for inspection or external storage.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// Rebuilds a generator from [`state`](Self::state). An all-zero state
    /// (the one fixed point of xoshiro) is replaced by the state of seed 0.
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            Self::new(0)
        } else {
            DefaultRng { s }
        }
    }
}

const fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SeedableRng for DefaultRng {
    type Seed = [u8; 32];

    fn from_seed(seed: [u8; 32]) -> Self {
        let mut s = [0u64; 4];
        for (word, chunk) in s.iter_mut().zip(seed.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_le_bytes(b);
        }
        Self::from_state(s)
    }

    /// SplitMix64 expands the `u64` into the 256-bit state, as Vigna recommends.
    fn seed_from_u64(seed: u64) -> Self {
        Self::new(seed)
    }
}

impl RngCore for DefaultRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        impls::fill_bytes_via_next(self, dst)
    }
}

/// Runs `draw` on `owner` with a copy of the generator that `rng` picks out of
/// it, and keeps the copy's advanced state only if `draw` succeeds: a failed
/// call leaves the owner's generator untouched.
pub(crate) fn commit_on_ok<S, T>(
    owner: &mut S,
    rng: fn(&mut S) -> &mut DefaultRng,
    draw: impl FnOnce(&mut S, &mut DefaultRng) -> crate::Result<T>,
) -> crate::Result<T> {
    let mut copy = rng(owner).clone();
    let out = draw(owner, &mut copy)?;
    *rng(owner) = copy;
    Ok(out)
}

/// A uniform float in `[0, 1)`: the top 53 bits of one `next_u64`, times 2^-53.
/// Exact on every target (no rounding happens).
///
/// ```
/// use adasample::rng::{below, unit_f64};
/// use adasample::DefaultRng;
/// use rand_core::SeedableRng;
/// let mut r = DefaultRng::seed_from_u64(1);
/// let u = unit_f64(&mut r);
/// assert!((0.0..1.0).contains(&u));
/// assert!(below(&mut r, 6) < 6);
/// let saved = r.state();
/// assert_eq!(unit_f64(&mut r), unit_f64(&mut DefaultRng::from_state(saved)));
/// ```
pub fn unit_f64<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in `[0, n)` for `n >= 1` by the multiply-shift method
/// (one `next_u64`; bias below 2^-32 for any `n < 2^32`). Returns 0 for `n == 0`.
pub fn below<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_reference_vector() {
        // Reference output of xoshiro256++ for state [1, 2, 3, 4] (Vigna's C code).
        let mut r = DefaultRng { s: [1, 2, 3, 4] };
        let expect = [41943041u64, 58720359, 3588806011781223, 3591011842654386];
        for e in expect {
            assert_eq!(r.next_u64(), e);
        }
    }

    #[test]
    fn unit_range_and_below() {
        let mut r = DefaultRng::seed_from_u64(1);
        for _ in 0..10_000 {
            let u = unit_f64(&mut r);
            assert!((0.0..1.0).contains(&u));
            assert!(below(&mut r, 7) < 7);
        }
        assert_eq!(below(&mut r, 0), 0);
    }

    #[test]
    fn zero_state_is_replaced() {
        let mut r = DefaultRng::from_state([0; 4]);
        assert_ne!(r.next_u64(), 0);
    }
}
