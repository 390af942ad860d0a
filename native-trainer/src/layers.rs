//! The small network the DQN and classifier scenarios share.

use tch::nn::{self, Module};

/// `in -> hidden -> hidden -> out` with ReLU between, layers `l1..l3` under `vs`.
pub fn mlp(vs: &nn::Path, input: i64, hidden: i64, output: i64) -> impl Module {
    nn::seq()
        .add(nn::linear(vs / "l1", input, hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(vs / "l2", hidden, hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(vs / "l3", hidden, output, Default::default()))
}
