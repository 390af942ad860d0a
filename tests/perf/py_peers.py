"""The Python peers of `make bench`, on the workload of peers/src/main.rs:
N items with raw priorities uniform in [0.001, 2.001); `sample`: batches of
B (with IS weights, beta 0.4); `step`: a batch, then new priorities for it;
`add`: items into the full ring in chunks of B; `update`: new priorities
for one of BATCHES batches drawn before timing, in turn. Alpha 0.6.

    python py_peers.py cpprb|torchrl|numpy-baselines N B   -> one JSON line

numpy-baselines is OpenAI baselines' segment-tree PER memory (its
common/segment_tree.py and the proportional sampling of
deepq/replay_buffer.py), restated here with NumPy arrays: a pure-Python loop
per tree level, as users of that code run it.
"""
import json
import sys
import time

import numpy as np

ALPHA, BETA, EPS = 0.6, 0.4, 1e-6
BATCHES = 32


def update_rate(draw, update, b, rng, secs=1.0):
    """Batches of b updated per second, the update alone."""
    batches = [draw() for _ in range(BATCHES)]
    turn = [0]

    def one():
        update(batches[turn[0] % BATCHES], rng.uniform(0.001, 2.001, b))
        turn[0] += 1

    return 1 / timed(one, secs)


def timed(f, secs=1.0):
    t = time.perf_counter()
    f()
    first = time.perf_counter() - t
    reps = max(3, int(secs / max(first, 1e-9)))
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return (time.perf_counter() - t) / reps


def cpprb(n, b, rng):
    from cpprb import PrioritizedReplayBuffer

    rb = PrioritizedReplayBuffer(n, {"obs": {"dtype": np.uint32}}, alpha=ALPHA, eps=EPS)
    for start in range(0, n, 65536):
        m = min(65536, n - start)
        rb.add(obs=np.arange(start, start + m, dtype=np.uint32), priorities=rng.uniform(0.001, 2.001, m))
    sample = timed(lambda: rb.sample(b, beta=BETA))

    def step():
        s = rb.sample(b, beta=BETA)
        rb.update_priorities(s["indexes"], rng.uniform(0.001, 2.001, b))

    step_t = timed(step)
    upd = update_rate(lambda: rb.sample(b, beta=BETA)["indexes"], rb.update_priorities, b, rng)
    chunk = np.arange(b, dtype=np.uint32)
    reps = max(1, min(n, 1 << 18) // b)
    add = timed(lambda: [rb.add(obs=chunk) for _ in range(reps)])
    return sample / b, 1 / step_t, reps * b / add, upd


def torchrl(n, b, rng):
    import torch
    from torchrl.data import LazyTensorStorage, PrioritizedReplayBuffer

    torch.set_num_threads(1)
    rb = PrioritizedReplayBuffer(alpha=ALPHA, beta=BETA, eps=EPS, storage=LazyTensorStorage(n), batch_size=b)
    for start in range(0, n, 65536):
        m = min(65536, n - start)
        idx = rb.extend(torch.arange(start, start + m, dtype=torch.int32))
        rb.update_priority(idx, torch.from_numpy(rng.uniform(0.001, 2.001, m)).float())
    sample = timed(lambda: rb.sample(return_info=True))

    def step():
        _, info = rb.sample(return_info=True)
        rb.update_priority(info["index"], torch.from_numpy(rng.uniform(0.001, 2.001, b)).float())

    step_t = timed(step)
    upd = update_rate(
        lambda: rb.sample(return_info=True)[1]["index"],
        lambda idx, p: rb.update_priority(idx, torch.from_numpy(p).float()),
        b,
        rng,
    )
    chunk = torch.arange(b, dtype=torch.int32)
    reps = max(1, min(n, 1 << 18) // b)
    add = timed(lambda: [rb.extend(chunk) for _ in range(reps)])
    return sample / b, 1 / step_t, reps * b / add, upd


class SegmentTree:
    """baselines.common.segment_tree, with NumPy storage."""

    def __init__(self, capacity, op, neutral):
        self.capacity, self.op = capacity, op
        self.value = np.full(2 * capacity, neutral, dtype=np.float64)

    def __setitem__(self, idx, val):
        idx += self.capacity
        self.value[idx] = val
        idx //= 2
        while idx >= 1:
            self.value[idx] = self.op(self.value[2 * idx], self.value[2 * idx + 1])
            idx //= 2

    def __getitem__(self, idx):
        return self.value[self.capacity + idx]


class Baselines:
    def __init__(self, n):
        cap = 1
        while cap < n:
            cap *= 2
        self.n = n
        self.sum = SegmentTree(cap, lambda a, b: a + b, 0.0)
        self.min = SegmentTree(cap, min, float("inf"))
        self.max_priority, self.next = 1.0, 0

    def set(self, idx, priority):
        p = priority ** ALPHA
        self.sum[idx] = p
        self.min[idx] = p
        self.max_priority = max(self.max_priority, priority)

    def find_prefixsum_idx(self, prefixsum):
        idx, cap, v = 1, self.sum.capacity, self.sum.value
        while idx < cap:
            if v[2 * idx] > prefixsum:
                idx = 2 * idx
            else:
                prefixsum -= v[2 * idx]
                idx = 2 * idx + 1
        return idx - cap

    def sample(self, b):
        total = self.sum.value[1]
        every = total / b
        idxes = [self.find_prefixsum_idx(np.random.random() * every + i * every) for i in range(b)]
        p_min = self.min.value[1] / total
        max_weight = (p_min * self.n) ** (-BETA)
        weights = np.array([(self.sum[i] / total * self.n) ** (-BETA) / max_weight for i in idxes])
        return idxes, weights

    def add(self):
        self.set(self.next, self.max_priority)
        self.next = (self.next + 1) % self.n


def numpy_baselines(n, b, rng):
    mem = Baselines(n)
    for i, p in enumerate(rng.uniform(0.001, 2.001, n)):
        mem.set(i, p + EPS)
    sample = timed(lambda: mem.sample(b), 0.5)

    def update(idxes, ps):
        for i, p in zip(idxes, ps):
            mem.set(i, p + EPS)

    step_t = timed(lambda: update(mem.sample(b)[0], rng.uniform(0.001, 2.001, b)), 0.5)
    upd = update_rate(lambda: mem.sample(b)[0], update, b, rng, 0.5)
    add = timed(lambda: [mem.add() for _ in range(b)], 0.5)
    return sample / b, 1 / step_t, b / add, upd


if __name__ == "__main__":
    system, n, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(1)
    np.random.seed(1)
    run = {"cpprb": cpprb, "torchrl": torchrl, "numpy-baselines": numpy_baselines}[system]
    s, st, a, u = run(n, b, rng)
    print(json.dumps({"system": system, "n": n, "b": b, "sample_ns_per_index": round(s * 1e9, 2),
                      "step_per_s": round(st, 1), "add_per_s": round(a), "update_per_s": round(u, 1)}))
