//! An order-statistics search tree over slots, keyed by (raw priority
//! descending, slot ascending): the rank order of rank-based PER.
//!
//! A weight-balanced tree (Adams 1993, with the parameters `(delta, gamma) =
//! (3, 2)` that Hirai & Yamamoto 2011 proved correct for insertion and
//! deletion): every node's subtrees weigh (size + 1) within a factor 3 of
//! each other. The bound holds for *every* sequence of keys, so no order an
//! adversary can pick (sorted priorities, or ones that follow any hash) makes
//! it deeper than `log_{4/3} n` (75 levels at 2^32 slots), and every operation
//! is O(log n) in the worst case. Nothing recurses: insertion and removal keep
//! the path in a fixed array on the stack ([`MAX_DEPTH`] entries, 384 bytes)
//! and rebalance it bottom-up, one single or double rotation per level at most.
//!
//! Node id = slot, so the tree needs three `u32` buffers (left, right, subtree
//! size) that grow one entry per slot as the ring fills, and no allocation of
//! its own. Its shape depends on the history of insertions, but nothing read
//! from it does: [`select`](RankOrder::select) and
//! [`rank_of`](RankOrder::rank_of) depend only on the key order, so a
//! restored buffer (which re-inserts in slot order) draws exactly as the
//! original.
//!
//! Crate feature `rank` (default). Without it, [`RankOrder`] keeps no storage
//! and does nothing: `PerConfig::validate` refuses `PerKind::Rank`, and `per`
//! reaches the order only behind `is_rank()`, which is then constant `false`,
//! so the tree's code and its 12 bytes per slot leave the binary.

#[cfg(feature = "rank")]
use crate::storage::Buffer;
use crate::storage::Storage;

#[cfg(feature = "rank")]
const NIL: u32 = u32::MAX;

/// Longest root-to-node path the tree can have: weight balance keeps every
/// child at most 3/4 of its parent's weight, so a tree of `n < 2^32` nodes
/// is at most `log_{4/3}(2^31) < 75` levels deep; 96 leaves room.
#[cfg(feature = "rank")]
const MAX_DEPTH: usize = 96;

/// The rank order on slots: higher raw priority first, ties by lower slot.
pub(crate) fn by_priority(raw: &[f64]) -> impl Fn(u32, u32) -> bool + '_ {
    move |a, b| {
        let (pa, pb) = (raw[a as usize], raw[b as usize]);
        pa > pb || (pa == pb && a < b)
    }
}

#[cfg(feature = "rank")]
#[derive(Clone)]
pub(crate) struct RankOrder<S: Storage> {
    left: S::U32,
    right: S::U32,
    size: S::U32,
    root: u32,
}

/// The path from the root to a node: the nodes, and for each the side it
/// hangs on from the one before it (bit `i` set: right child).
#[cfg(feature = "rank")]
struct Path {
    nodes: [u32; MAX_DEPTH],
    right: u128,
    len: usize,
}

#[cfg(feature = "rank")]
impl Path {
    fn new() -> Self {
        Path { nodes: [NIL; MAX_DEPTH], right: 0, len: 0 }
    }

    /// Appends `node`, reached by the `right` side; `false` when full (which
    /// a balanced tree never needs: see [`MAX_DEPTH`]).
    fn push(&mut self, node: u32, right: bool) -> bool {
        let Some(slot) = self.nodes.get_mut(self.len) else {
            return false;
        };
        *slot = node;
        self.right = (self.right & !(1u128 << self.len)) | (u128::from(right) << self.len);
        self.len += 1;
        true
    }
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

    /// No slots, in place.
    pub(crate) fn clear(&mut self) {
        self.root = NIL;
        self.left.clear();
        self.right.clear();
        self.size.clear();
    }

    /// Room for slots `0..n` as node ids (nothing when there is already),
    /// all or nothing; `false` when the storage or the allocator cannot
    /// provide it.
    pub(crate) fn grow_to(&mut self, n: usize) -> bool {
        let more = n.saturating_sub(self.size.as_ref().len());
        if !(self.left.try_reserve(more) && self.right.try_reserve(more) && self.size.try_reserve(more)) {
            return false;
        }
        // Reserved: the pushes cannot fail.
        for _ in 0..more {
            let _ = self.left.push(NIL);
            let _ = self.right.push(NIL);
            let _ = self.size.push(0);
        }
        true
    }

    fn sz(&self, t: u32) -> u32 {
        self.size.as_ref().get(t as usize).copied().unwrap_or(0)
    }

    fn weight(&self, t: u32) -> u64 {
        u64::from(self.sz(t)) + 1
    }

    fn l(&self, t: u32) -> u32 {
        self.left.as_ref().get(t as usize).copied().unwrap_or(NIL)
    }

    fn r(&self, t: u32) -> u32 {
        self.right.as_ref().get(t as usize).copied().unwrap_or(NIL)
    }

    /// Sets a child link; writes to NIL or past the end are ignored.
    fn set_child(&mut self, t: u32, right: bool, child: u32) {
        let links = if right { self.right.as_mut() } else { self.left.as_mut() };
        if let Some(link) = links.get_mut(t as usize) {
            *link = child;
        }
    }

    fn pull(&mut self, t: u32) {
        let s = 1 + self.sz(self.l(t)) + self.sz(self.r(t));
        if let Some(size) = self.size.as_mut().get_mut(t as usize) {
            *size = s;
        }
    }

    /// Rotates `t`'s child on the `right` side (or left) up into its place;
    /// returns the new subtree root.
    fn rotate(&mut self, t: u32, right: bool) -> u32 {
        let c = if right { self.r(t) } else { self.l(t) };
        let inner = if right { self.l(c) } else { self.r(c) };
        self.set_child(t, right, inner);
        self.set_child(c, !right, t);
        self.pull(t);
        self.pull(c);
        c
    }

    /// Restores the weight balance at `t`, whose subtrees are balanced and
    /// changed by at most one node since `t` was (Adams' `balance`); returns
    /// the subtree's root, its size recomputed.
    fn balance(&mut self, t: u32) -> u32 {
        const DELTA: u64 = 3;
        const GAMMA: u64 = 2;
        let (wl, wr) = (self.weight(self.l(t)), self.weight(self.r(t)));
        let heavy_right = if DELTA * wl < wr {
            true
        } else if DELTA * wr < wl {
            false
        } else {
            self.pull(t);
            return t;
        };
        let c = if heavy_right { self.r(t) } else { self.l(t) };
        let (inner, outer) = if heavy_right {
            (self.weight(self.l(c)), self.weight(self.r(c)))
        } else {
            (self.weight(self.r(c)), self.weight(self.l(c)))
        };
        if inner >= GAMMA * outer {
            // Double rotation: the inner grandchild first.
            let c2 = self.rotate(c, !heavy_right);
            self.set_child(t, heavy_right, c2);
        }
        self.rotate(t, heavy_right)
    }

    /// Rebalances the path bottom-up, re-linking each new subtree root to
    /// the node above it.
    fn rebalance(&mut self, path: &Path) {
        for i in (0..path.len).rev() {
            let sub = self.balance(path.nodes[i]);
            if i == 0 {
                self.root = sub;
            } else {
                self.set_child(path.nodes[i - 1], path.right >> i & 1 == 1, sub);
            }
        }
    }

    /// Inserts slot `x` (a node id below the slots grown); `before(a, b)` is
    /// the strict order on slots.
    pub(crate) fn insert(&mut self, x: u32, before: &impl Fn(u32, u32) -> bool) {
        self.set_child(x, false, NIL);
        self.set_child(x, true, NIL);
        if let Some(size) = self.size.as_mut().get_mut(x as usize) {
            *size = 1;
        }
        let mut path = Path::new();
        let (mut t, mut right) = (self.root, false);
        while t != NIL {
            if !path.push(t, right) {
                return;
            }
            right = !before(x, t);
            t = if right { self.r(t) } else { self.l(t) };
        }
        match path.len {
            0 => self.root = x,
            n => self.set_child(path.nodes[n - 1], right, x),
        }
        self.rebalance(&path);
    }

    /// Removes slot `x`, which must be present under its current key.
    pub(crate) fn remove(&mut self, x: u32, before: &impl Fn(u32, u32) -> bool) {
        let mut path = Path::new();
        let (mut t, mut right) = (self.root, false);
        while t != x {
            if t == NIL || !path.push(t, right) {
                return; // not present
            }
            right = !before(x, t);
            t = if right { self.r(t) } else { self.l(t) };
        }
        let (l, r) = (self.l(x), self.r(x));
        let replacement = if l == NIL || r == NIL {
            if l == NIL {
                r
            } else {
                l
            }
        } else {
            // Two children: the successor `s` (leftmost of the right subtree)
            // leaves its place and takes `x`'s; the path runs through `x`'s
            // position (now `s`) down to `s`'s old parent.
            let at = path.len;
            if !path.push(x, right) {
                return;
            }
            let (mut s, mut side) = (r, true);
            while self.l(s) != NIL {
                if !path.push(s, side) {
                    return;
                }
                side = false;
                s = self.l(s);
            }
            let parent = path.nodes[path.len - 1];
            let s_right = self.r(s);
            self.set_child(parent, side, s_right);
            self.set_child(s, false, l);
            self.set_child(s, true, if parent == x { s_right } else { r });
            // The walk re-links every level, `s` to `x`'s parent included.
            path.nodes[at] = s;
            self.rebalance(&path);
            return;
        };
        match path.len {
            0 => self.root = replacement,
            n => self.set_child(path.nodes[n - 1], right, replacement),
        }
        self.rebalance(&path);
    }

    /// The slot at 0-based rank `k` (0 = highest priority); `None` past the end.
    pub(crate) fn select(&self, mut k: u32) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let l = self.l(t);
            let ls = self.sz(l);
            if k < ls {
                t = l;
            } else if k == ls {
                return Some(t);
            } else {
                k -= ls + 1;
                t = self.r(t);
            }
        }
        None
    }

    /// The 0-based rank of slot `x`, which must be present under its current key.
    pub(crate) fn rank_of(&self, x: u32, before: &impl Fn(u32, u32) -> bool) -> u32 {
        let mut t = self.root;
        let mut rank = 0;
        while t != NIL {
            let l = self.l(t);
            if t == x {
                return rank + self.sz(l);
            }
            if before(x, t) {
                t = l;
            } else {
                rank += self.sz(l) + 1;
                t = self.r(t);
            }
        }
        rank
    }

    /// The depth of the deepest node (a test of the balance bound), O(n).
    #[cfg(test)]
    pub(crate) fn height(&self) -> usize {
        let mut stack = std::vec![(self.root, 1usize)];
        let mut h = 0;
        while let Some((t, d)) = stack.pop() {
            if t != NIL {
                h = h.max(d);
                stack.push((self.l(t), d + 1));
                stack.push((self.r(t), d + 1));
            }
        }
        h
    }
}

/// The order without the `rank` feature: never asked for (see the module docs).
#[cfg(not(feature = "rank"))]
#[derive(Clone)]
pub(crate) struct RankOrder<S: Storage>(core::marker::PhantomData<S>);

#[cfg(not(feature = "rank"))]
impl<S: Storage> RankOrder<S> {
    pub(crate) const EMPTY: Self = RankOrder(core::marker::PhantomData);
    pub(crate) fn clear(&mut self) {}
    pub(crate) fn grow_to(&mut self, _n: usize) -> bool {
        true
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
    use crate::test_inputs as adversarial;
    use std::vec::Vec;

    fn order_of(keys: &[f64]) -> Vec<u32> {
        let mut want: Vec<u32> = (0..keys.len() as u32).collect();
        // -0.0 and 0.0 tie, as in `by_priority`.
        want.sort_by(|&a, &b| keys[b as usize].partial_cmp(&keys[a as usize]).unwrap().then(a.cmp(&b)));
        want
    }

    fn check(order: &RankOrder<Heap>, keys: &[f64]) {
        let want = order_of(keys);
        let got: Vec<u32> = (0..keys.len() as u32).map(|k| order.select(k).unwrap()).collect();
        assert_eq!(got, want);
        assert_eq!(order.select(keys.len() as u32), None);
        for (rank, &slot) in want.iter().enumerate() {
            assert_eq!(order.rank_of(slot, &by_priority(keys)), rank as u32);
        }
    }

    fn filled(keys: &[f64]) -> RankOrder<Heap> {
        let mut order: RankOrder<Heap> = RankOrder::EMPTY;
        order.clear();
        for s in 0..keys.len() as u32 {
            assert!(order.grow_to(s as usize + 1));
            order.insert(s, &by_priority(keys));
        }
        order
    }

    /// `log_{4/3}(n + 1) + 1`: the weight-balance bound on the height.
    fn bound(n: usize) -> usize {
        ((n as f64 + 1.0).ln() / (4.0f64 / 3.0).ln()) as usize + 1
    }

    #[test]
    fn matches_sorting() {
        let mut keys = [5.0, 1.0, 3.0, 3.0, 9.0, 0.0, 7.0, 3.0].to_vec();
        let mut order = filled(&keys);
        check(&order, &keys);
        // Re-key slot 5 to the top.
        order.remove(5, &by_priority(&keys));
        keys[5] = 100.0;
        order.insert(5, &by_priority(&keys));
        check(&order, &keys);
    }

    #[test]
    fn adversarial_orders_stay_balanced() {
        let n = 20_000;
        // Ascending, descending and zigzag priorities (a plain BST's worst
        // cases), and priorities that follow the old treap's fixed hash
        // (which made it a path).
        let orders = adversarial::priority_orders(n).map(|(_, keys)| keys);
        for keys in orders {
            let order = filled(&keys);
            assert!(order.height() <= bound(n), "height {} over {}", order.height(), bound(n));
            check(&order, &keys);
        }
    }

    #[test]
    fn random_updates_match_sorting_and_stay_balanced() {
        let n = 500;
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Few distinct values (many ties), extremes and signed zeros.
        let pick = |r: u64| [0.0, -0.0, 1e-300, 5e-324, 1.0, 2.0, 1e308, f64::MAX][(r % 8) as usize];
        let mut keys: Vec<f64> = (0..n).map(|_| pick(next())).collect();
        let mut order = filled(&keys);
        for step in 0..20_000 {
            let slot = (next() % n as u64) as u32;
            order.remove(slot, &by_priority(&keys));
            keys[slot as usize] = if step % 3 == 0 { pick(next()) } else { (next() % 1000) as f64 };
            order.insert(slot, &by_priority(&keys));
            if step % 2000 == 0 {
                check(&order, &keys);
                assert!(order.height() <= bound(n));
            }
        }
        check(&order, &keys);
    }
}
