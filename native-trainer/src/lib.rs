//! The adasample trainer's library: the three scenarios of the seed on
//! libtorch, with every sampling decision made by the `adasample` core.
//! - DQN: environments (`envs`), the replay memory (`replay`), Double DQN (`dqn`);
//! - classifier: data (`datasets`), adaptive batches and the MLP (`classifier`);
//! - iw-SFT: the task (`arith`), GPT-2 (`gpt`), its tokenizer (`tokenizer`),
//!   the loss (`iwloss`) and the pipeline (`sft`);
//! - the Blind Cliffwalk (`cliffwalk`): tabular Q-learning from a replay memory, no torch;
//! - shared: the MLP (`layers`), parallel runs and Ctrl-C (`runner`), one way to run
//!   any scenario (`scenario`), run folders (`report`);
//! - over processes (feature `mpi`, `distributed`): the classifier data-parallel,
//!   DQN in the Ape-X shape, exact global batches from the core's shard math.
//!
//! The binary (`src/main.rs`) is the command line over these.

#[cfg(feature = "mpi")]
pub mod apex;
pub mod arith;
pub mod classifier;
pub mod cliffwalk;
pub mod datasets;
#[cfg(feature = "mpi")]
pub mod distributed;
pub mod dqn;
pub mod envs;
pub mod gpt;
pub mod iwloss;
pub mod layers;
pub mod replay;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sft;
#[cfg(feature = "mpi")]
pub mod shardcheck;
pub mod tokenizer;
