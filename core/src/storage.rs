//! Where the samplers keep their numbers: on the heap or in fixed arrays.
//!
//! One algorithm implementation serves both kinds of storage. A sampler is
//! generic over a [`Storage`] family, which names the buffer types it uses:
//!
//! - [`Heap`] (feature `alloc`): `alloc::vec::Vec`, sized at run time.
//! - [`Fixed<N>`]: `heapless::Vec<_, N>`, no allocator; every buffer of the
//!   sampler holds at most `N` elements, inline in the sampler itself.
//!
//! Trees ([`crate::tree::SumTree`]) keep their internal nodes in one buffer of
//! `capacity.next_power_of_two()` elements, so with `Fixed<N>` a tree (and any
//! sampler built on one) accepts a capacity `c` when `c.next_power_of_two() <= N`.
//! Pick `N` a power of two and the rule is simply `c <= N`. A capacity that does
//! not fit is an [`Error::StorageTooSmall`], never a panic.
//!
//! The traits are sealed: the two families above are the only ones.

use crate::error::{Error, Result};
use core::fmt::Debug;

mod sealed {
    pub trait Sealed {}
}

/// A growable buffer with a possibly fixed maximum length. Sealed.
pub trait Buffer<T>: AsRef<[T]> + AsMut<[T]> + Sized + sealed::Sealed {
    /// An empty buffer, usable in `const` and `static` initialisers.
    const EMPTY: Self;
    /// Appends `value`, handing it back when the buffer is full (fixed
    /// storage) or the allocator cannot grow it (heap: never an abort).
    fn push(&mut self, value: T) -> core::result::Result<(), T>;
    /// Removes every element.
    fn clear(&mut self);
    /// Makes room for `additional` more elements up front; `false` when the
    /// storage (or the allocator) cannot provide it.
    fn try_reserve(&mut self, additional: usize) -> bool;
    /// Appends a copy of every value, all or none; `false` (nothing
    /// appended) when the storage cannot hold them.
    fn try_extend(&mut self, values: &[T]) -> bool
    where
        T: Copy;
}

/// A family of buffer types, one per element type a sampler needs. Sealed.
pub trait Storage: sealed::Sealed + Copy + Debug + Default + 'static {
    /// Buffers of `f64` (tree nodes, scores, rewards).
    type F64: Buffer<f64> + Clone + Debug + PartialEq;
    /// Buffers of `u32` (generations, links).
    type U32: Buffer<u32> + Clone + Debug + PartialEq;
    /// Buffers of bytes (rows of [`crate::rows::RowStorage`], column names).
    type U8: Buffer<u8> + Clone + Debug + PartialEq;
    /// Buffers of user items.
    type Items<T>: Buffer<T>;
    /// The most elements one buffer can hold (`usize::MAX` on the heap).
    const MAX_LEN: usize;
    /// Whether buffers are allocated as they fill (heap) rather than held
    /// whole from the start (fixed storage, where growing would save nothing).
    const GROWS: bool;
}

/// Run-time sized storage on the heap (`Vec`). Needs feature `alloc`.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heap;

/// Fixed storage of at most `N` elements per buffer, no allocator
/// (`heapless::Vec`). See the module doc for the capacity rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fixed<const N: usize>;

#[cfg(feature = "alloc")]
impl sealed::Sealed for Heap {}
impl<const N: usize> sealed::Sealed for Fixed<N> {}

#[cfg(feature = "alloc")]
impl Storage for Heap {
    type F64 = alloc::vec::Vec<f64>;
    type U32 = alloc::vec::Vec<u32>;
    type U8 = alloc::vec::Vec<u8>;
    type Items<T> = alloc::vec::Vec<T>;
    const MAX_LEN: usize = usize::MAX;
    const GROWS: bool = true;
}

impl<const N: usize> Storage for Fixed<N> {
    type F64 = heapless::Vec<f64, N>;
    type U32 = heapless::Vec<u32, N>;
    type U8 = heapless::Vec<u8, N>;
    type Items<T> = heapless::Vec<T, N>;
    const MAX_LEN: usize = N;
    const GROWS: bool = false;
}

#[cfg(feature = "alloc")]
impl<T> sealed::Sealed for alloc::vec::Vec<T> {}
#[cfg(feature = "alloc")]
impl<T> Buffer<T> for alloc::vec::Vec<T> {
    const EMPTY: Self = alloc::vec::Vec::new();
    fn push(&mut self, value: T) -> core::result::Result<(), T> {
        // Amortised growth, but fallible: `Vec::push` would abort the process.
        if self.len() == self.capacity() && alloc::vec::Vec::try_reserve(self, 1).is_err() {
            return Err(value);
        }
        alloc::vec::Vec::push(self, value);
        Ok(())
    }
    fn clear(&mut self) {
        alloc::vec::Vec::clear(self)
    }
    fn try_reserve(&mut self, additional: usize) -> bool {
        // Amortised (doubling), so a reservation of one per push stays O(1);
        // on an empty vector it reserves exactly `additional`.
        alloc::vec::Vec::try_reserve(self, additional).is_ok()
    }
    fn try_extend(&mut self, values: &[T]) -> bool
    where
        T: Copy,
    {
        let ok = Buffer::try_reserve(self, values.len());
        if ok {
            self.extend_from_slice(values);
        }
        ok
    }
}

impl<T, const N: usize> sealed::Sealed for heapless::Vec<T, N> {}
impl<T, const N: usize> Buffer<T> for heapless::Vec<T, N> {
    const EMPTY: Self = heapless::Vec::new();
    fn push(&mut self, value: T) -> core::result::Result<(), T> {
        heapless::Vec::push(self, value)
    }
    fn clear(&mut self) {
        heapless::Vec::clear(self)
    }
    fn try_reserve(&mut self, additional: usize) -> bool {
        N - self.len() >= additional
    }
    fn try_extend(&mut self, values: &[T]) -> bool
    where
        T: Copy,
    {
        self.extend_from_slice(values).is_ok()
    }
}

/// Node count of a tree over `capacity` leaves: `capacity.next_power_of_two()`,
/// or `usize::MAX` where that overflows (a 32-bit target near 2^32).
pub(crate) fn tree_size(capacity: usize) -> usize {
    capacity.checked_next_power_of_two().unwrap_or(usize::MAX)
}

/// Checks that `len` elements fit one buffer of `S`.
pub(crate) fn check_fits<S: Storage>(len: usize) -> Result<()> {
    if len <= S::MAX_LEN {
        Ok(())
    } else {
        Err(Error::StorageTooSmall { needed: len, available: S::MAX_LEN })
    }
}

/// Makes `b` hold exactly `len` copies of `value`, in place (no temporary of
/// the buffer's size). [`Error::AllocationFailed`] (not an abort) when the
/// memory is not there (capacities were checked against fixed storage
/// before); `b` is then empty.
pub(crate) fn refill<B: Buffer<V>, V: Copy>(b: &mut B, len: usize, value: V) -> Result<()> {
    b.clear();
    let failed = Error::AllocationFailed { bytes: len.saturating_mul(core::mem::size_of::<V>()) };
    if !b.try_reserve(len) {
        return Err(failed);
    }
    for _ in 0..len {
        if b.push(value).is_err() {
            b.clear();
            return Err(failed);
        }
    }
    Ok(())
}

/// Runs a slice-filling sampler into fresh vectors of `n` indices and
/// weights, allocated fallibly ([`Error::AllocationFailed`], never an abort).
/// The caller checks first what makes the call fail whatever the memory
/// (an empty sampler, a batch too large), so those errors come before any
/// allocation.
#[cfg(feature = "alloc")]
pub(crate) fn vec_batch(
    n: usize,
    fill: impl FnOnce(&mut [usize], &mut [f64]) -> Result<()>,
) -> Result<(alloc::vec::Vec<usize>, alloc::vec::Vec<f64>)> {
    let mut indices = crate::error::try_vec(n, 0usize)?;
    let mut weights = crate::error::try_vec(n, 0.0)?;
    fill(&mut indices, &mut weights)?;
    Ok((indices, weights))
}
