//! The adasample trainer's library: environments, the replay memory over the
//! `adasample` core, Double DQN, and the run-folder reports. The binary
//! (`src/main.rs`) is the command line over these.

pub mod classifier;
pub mod datasets;
pub mod dqn;
pub mod envs;
pub mod replay;
pub mod report;
pub mod runner;
