//! Without the `rank` feature (`--no-default-features --features alloc`):
//! rank-based PER is refused with a typed error that names the feature, and
//! nothing else changes. With the feature this file is empty.
#![cfg(not(feature = "rank"))]

use adasample::per::{PerConfig, PerKind, PrioritizedReplayBuffer};
use adasample::storage::{Fixed, Heap};
use adasample::Error;

#[test]
fn rank_is_refused_naming_the_feature() {
    let err = PerConfig::rank(8).validate().unwrap_err();
    let Error::InvalidConfig { field, expected } = err else { panic!("{err:?}") };
    assert_eq!(field, "kind");
    assert!(expected.contains("`rank`"), "{expected}");
    assert!(PrioritizedReplayBuffer::<u32, Heap>::new(PerConfig::rank(8)).is_err());
}

#[test]
fn a_refused_reset_changes_nothing() {
    let mut b: PrioritizedReplayBuffer<u32, Fixed<16>> = PrioritizedReplayBuffer::new(PerConfig::new(4)).unwrap();
    for i in 0..3 {
        b.add(i).unwrap();
    }
    assert!(b.reset(PerConfig { kind: PerKind::Rank, ..PerConfig::new(8) }).is_err());
    assert_eq!((b.len(), b.capacity()), (3, 4));
    let draws = b.sample(2).unwrap();
    assert_eq!(draws.indices.len(), 2);
}
