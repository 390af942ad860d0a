//! n-step windows: environment steps in, n-step transitions out, per
//! stream (one stream per environment of a vectorised env), never across
//! an episode end.
//!
//! # The math
//! A stream's window holds its last steps `t, t+1, ...` (each the caller's
//! item, say (obs, action), with its reward). A transition starting at step
//! `t` and spanning `k <= n` steps has
//! - return `G = r_t + gamma r_{t+1} + ... + gamma^(k-1) r_{t+k-1}`;
//! - bootstrap discount `gamma^k`, or 0 when the episode *terminated* at step
//!   `t+k-1` (a truncation keeps `gamma^k`: the state there still has a value);
//! - bootstrap observation: the `next_obs` of step `t+k-1`, which is always the
//!   step just pushed (see below), so the window never stores it.
//!
//! After a push, the ready transitions are: the oldest step's, with `k = n`,
//! when the window holds n steps; every pending step's (each with its own
//! `k`), oldest first, when the pushed step ended the episode (terminated or
//! truncated). The caller takes them ([`NStepWindows::drain`] or
//! [`NStepWindows::peek`] / [`NStepWindows::pop`]) before that stream's next
//! push: a push over ready transitions is refused ([`Error::BufferFull`]),
//! so nothing is dropped. With n = 1 every step is a plain transition.
//! [`NStepWindows::end`] makes a stream's pending steps ready as truncated
//! (at the end of a run).
//!
//! # Cost
//! A push O(1); a ready transition O(k) to sum. Memory: `streams * n` items
//! and rewards, and 12 bytes a stream; `Fixed<N>` needs `streams * n <= N`.
//!
//! # Numerics
//! Rewards are finite with `|r| <=` [`MAX_PRIORITY`](crate::MAX_PRIORITY)
//! and `n <= 1024`, so every return is finite. Sums run from the newest
//! step back (Horner), the same on every target.
//!
//! ```
//! use adasample::nstep::{NStepConfig, NStepWindows, Step};
//! use adasample::storage::Heap;
//!
//! // Two environments, 3-step returns.
//! let mut w: NStepWindows<(u32, u8), Heap> =
//!     NStepWindows::new(NStepConfig { n: 3, gamma: 0.5, streams: 2 })?;
//! let mut out = Vec::new();
//! for t in 0..4u32 {
//!     let end = t == 3;
//!     w.push(0, Step { item: (t, 0), reward: 1.0, terminated: end, truncated: false })?;
//!     w.drain(0, |tr| { out.push((tr.item.0, tr.reward, tr.discount, tr.steps)); Ok(()) })?;
//! }
//! assert_eq!(out, [
//!     (0, 1.75, 0.125, 3), // 1 + 0.5 + 0.25, bootstrap gamma^3
//!     (1, 1.75, 0.0, 3),   // ends in the termination: no bootstrap
//!     (2, 1.5, 0.0, 2),
//!     (3, 1.0, 0.0, 1),
//! ]);
//! assert_eq!(w.pending(1), 0);
//! # Ok::<(), adasample::Error>(())
//! ```

use crate::error::{ensure, Error, Result};
use crate::storage::{check_fits, Buffer, Storage};

/// The longest window.
pub const MAX_N: usize = 1024;

/// Configuration of [`NStepWindows`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NStepConfig {
    /// Steps per transition, 1 to [`MAX_N`] (1: plain transitions).
    pub n: usize,
    /// Discount in `[0, 1]`.
    pub gamma: f64,
    /// Number of streams (environments), at least 1.
    pub streams: usize,
}

impl NStepConfig {
    /// Checks every field.
    ///
    /// ```
    /// use adasample::nstep::NStepConfig;
    /// assert!(NStepConfig { n: 0, gamma: 0.99, streams: 1 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        ensure((1..=MAX_N).contains(&self.n), "n", "in 1..=1024")?;
        ensure(crate::math::in_unit(self.gamma), "gamma", "in [0, 1]")?;
        ensure(self.streams >= 1 && self.streams <= u32::MAX as usize, "streams", "in 1..2^32")?;
        ensure(self.streams.checked_mul(self.n).is_some(), "streams", "with n, at most usize::MAX steps")
    }
}

/// One environment step of a stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step<T> {
    /// What a transition starting here keeps: typically the observation and the action.
    pub item: T,
    /// The reward of the step.
    pub reward: f64,
    /// The episode ended in a terminal state: no bootstrap.
    pub terminated: bool,
    /// The episode was cut (a time limit): bootstrap from the last observation.
    pub truncated: bool,
}

/// A ready n-step transition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition<'a, T> {
    /// The item of its first step.
    pub item: &'a T,
    /// The discounted return of its `steps` steps.
    pub reward: f64,
    /// `gamma^steps`, or 0 when it ends in a termination.
    pub discount: f64,
    /// Steps spanned, 1 to n.
    pub steps: usize,
}

/// Per-stream n-step windows; see the [module doc](self).
pub struct NStepWindows<T, S: Storage> {
    config: NStepConfig,
    /// `streams * n` entries, stream `s` at `s * n..(s + 1) * n`, a ring each.
    items: S::Items<Option<T>>,
    rewards: S::F64,
    /// Per stream: ring start, pending count, and the episode-end flags of
    /// the newest step (bit 0 terminated, bit 1 ended).
    start: S::U32,
    count: S::U32,
    flags: S::U32,
}

impl<T, S: Storage> core::fmt::Debug for NStepWindows<T, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NStepWindows").field("config", &self.config).finish_non_exhaustive()
    }
}

const TERMINATED: u32 = 1;
const ENDED: u32 = 2;

impl<T, S: Storage> NStepWindows<T, S> {
    /// Empty windows. Errors: [`Error::InvalidConfig`],
    /// [`Error::StorageTooSmall`] when `Fixed<N>` cannot hold `streams * n`
    /// entries, [`Error::AllocationFailed`].
    pub fn new(config: NStepConfig) -> Result<Self> {
        config.validate()?;
        let total = config.streams * config.n;
        check_fits::<S>(total)?;
        let mut w = NStepWindows {
            config,
            items: <S::Items<Option<T>> as Buffer<Option<T>>>::EMPTY,
            rewards: <S::F64 as Buffer<f64>>::EMPTY,
            start: <S::U32 as Buffer<u32>>::EMPTY,
            count: <S::U32 as Buffer<u32>>::EMPTY,
            flags: <S::U32 as Buffer<u32>>::EMPTY,
        };
        let oom = Error::AllocationFailed { bytes: total.saturating_mul(core::mem::size_of::<Option<T>>() + 8) };
        let items: &mut S::Items<Option<T>> = &mut w.items;
        if !Buffer::try_reserve(items, total) {
            return Err(oom);
        }
        for _ in 0..total {
            Buffer::push(items, None).map_err(|_| oom)?;
        }
        crate::storage::refill(&mut w.rewards, total, 0.0)?;
        crate::storage::refill(&mut w.start, config.streams, 0)?;
        crate::storage::refill(&mut w.count, config.streams, 0)?;
        crate::storage::refill(&mut w.flags, config.streams, 0)?;
        Ok(w)
    }

    /// The configuration.
    pub fn config(&self) -> &NStepConfig {
        &self.config
    }

    /// Steps of `stream` not yet taken as the start of a transition (0 for an unknown stream).
    pub fn pending(&self, stream: usize) -> usize {
        self.count.as_ref().get(stream).map_or(0, |&c| c as usize)
    }

    /// Transitions of `stream` ready to be taken.
    pub fn ready(&self, stream: usize) -> usize {
        let pending = self.pending(stream);
        match self.flags.as_ref().get(stream) {
            Some(&f) if f & ENDED != 0 => pending,
            _ => usize::from(pending == self.config.n),
        }
    }

    fn check_stream(&self, stream: usize) -> Result<()> {
        if stream >= self.config.streams {
            return Err(Error::IndexOutOfRange { index: stream, len: self.config.streams });
        }
        Ok(())
    }

    /// Appends a step to `stream`'s window. Errors, with nothing changed:
    /// [`Error::IndexOutOfRange`] for an unknown stream,
    /// [`Error::InvalidArgument`] for a NaN or infinite reward,
    /// [`Error::ValueTooLarge`] for `|reward|` above `MAX_PRIORITY`,
    /// [`Error::BufferFull`] while the stream has ready transitions not taken.
    pub fn push(&mut self, stream: usize, step: Step<T>) -> Result<()> {
        self.check_stream(stream)?;
        if !step.reward.is_finite() {
            return Err(Error::InvalidArgument { name: "reward", position: 0, value: step.reward });
        }
        if crate::error::above_max(step.reward) {
            return Err(Error::ValueTooLarge { name: "reward", position: 0, value: step.reward });
        }
        if self.ready(stream) > 0 {
            return Err(Error::BufferFull { capacity: self.config.n });
        }
        let n = self.config.n;
        let (start, count) = (self.start.as_ref()[stream] as usize, self.count.as_ref()[stream] as usize);
        let at = stream * n + (start + count) % n;
        self.items.as_mut()[at] = Some(step.item);
        self.rewards.as_mut()[at] = step.reward;
        self.count.as_mut()[stream] = (count + 1) as u32;
        self.flags.as_mut()[stream] = if step.terminated {
            TERMINATED | ENDED
        } else if step.truncated {
            ENDED
        } else {
            0
        };
        Ok(())
    }

    /// Makes every pending step of `stream` ready, as if its last step had
    /// been truncated (bootstrap kept): for the end of a run. Unknown
    /// streams: [`Error::IndexOutOfRange`].
    pub fn end(&mut self, stream: usize) -> Result<()> {
        self.check_stream(stream)?;
        if self.pending(stream) > 0 {
            self.flags.as_mut()[stream] |= ENDED;
        }
        Ok(())
    }

    /// The oldest ready transition of `stream`, if any (it stays until [`pop`](Self::pop)).
    ///
    /// ```
    /// use adasample::nstep::{NStepConfig, NStepWindows, Step};
    /// use adasample::storage::Fixed;
    /// let mut w: NStepWindows<char, Fixed<4>> = NStepWindows::new(NStepConfig { n: 2, gamma: 0.5, streams: 2 })?;
    /// w.push(1, Step { item: 'a', reward: 1.0, terminated: false, truncated: false })?;
    /// assert!(w.peek(1).is_none()); // one step of two
    /// w.push(1, Step { item: 'b', reward: 2.0, terminated: false, truncated: false })?;
    /// let t = w.peek(1).unwrap();
    /// assert_eq!((*t.item, t.reward, t.discount, t.steps), ('a', 2.0, 0.25, 2));
    /// assert_eq!(w.pop(1), Some('a'));
    /// w.end(1)?; // the run ends: 'b' is taken as truncated
    /// assert_eq!(w.peek(1).map(|t| (t.reward, t.discount)), Some((2.0, 0.5)));
    /// w.clear(1)?;
    /// assert_eq!((w.pending(1), w.ready(1)), (0, 0));
    /// # Ok::<(), adasample::Error>(())
    /// ```
    pub fn peek(&self, stream: usize) -> Option<Transition<'_, T>> {
        if self.ready(stream) == 0 {
            return None;
        }
        let n = self.config.n;
        let (start, count) = (self.start.as_ref()[stream] as usize, self.count.as_ref()[stream] as usize);
        let base = stream * n;
        let rewards = &self.rewards.as_ref()[base..base + n];
        let (mut g, mut discount) = (0.0, 1.0);
        for k in (0..count).rev() {
            g = rewards[(start + k) % n] + self.config.gamma * g;
            discount *= self.config.gamma;
        }
        if self.flags.as_ref()[stream] & TERMINATED != 0 {
            discount = 0.0;
        }
        let item = self.items.as_ref()[base + start].as_ref()?;
        Some(Transition { item, reward: g, discount, steps: count })
    }

    /// Removes the oldest ready transition of `stream` (the one
    /// [`peek`](Self::peek) shows) and hands its item back; `None` when none is ready.
    pub fn pop(&mut self, stream: usize) -> Option<T> {
        if self.ready(stream) == 0 {
            return None;
        }
        let n = self.config.n;
        let (start, count) = (self.start.as_ref()[stream] as usize, self.count.as_ref()[stream] as usize);
        let item = self.items.as_mut()[stream * n + start].take();
        self.start.as_mut()[stream] = ((start + 1) % n) as u32;
        self.count.as_mut()[stream] = (count - 1) as u32;
        if count == 1 {
            self.flags.as_mut()[stream] = 0;
        }
        item
    }

    /// Hands every ready transition of `stream` to `take`, oldest first,
    /// removing each once `take` returns `Ok`; returns how many were taken.
    /// An error from `take` stops the drain and leaves that transition (and
    /// those after it) in the window, to be taken again.
    pub fn drain(&mut self, stream: usize, mut take: impl FnMut(&Transition<'_, T>) -> Result<()>) -> Result<usize> {
        self.check_stream(stream)?;
        let mut taken = 0;
        while let Some(t) = self.peek(stream) {
            take(&t)?;
            self.pop(stream);
            taken += 1;
        }
        Ok(taken)
    }

    /// Forgets `stream`'s pending steps (an environment reset without an
    /// episode end the caller wants kept). Unknown streams: [`Error::IndexOutOfRange`].
    pub fn clear(&mut self, stream: usize) -> Result<()> {
        self.check_stream(stream)?;
        let n = self.config.n;
        for e in &mut self.items.as_mut()[stream * n..(stream + 1) * n] {
            *e = None;
        }
        self.start.as_mut()[stream] = 0;
        self.count.as_mut()[stream] = 0;
        self.flags.as_mut()[stream] = 0;
        Ok(())
    }
}
