//! # adasample
//!
//! Adaptive data sampling for training loops, in one `no_std` core:
//!
//! Who picks and who holds are apart: *selectors* choose slots by key
//! (priorities, generations, schedule, generator) and know nothing of what a
//! slot holds; *row storage* holds named fixed-width columns and knows
//! nothing of priorities; the n-step windows turn environment steps into
//! transitions. A batch leaves as a few contiguous arrays.
//!
//! | module | what |
//! |---|---|
//! | [`select`] | the [`Selector`](select::Selector) trait, [`Key`](select::Key), [`Draw`](select::Draw) |
//! | [`per`] | [`PrioritizedSelector`](per::PrioritizedSelector) (proportional and rank-based PER), and [`PrioritizedReplayBuffer`](per::PrioritizedReplayBuffer): a selector plus a ring of items |
//! | [`uniform`] | [`UniformSelector`](uniform::UniformSelector): independent, stratified or distinct uniform draws |
//! | [`rows`] | [`RowStorage`](rows::RowStorage): a ring of rows in named f32/f64/i32/u32/u8 columns with shapes |
//! | [`table`] | [`ReplayTable`](table::ReplayTable): a selector and the rows of its slots |
//! | [`nstep`] | per-stream n-step windows: returns, bootstrap discounts, episode ends |
//! | [`tree`] | [`SumTree`](tree::SumTree): sum + min tree, stratified batch sampling |
//! | [`adaptive`] | loss-driven batch sampling: EMA, AdaBoost and OHEM modes, optional per-example prior |
//! | [`prior`] | the adaptive sampler's prior and weight targets: formulas, costs, numerics (feature `prior`) |
//! | [`reward`] | reward-weighted sampling (RWR / AWR weights) |
//! | [`iw`] | importance weights for iw-SFT (Qin & Springenberg 2025) |
//! | [`schedule`] | constant, linear and cosine schedules |
//! | [`shard`] | exact global prioritized sampling over shards (processes, hosts): the math, no transport |
//! | [`storage`] | heap (`Vec`) or fixed (`heapless`) storage, one implementation |
//! | [`rng`] | the default generator and exact float conversions |
//! | [`error`] | the one error enum |
//!
//! Every fallible call returns [`Result`]; inputs are validated before any state
//! changes and before anything is allocated, heap memory is reserved fallibly
//! ([`Error::AllocationFailed`], never an abort), nothing recurses deeper than
//! O(log n), and no input can make a public call panic. Finite inputs give
//! finite outputs: priorities, losses and scores are bounded by
//! [`MAX_PRIORITY`] so that no sum overflows. Given the same seed and
//! calls, results are bit-identical on x86_64, wasm32 and thumbv7em (all float
//! functions come from `libm`, all random floats from exact integer conversions).
//!
//! Features: `alloc` (default; `Vec` storage and the `Vec`-returning
//! conveniences), `rank` (default; rank-based PER, whose rank order costs about
//! 3.4 KB of flash and 12 bytes per slot: firmware that needs only
//! proportional PER leaves it out, and `PerConfig::validate` then refuses
//! `PerKind::Rank`), `prior` (default; per-example priors in the adaptive
//! sampler, class-balanced sampling: about 3 KB of flash, and two more trees,
//! 48 bytes per example, inline in a `Fixed<N>` sampler), `serde`
//! (snapshots: `snapshot()` / `restore()` on every sampler, and serde impls
//! of the configs).
//!
//! ```
//! use adasample::per::{PerConfig, PrioritizedReplayBuffer};
//! use adasample::storage::Heap;
//!
//! let mut replay: PrioritizedReplayBuffer<&str, Heap> = PrioritizedReplayBuffer::new(PerConfig::new(4))?;
//! replay.add("a")?;
//! replay.add("b")?;
//! let indices = replay.sample(2)?.indices;
//! replay.update_priorities(&indices, &[0.5, 2.0])?;
//! # Ok::<(), adasample::Error>(())
//! ```
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs, missing_debug_implementations)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(feature = "alloc")]
extern crate alloc;

pub mod adaptive;
pub mod error;
pub mod iw;
mod math;
pub mod nstep;
mod order;
pub mod per;
#[cfg(feature = "prior")]
pub mod prior;
pub mod reward;
pub mod rng;
pub mod rows;
pub mod schedule;
pub mod select;
pub mod shard;
#[cfg(feature = "serde")]
pub mod snapshot;
pub mod storage;
pub mod table;
pub mod tree;
pub mod uniform;

// The adversarial inputs the integration tests and benchmarks use, for the
// unit tests too.
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_inputs;

pub use error::{Error, Result};
pub use tree::MAX_PRIORITY;

// The READMEs' examples run as doc tests: the crate's own, and the
// repository's where it is there (not in the packaged crate).
#[cfg(all(doctest, feature = "alloc", feature = "prior"))]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
#[cfg(all(doctest, feature = "alloc", repo_readme))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
pub use rng::DefaultRng;
