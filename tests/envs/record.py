#!/usr/bin/env python3
"""Records Gymnasium 1.x trajectories as JSON fixtures for the trainer's
environments (tests/envs/<env>.json). Each case sets the unwrapped state,
applies a fixed action sequence through the registered env (TimeLimit
included) and records what every step returns. The Rust test replays the
same cases without Python.

    .venv/bin/pip install gymnasium==1.2.2 numpy
    .venv/bin/python tests/envs/record.py
"""
import json
from pathlib import Path

import gymnasium as gym
import numpy as np

HERE = Path(__file__).resolve().parent


def run(env_id, state, actions):
    env = gym.make(env_id)
    env.reset(seed=0)
    env.unwrapped.state = np.array(state, dtype=np.float64)
    steps = []
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(int(a))
        steps.append({"obs": [float(f"{x:.9g}") for x in obs], "reward": float(reward),
                      "terminated": bool(terminated), "truncated": bool(truncated)})
        if terminated or truncated:
            break
    return {"state": [float(x) for x in state], "actions": [int(a) for a in actions[:len(steps)]], "steps": steps}


def reset_states(env_id, n):
    env = gym.make(env_id)
    out = []
    for seed in range(n):
        env.reset(seed=seed)
        out.append([float(x) for x in env.unwrapped.state])
    return out


def main():
    rng = np.random.default_rng(2025)
    specs = {
        "cartpole-v1": ("CartPole-v1", 2, 500, [[0.0, 0.0, 0.0, 0.0], [2.3, 0.5, 0.19, 0.3], [-0.04, 0.02, 0.03, -0.01]]),
        "acrobot-v1": ("Acrobot-v1", 3, 500, [[3.0, -3.0, 12.0, -27.0]]),
        "mountaincar-v0": ("MountainCar-v0", 3, 200, [[-1.19, -0.05], [0.45, 0.06], [-0.5, 0.0]]),
    }
    for name, (env_id, n_actions, limit, extra) in specs.items():
        cases = []
        for k, state in enumerate(reset_states(env_id, 3) + extra):
            # Random actions; the first case runs into the step limit, the
            # others stop at 150 steps (Acrobot is chaotic: a long trajectory
            # adds little but size).
            n = limit + 5 if k == 0 else 150
            actions = rng.integers(0, n_actions, size=n).tolist()
            cases.append(run(env_id, state, actions))
        # Pushing right forever: MountainCar reaches the goal or the limit.
        cases.append(run(env_id, reset_states(env_id, 1)[0], [n_actions - 1] * (limit + 5)))
        space = gym.make(env_id).observation_space
        fixture = {"env": name, "gymnasium": gym.__version__, "step_limit": limit,
                   # JSON has no infinity: an unbounded side is null.
                   "observation_low": [None if np.isinf(x) else float(x) for x in space.low],
                   "observation_high": [None if np.isinf(x) else float(x) for x in space.high],
                   "reset_states": reset_states(env_id, 50), "cases": cases}
        (HERE / f"{name}.json").write_text(json.dumps(fixture) + "\n")
        print(name, [len(c["steps"]) for c in cases])


if __name__ == "__main__":
    main()
