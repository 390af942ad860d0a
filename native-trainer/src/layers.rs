//! The small network the DQN and classifier scenarios share, and seeded
//! initialisation.

use std::sync::Mutex;
use tch::nn;

static INIT: Mutex<()> = Mutex::new(());

/// Runs `build` (which creates variables) right after seeding libtorch's
/// generator with `seed`, holding a process-wide lock: the generator is
/// global, so runs in parallel threads would otherwise draw each other's
/// initial weights, and the same seed would give other results with
/// another `--jobs`.
pub fn seeded<T>(seed: u64, build: impl FnOnce() -> T) -> T {
    // A poisoned lock means another run panicked while building; the
    // generator is re-seeded here anyway, so its state does not matter.
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed as i64);
    build()
}

/// `in -> hidden[0] -> ... -> out` with ReLU between, layers `l1, l2, ...` under `vs`.
pub fn mlp(vs: &nn::Path, input: i64, hidden: &[i64], output: i64) -> nn::Sequential {
    let mut net = nn::seq();
    let mut width = input;
    for (k, &h) in hidden.iter().enumerate() {
        net = net.add(nn::linear(vs / format!("l{}", k + 1), width, h, Default::default())).add_fn(|x| x.relu());
        width = h;
    }
    net.add(nn::linear(vs / format!("l{}", hidden.len() + 1), width, output, Default::default()))
}

/// `target <- tau * online + (1 - tau) * target`, variable by variable (tau 1: a copy).
pub fn soft_update(target: &mut nn::VarStore, online: &nn::VarStore, tau: f64) -> anyhow::Result<()> {
    if tau >= 1.0 {
        return Ok(target.copy(online)?);
    }
    let source = online.variables();
    tch::no_grad(|| {
        for (name, mut t) in target.variables() {
            let s = source.get(&name).ok_or_else(|| anyhow::anyhow!("soft update: no variable {name}"))?;
            let mixed = s * tau + &t * (1.0 - tau);
            t.copy_(&mixed);
        }
        Ok(())
    })
}

/// The network's variables as a safetensors file (readable by PyTorch's `safetensors`).
pub fn save(vs: &nn::VarStore, path: &std::path::Path) -> anyhow::Result<()> {
    let named = vs.variables();
    let mut pairs: Vec<(&str, &tch::Tensor)> = named.iter().map(|(k, v)| (k.as_str(), v)).collect();
    pairs.sort_by_key(|(k, _)| *k);
    tch::Tensor::write_safetensors(&pairs, path).map_err(|e| anyhow::anyhow!("--save-model {}: {e}", path.display()))
}

/// Loads a safetensors file into `vs`: every variable must be there, with its shape.
pub fn load(vs: &mut nn::VarStore, path: &std::path::Path) -> anyhow::Result<()> {
    let tensors =
        tch::Tensor::read_safetensors(path).map_err(|e| anyhow::anyhow!("--load-model {}: {e}", path.display()))?;
    let found: std::collections::HashMap<String, tch::Tensor> = tensors.into_iter().collect();
    tch::no_grad(|| {
        for (name, mut v) in vs.variables() {
            let t = found
                .get(&name)
                .ok_or_else(|| anyhow::anyhow!("--load-model {}: no tensor `{name}`", path.display()))?;
            if t.size() != v.size() {
                anyhow::bail!(
                    "--load-model {}: `{name}` has shape {:?}, the network {:?}",
                    path.display(),
                    t.size(),
                    v.size()
                );
            }
            v.copy_(&t.to_device(v.device()).to_kind(v.kind()));
        }
        Ok(())
    })
}
