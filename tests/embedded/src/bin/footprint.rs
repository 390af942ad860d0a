//! Footprint probe: the embedded firmware's library use (a PER, proportional
//! with and without replacement, and rank-based with feature `rank`; the
//! adaptive sampler in its three modes; the iw-SFT weights in both modes) on
//! `Fixed<CAP>` storage in statics, each path exercised once on opaque
//! inputs, then the stack high-water mark. The reward sampler is measured
//! apart (feature `reward`), as it adds `sqrt`. Errors end the run with the
//! error's code. `baseline.rs` is the same program without the library; the
//! difference between the two is the library's flash, RAM and stack.
#![no_std]
#![no_main]
// `&mut *&raw mut STATIC`: the one reference to each `static mut`, formed
// without the intermediate shared reference that `static_mut_refs` warns of.
#![allow(clippy::deref_addrof)]

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::per::{Draw, Key, PerConfig, PerKind, PrioritizedReplayBuffer};
#[cfg(feature = "reward")]
use adasample::reward::{RewardConfig, RewardWeightedSampler};
use adasample::storage::Fixed;
use core::hint::black_box;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;

const CAP: usize = include!(concat!(env!("OUT_DIR"), "/cap.rs"));
const B: usize = 8;

type Per = PrioritizedReplayBuffer<u32, Fixed<CAP>>;
type Adaptive = AdaptiveBatchSampler<Fixed<CAP>>;
#[cfg(feature = "reward")]
type Reward = RewardWeightedSampler<Fixed<CAP>>;

static mut PER: Per = Per::EMPTY;
static mut ADAPTIVE: Adaptive = Adaptive::EMPTY;
#[cfg(feature = "reward")]
static mut REWARD: Reward = Reward::EMPTY;

/// The caller's batch buffers, in `.bss` like the samplers (zeroed by the
/// startup code; on the stack, their zeroing would link `memclr`). Counted
/// in the probe's RAM, though they are not the library's: footprint.py
/// subtracts [`CALLER_BUFFERS`].
struct Buffers {
    draws: [Draw; B],
    keys: [Key; B],
    td: [f64; B],
    idx: [usize; B],
    w: [f64; B],
    lp: [f64; 16],
    out: [f64; 16],
}
static mut BUFFERS: Buffers = Buffers {
    draws: [Draw { key: Key { slot: 0, generation: 0 }, probability: 0.0, weight: 0.0 }; B],
    keys: [Key { slot: 0, generation: 0 }; B],
    td: [0.0; B],
    idx: [0; B],
    w: [0.0; B],
    lp: [0.0; 16],
    out: [0.0; 16],
};

/// Bytes of the caller's own batch buffers.
const CALLER_BUFFERS: usize = core::mem::size_of::<Buffers>();

fn exercise() -> Result<(), adasample::Error> {
    // SAFETY: single-threaded; one &mut each.
    let (per, adaptive, buffers) = unsafe { (&mut *&raw mut PER, &mut *&raw mut ADAPTIVE, &mut *&raw mut BUFFERS) };
    let Buffers { draws, keys, td, idx, w, lp, out } = buffers;
    // Each configuration is opaque (`black_box`), so every path is linked;
    // each is also run once, for the stack high-water mark.
    let kinds = [
        (PerKind::Proportional, false),
        (PerKind::Proportional, true),
        #[cfg(feature = "rank")]
        (PerKind::Rank, false),
    ];
    for (kind, without_replacement) in kinds {
        per.reset(black_box(PerConfig { kind, without_replacement, ..PerConfig::new(CAP) }))?;
        for i in 0..CAP as u32 + 10 {
            per.add(black_box(i))?;
        }
        per.sample_into(draws)?;
        for ((k, t), d) in keys.iter_mut().zip(td.iter_mut()).zip(draws.iter()) {
            *k = d.key;
            *t = black_box(d.weight - 0.5);
        }
        per.update_priorities(keys, td)?;
    }
    for mode in [AdaptiveMode::Ema, AdaptiveMode::AdaBoost, AdaptiveMode::Ohem] {
        adaptive.reset(black_box(AdaptiveConfig { mode, ..AdaptiveConfig::new(CAP, 0.1) }))?;
        adaptive.sample_into(idx, w)?;
        adaptive.update_weights(idx, black_box(&*w))?;
        // Feature `prior`: a class-balanced-like prior on half the examples,
        // then a batch with weights toward it.
        #[cfg(feature = "prior")]
        if mode != AdaptiveMode::Ohem {
            let half: &mut [usize] = &mut idx[..B / 2];
            for (k, i) in half.iter_mut().enumerate() {
                *i = 2 * k;
            }
            w[..B / 2].fill(black_box(0.25));
            adaptive.update_prior(&idx[..B / 2], &w[..B / 2])?;
            adaptive.sample_into(idx, w)?;
        }
    }
    #[cfg(feature = "reward")]
    {
        // SAFETY: as above.
        let reward = unsafe { &mut *&raw mut REWARD };
        reward.reset(black_box(RewardConfig::new(CAP)))?;
        for i in 0..CAP {
            reward.push(black_box(i as f64 * 0.01))?;
        }
        reward.sample_into(idx, w)?;
        black_box(&*w);
    }
    lp.fill(black_box(-1.0));
    for mode in [IwMode::Sequence, IwMode::Token] {
        let config = black_box(IwSftConfig { mode, ..IwSftConfig::default() });
        iw::weights(&config, lp, lp, None, 4, &mut out[..config.output_len(16, 4)])?;
        black_box(&*out);
    }
    Ok(())
}

#[entry]
fn main() -> ! {
    adasample_firmware::paint_stack();
    let ok = match exercise() {
        Ok(()) => true,
        Err(e) => {
            hprintln!("error {}", e.code());
            false
        }
    };
    #[cfg(feature = "reward")]
    let reward_storage = core::mem::size_of::<Reward>();
    #[cfg(not(feature = "reward"))]
    let reward_storage = 0;
    let storage = core::mem::size_of::<Per>() + core::mem::size_of::<Adaptive>() + reward_storage;
    hprintln!(
        "footprint {} storage {} stack {} buffers {}",
        CAP,
        storage,
        adasample_firmware::stack_high_water_mark(),
        CALLER_BUFFERS
    );
    adasample_firmware::exit(ok)
}
