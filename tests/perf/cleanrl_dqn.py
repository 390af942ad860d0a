"""Double DQN on Gymnasium's CartPole-v1 in the style of CleanRL's dqn.py (one
file, flags with the same names and defaults), with uniform replay (each index
drawn independently, with replacement) or proportional PER over a NumPy sum
tree (alpha 0.6, beta 0.4 -> 1, stratified batches, IS weights normalised by the
buffer's largest). The reference `make bench-trainer` times the trainer against:
the same algorithm and configuration as `adasample-trainer dqn --preset cleanrl`.

Prints one JSON line at the end: env steps, seconds, env steps per second and
the first env step at which the mean of the last 10 episode returns reached 475.
"""
import argparse
import json
import random
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--env-id", default="CartPole-v1")
    p.add_argument("--sampler", choices=["uniform", "per"], default="uniform")
    p.add_argument("--total-timesteps", type=int, default=500_000)
    p.add_argument("--learning-rate", type=float, default=2.5e-4)
    p.add_argument("--buffer-size", type=int, default=10_000)
    p.add_argument("--gamma", type=float, default=0.99)
    p.add_argument("--tau", type=float, default=1.0)
    p.add_argument("--target-network-frequency", type=int, default=500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--start-e", type=float, default=1.0)
    p.add_argument("--end-e", type=float, default=0.05)
    p.add_argument("--exploration-fraction", type=float, default=0.5)
    p.add_argument("--learning-starts", type=int, default=10_000)
    p.add_argument("--train-frequency", type=int, default=10)
    p.add_argument("--loss", choices=["mse", "huber"], default="mse")
    p.add_argument("--max-grad-norm", type=float, default=0.0, help="0: no clipping")
    p.add_argument("--hidden", default="120,84")
    return p.parse_args()


class QNetwork(nn.Module):
    def __init__(self, n_obs, n_actions, hidden):
        super().__init__()
        layers, width = [], n_obs
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_actions))
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)


def linear_schedule(start_e, end_e, duration, t):
    slope = (end_e - start_e) / duration
    return max(slope * t + start_e, end_e)


class SumTree:
    """Sum tree over `capacity` leaves in one NumPy array (root at 1)."""

    def __init__(self, capacity):
        self.size = 1
        while self.size < capacity:
            self.size *= 2
        self.nodes = np.zeros(2 * self.size)

    def update(self, idx, values):
        pos = np.asarray(idx) + self.size
        self.nodes[pos] = values
        pos = np.unique(pos // 2)
        while pos[0] >= 1:
            self.nodes[pos] = self.nodes[2 * pos] + self.nodes[2 * pos + 1]
            if pos[0] == 1:
                break
            pos = np.unique(pos // 2)

    def total(self):
        return self.nodes[1]

    def find(self, u):
        """Leaf index of each prefix-sum point in `u`, all descending together."""
        pos = np.ones(len(u), dtype=np.int64)
        u = u.copy()
        while pos[0] < self.size:
            left = 2 * pos
            go_right = u >= self.nodes[left]
            u = np.where(go_right, u - self.nodes[left], u)
            pos = np.where(go_right, left + 1, left)
        return pos - self.size


class Replay:
    def __init__(self, capacity, n_obs, per, rng):
        self.capacity, self.per, self.rng = capacity, per, rng
        self.obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.next_obs = np.zeros((capacity, n_obs), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.pos, self.len = 0, 0
        if per:
            self.tree = SumTree(capacity)
            self.raw = np.zeros(capacity)  # |delta| per slot
            self.max_raw, self.alpha, self.eps = 1.0, 0.6, 1e-6

    def add(self, obs, next_obs, action, reward, done):
        i = self.pos
        self.obs[i], self.next_obs[i], self.actions[i], self.rewards[i], self.dones[i] = obs, next_obs, action, reward, done
        if self.per:
            self.raw[i] = self.max_raw
            self.tree.update([i], [(self.max_raw + self.eps) ** self.alpha])
        self.pos = (i + 1) % self.capacity
        self.len = min(self.len + 1, self.capacity)

    def sample(self, n, beta):
        if not self.per:
            idx = self.rng.integers(0, self.len, size=n)
            return idx, np.ones(n, dtype=np.float32)
        total = self.tree.total()
        u = (np.arange(n) + self.rng.random(n)) * (total / n)
        idx = np.minimum(self.tree.find(u), self.len - 1)
        p = self.tree.nodes[idx + self.tree.size]
        p_min = ((self.raw[: self.len] + self.eps) ** self.alpha).min()
        w = (p_min / p) ** beta
        return idx, w.astype(np.float32)

    def update(self, idx, td):
        if self.per:
            raw = np.abs(td)
            self.raw[idx] = raw
            self.max_raw = max(self.max_raw, float(raw.max()))
            self.tree.update(idx, (raw + self.eps) ** self.alpha)


def main():
    args = parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    env = gym.make(args.env_id)
    n_obs, n_actions = env.observation_space.shape[0], env.action_space.n
    hidden = [int(h) for h in args.hidden.split(",")]
    q_network = QNetwork(n_obs, n_actions, hidden)
    optimizer = torch.optim.Adam(q_network.parameters(), lr=args.learning_rate)
    target_network = QNetwork(n_obs, n_actions, hidden)
    target_network.load_state_dict(q_network.state_dict())
    rb = Replay(args.buffer_size, n_obs, args.sampler == "per", rng)
    updates = max(1, (args.total_timesteps - args.learning_starts) // args.train_frequency)
    beta_step = 0

    obs, _ = env.reset(seed=args.seed)
    episode_return, recent, steps_to_threshold = 0.0, [], None
    start = time.time()
    for global_step in range(1, args.total_timesteps + 1):
        epsilon = linear_schedule(args.start_e, args.end_e, args.exploration_fraction * args.total_timesteps, global_step - 1)
        if random.random() < epsilon:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = int(torch.argmax(q_network(torch.as_tensor(obs)[None]), dim=1)[0])
        next_obs, reward, terminated, truncated, _ = env.step(action)
        rb.add(obs, next_obs, action, reward, float(terminated))
        episode_return += reward
        obs = next_obs
        if terminated or truncated:
            recent = (recent + [episode_return])[-10:]
            if steps_to_threshold is None and len(recent) == 10 and sum(recent) / 10 >= 475:
                steps_to_threshold = global_step
            episode_return = 0.0
            obs, _ = env.reset()

        if global_step > args.learning_starts and global_step % args.train_frequency == 0:
            beta = 0.4 + (1.0 - 0.4) * min(1.0, beta_step / updates)
            beta_step += 1
            idx, w = rb.sample(args.batch_size, beta)
            s, s2 = torch.as_tensor(rb.obs[idx]), torch.as_tensor(rb.next_obs[idx])
            a, r, d = torch.as_tensor(rb.actions[idx]), torch.as_tensor(rb.rewards[idx]), torch.as_tensor(rb.dones[idx])
            with torch.no_grad():
                next_a = q_network(s2).argmax(dim=1, keepdim=True)  # Double DQN
                target_q = target_network(s2).gather(1, next_a).squeeze(1)
                td_target = r + args.gamma * target_q * (1 - d)
            old_val = q_network(s).gather(1, a[:, None]).squeeze(1)
            if args.loss == "mse":
                per_item = (td_target - old_val) ** 2
            else:
                per_item = F.smooth_l1_loss(old_val, td_target, reduction="none")
            loss = (per_item * torch.as_tensor(w)).mean()
            optimizer.zero_grad()
            loss.backward()
            if args.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(q_network.parameters(), args.max_grad_norm)
            optimizer.step()
            rb.update(idx, (td_target - old_val).detach().numpy())

        if global_step % args.target_network_frequency == 0:
            for tp, qp in zip(target_network.parameters(), q_network.parameters()):
                tp.data.copy_(args.tau * qp.data + (1.0 - args.tau) * tp.data)

    seconds = time.time() - start
    print(json.dumps({
        "impl": "pytorch", "sampler": args.sampler, "seed": args.seed, "env_steps": args.total_timesteps,
        "seconds": seconds, "steps_per_second": args.total_timesteps / seconds, "steps_to_threshold": steps_to_threshold,
    }))


if __name__ == "__main__":
    main()
