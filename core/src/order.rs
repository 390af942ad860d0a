//! An order-statistics treap over slots, keyed by (raw priority descending,
//! slot ascending): the rank order of rank-based PER.
//!
//! Node id = slot, so the treap needs three `u32` buffers (left, right, subtree
//! size) and no allocation of its own. Heap priorities are a fixed hash of the
//! slot, so the shape is a pure function of the key set: a rebuilt treap is
//! identical to the original. Insert, remove and select are O(log n) expected
//! (recursion depth about 2 ln n, 28 at n = 10^6).
//!
//! Crate feature `rank` (default). Without it, [`RankOrder`] keeps no storage
//! and does nothing: `PerConfig::validate` refuses `PerKind::Rank`, and `per`
//! reaches the order only behind `is_rank()`, which is then constant `false`,
//! so the treap's code and its 12 bytes per slot leave the binary.

use crate::storage::Storage;
#[cfg(feature = "rank")]
use crate::storage::{refill, Buffer};

#[cfg(feature = "rank")]
const NIL: u32 = u32::MAX;

/// The rank order on slots: higher raw priority first, ties by lower slot.
pub(crate) fn by_priority(raw: &[f64]) -> impl Fn(u32, u32) -> bool + '_ {
    move |a, b| {
        let (pa, pb) = (raw[a as usize], raw[b as usize]);
        pa > pb || (pa == pb && a < b)
    }
}

#[cfg(feature = "rank")]
pub(crate) struct RankOrder<S: Storage> {
    left: S::U32,
    right: S::U32,
    size: S::U32,
    root: u32,
}

#[cfg(feature = "rank")]
impl<S: Storage> Clone for RankOrder<S> {
    fn clone(&self) -> Self {
        RankOrder { left: self.left.clone(), right: self.right.clone(), size: self.size.clone(), root: self.root }
    }
}

/// A fixed 32-bit mix (the finaliser of MurmurHash3) as the heap priority.
#[cfg(feature = "rank")]
fn heap_priority(slot: u32) -> u32 {
    let mut h = slot.wrapping_add(0x9E37_79B9);
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

#[cfg(feature = "rank")]
impl<S: Storage> RankOrder<S> {
    /// Zero bits (root 0 is never read: the order is used only after `reset`,
    /// which sets the root to NIL).
    pub(crate) const EMPTY: Self = RankOrder {
        left: <S::U32 as Buffer<u32>>::EMPTY,
        right: <S::U32 as Buffer<u32>>::EMPTY,
        size: <S::U32 as Buffer<u32>>::EMPTY,
        root: 0,
    };

    /// Capacity 0, in place.
    pub(crate) fn clear(&mut self) {
        self.root = NIL;
        self.left.clear();
        self.right.clear();
        self.size.clear();
    }

    /// An empty order over `capacity` slots (0 for an unused order), in place.
    pub(crate) fn reset(&mut self, capacity: usize) -> crate::Result<()> {
        self.root = NIL;
        refill(&mut self.left, capacity, NIL)?;
        refill(&mut self.right, capacity, NIL)?;
        refill(&mut self.size, capacity, 0)
    }

    fn sz(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.size.as_ref()[t as usize]
        }
    }

    fn pull(&mut self, t: u32) {
        let s = 1 + self.sz(self.left.as_ref()[t as usize]) + self.sz(self.right.as_ref()[t as usize]);
        self.size.as_mut()[t as usize] = s;
    }

    /// Inserts slot `x`; `before(a, b)` is the strict order on slots.
    pub(crate) fn insert(&mut self, x: u32, before: &impl Fn(u32, u32) -> bool) {
        self.left.as_mut()[x as usize] = NIL;
        self.right.as_mut()[x as usize] = NIL;
        self.size.as_mut()[x as usize] = 1;
        let (l, r) = self.split(self.root, x, before);
        let lx = self.merge(l, x);
        self.root = self.merge(lx, r);
    }

    /// Removes slot `x`, which must be present under its current key.
    pub(crate) fn remove(&mut self, x: u32, before: &impl Fn(u32, u32) -> bool) {
        self.root = self.erase(self.root, x, before);
    }

    /// The slot at 0-based rank `k` (0 = highest priority); `None` past the end.
    pub(crate) fn select(&self, mut k: u32) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let l = self.left.as_ref()[t as usize];
            let ls = self.sz(l);
            if k < ls {
                t = l;
            } else if k == ls {
                return Some(t);
            } else {
                k -= ls + 1;
                t = self.right.as_ref()[t as usize];
            }
        }
        None
    }

    /// The 0-based rank of slot `x`, which must be present under its current key.
    pub(crate) fn rank_of(&self, x: u32, before: &impl Fn(u32, u32) -> bool) -> u32 {
        let mut t = self.root;
        let mut rank = 0;
        while t != NIL {
            let l = self.left.as_ref()[t as usize];
            if t == x {
                return rank + self.sz(l);
            }
            if before(x, t) {
                t = l;
            } else {
                rank += self.sz(l) + 1;
                t = self.right.as_ref()[t as usize];
            }
        }
        rank
    }

    /// Splits `t` into (keys before `x`, the rest).
    fn split(&mut self, t: u32, x: u32, before: &impl Fn(u32, u32) -> bool) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if before(t, x) {
            let (l, r) = self.split(self.right.as_ref()[t as usize], x, before);
            self.right.as_mut()[t as usize] = l;
            self.pull(t);
            (t, r)
        } else {
            let (l, r) = self.split(self.left.as_ref()[t as usize], x, before);
            self.left.as_mut()[t as usize] = r;
            self.pull(t);
            (l, t)
        }
    }

    /// Merges two treaps whose keys are all ordered `a` before `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if heap_priority(a) > heap_priority(b) {
            let m = self.merge(self.right.as_ref()[a as usize], b);
            self.right.as_mut()[a as usize] = m;
            self.pull(a);
            a
        } else {
            let m = self.merge(a, self.left.as_ref()[b as usize]);
            self.left.as_mut()[b as usize] = m;
            self.pull(b);
            b
        }
    }

    fn erase(&mut self, t: u32, x: u32, before: &impl Fn(u32, u32) -> bool) -> u32 {
        if t == NIL {
            return NIL;
        }
        if t == x {
            return self.merge(self.left.as_ref()[t as usize], self.right.as_ref()[t as usize]);
        }
        if before(x, t) {
            let n = self.erase(self.left.as_ref()[t as usize], x, before);
            self.left.as_mut()[t as usize] = n;
        } else {
            let n = self.erase(self.right.as_ref()[t as usize], x, before);
            self.right.as_mut()[t as usize] = n;
        }
        self.pull(t);
        t
    }
}

/// The order without the `rank` feature: never asked for (see the module docs).
#[cfg(not(feature = "rank"))]
pub(crate) struct RankOrder<S: Storage>(core::marker::PhantomData<S>);

#[cfg(not(feature = "rank"))]
impl<S: Storage> Clone for RankOrder<S> {
    fn clone(&self) -> Self {
        Self::EMPTY
    }
}

#[cfg(not(feature = "rank"))]
impl<S: Storage> RankOrder<S> {
    pub(crate) const EMPTY: Self = RankOrder(core::marker::PhantomData);
    pub(crate) fn clear(&mut self) {}
    pub(crate) fn reset(&mut self, _capacity: usize) -> crate::Result<()> {
        Ok(())
    }
    pub(crate) fn insert(&mut self, _x: u32, _before: &impl Fn(u32, u32) -> bool) {}
    pub(crate) fn remove(&mut self, _x: u32, _before: &impl Fn(u32, u32) -> bool) {}
    pub(crate) fn select(&self, _k: u32) -> Option<u32> {
        None
    }
    pub(crate) fn rank_of(&self, x: u32, _before: &impl Fn(u32, u32) -> bool) -> u32 {
        x
    }
}

#[cfg(all(test, feature = "rank"))]
mod tests {
    use super::*;
    use crate::storage::Heap;

    #[test]
    fn matches_sorting() {
        let keys = [5.0, 1.0, 3.0, 3.0, 9.0, 0.0, 7.0, 3.0];
        let mut keys = keys.to_vec();
        let mut order: RankOrder<Heap> = RankOrder::EMPTY;
        order.reset(keys.len()).unwrap();
        for s in 0..keys.len() as u32 {
            order.insert(s, &by_priority(&keys));
        }
        let check = |order: &RankOrder<Heap>, keys: &[f64]| {
            let mut want: std::vec::Vec<u32> = (0..keys.len() as u32).collect();
            want.sort_by(|&a, &b| keys[b as usize].total_cmp(&keys[a as usize]).then(a.cmp(&b)));
            let got: std::vec::Vec<u32> = (0..keys.len() as u32).map(|k| order.select(k).unwrap()).collect();
            assert_eq!(got, want);
            assert_eq!(order.select(keys.len() as u32), None);
        };
        check(&order, &keys);
        // Re-key slot 5 to the top.
        order.remove(5, &by_priority(&keys));
        keys[5] = 100.0;
        order.insert(5, &by_priority(&keys));
        check(&order, &keys);
    }
}
