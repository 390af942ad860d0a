//! Footprint probe: the embedded firmware's library use (a PER, proportional,
//! rank-based and without replacement; the adaptive sampler in its three
//! modes; the iw-SFT weights) on `Fixed<CAP>` storage in statics, each path
//! exercised once on opaque inputs, then the stack high-water mark. The
//! reward sampler is measured apart (feature `reward`), as it adds `sqrt`. `baseline.rs` is the same program without the library;
//! the difference between the two is the library's flash and stack.
#![no_std]
#![no_main]
// `&mut *&raw mut STATIC`: the one reference to each `static mut`, formed
// without the intermediate shared reference that `static_mut_refs` warns of.
#![allow(clippy::deref_addrof)]

use adasample::adaptive::{AdaptiveBatchSampler, AdaptiveConfig, AdaptiveMode};
use adasample::iw::{self, IwMode, IwSftConfig};
use adasample::per::{Draw, Key, PerConfig, PrioritizedReplayBuffer};
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

/// Bytes of the caller's own batch buffers in `exercise` (on the stack, and
/// counted in its high-water mark, though they are not the library's).
const CALLER_BUFFERS: usize = B
    * (core::mem::size_of::<Draw>() + core::mem::size_of::<Key>() + 8 + core::mem::size_of::<usize>() + 8)
    + 2 * 16 * 8;

fn exercise() -> Result<f64, adasample::Error> {
    // SAFETY: single-threaded; one &mut each.
    let (per, adaptive) = unsafe { (&mut *&raw mut PER, &mut *&raw mut ADAPTIVE) };
    let mut acc = 0.0;
    let mut draws = [Draw::default(); B];
    let mut keys = [Key::default(); B];
    let mut td = [0.0f64; B];
    for config in
        [PerConfig::new(CAP), PerConfig::rank(CAP), PerConfig { without_replacement: true, ..PerConfig::new(CAP) }]
    {
        per.reset(black_box(config))?;
        for i in 0..CAP as u32 + 10 {
            per.add(black_box(i))?;
        }
        per.sample_into(&mut draws)?;
        for ((k, t), d) in keys.iter_mut().zip(td.iter_mut()).zip(draws.iter()) {
            *k = d.key;
            *t = black_box(d.weight - 0.5);
        }
        per.update_priorities(&keys, &td)?;
        acc += draws[0].weight;
    }
    let mut idx = [0usize; B];
    let mut w = [0.0f64; B];
    for mode in [AdaptiveMode::Ema, AdaptiveMode::AdaBoost, AdaptiveMode::Ohem] {
        adaptive.reset(black_box(AdaptiveConfig { mode, ..AdaptiveConfig::new(CAP, 0.1) }))?;
        adaptive.sample_into(&mut idx, &mut w)?;
        adaptive.update_weights(&idx, &black_box(w))?;
        acc += w[0];
    }
    #[cfg(feature = "reward")]
    {
        // SAFETY: as above.
        let reward = unsafe { &mut *&raw mut REWARD };
        reward.reset(black_box(RewardConfig::new(CAP)))?;
        for i in 0..CAP {
            reward.push(black_box(i as f64 * 0.01))?;
        }
        reward.sample_into(&mut idx, &mut w)?;
        acc += w[0];
    }
    let lp = black_box([-1.0f64; 16]);
    let mut out = [0.0f64; 16];
    iw::weights(&IwSftConfig::default(), &lp, &lp, None, 4, &mut out[..4])?;
    iw::weights(&IwSftConfig { mode: IwMode::Token, ..IwSftConfig::default() }, &lp, &lp, None, 4, &mut out)?;
    Ok(acc + out[0])
}

#[entry]
fn main() -> ! {
    adasample_firmware::paint_stack();
    let ok = match exercise() {
        Ok(v) => {
            black_box(v);
            true
        }
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
