"""Golden values for the trainer's iw-SFT loss and GPT-2 loader, computed once
with PyTorch, independently of our code; the Rust tests read the JSON and need
no Python. Regenerate: `make iwsft-golden` (needs `import torch` to work).

loss.json: fixed logits, labels (-100 = prompt/padding) and reference
log-probs, and for several configurations the expected weights and loss of
the paper's iw-SFT (Qin & Springenberg 2025): w = clip(exp(mean_t(log pi -
log pi_ref) / T), 0, 16) per sequence, or clip(exp((log pi - log pi_ref) / T),
0.2, 1.8) per token; nll = (1 - eps) * -log p(label) + eps * mean_v -log p(v);
loss = sum w * nll / valid tokens. The seed's inverse ratio is one case.

gpt2.json: a tiny GPT-2 whose every parameter is given by a formula (so the
Rust test builds the same checkpoint itself), a batch of ids, and the logits of
a GPT-2 forward pass written here from the architecture, not from our code.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))


def iw_sft(logits, labels, ref, mode, direction, eps, temp):
    logp = torch.log_softmax(logits, -1)
    valid = labels != -100
    tok = logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    nll = -(1 - eps) * tok - eps * logp.mean(-1)
    sign = 1.0 if direction == "paper" else -1.0
    if mode == "sequence":
        diff = torch.where(valid, tok - ref, torch.zeros_like(tok))
        count = valid.sum(1)
        mean = diff.sum(1) / count.clamp(min=1)
        w = torch.clamp(torch.exp(sign * mean / temp), 0.0, 16.0)
        w = torch.where(count > 0, w, torch.zeros_like(w))
        w_tok = w.unsqueeze(1).expand_as(tok)
        weights = w
    else:
        w_tok = torch.clamp(torch.exp(sign * (tok - ref) / temp), 0.2, 1.8)
        w_tok = torch.where(valid, w_tok, torch.zeros_like(w_tok))
        weights = w_tok.flatten()
    loss = (w_tok * nll * valid).sum() / valid.sum()
    return weights, loss


def loss_cases():
    g = torch.Generator().manual_seed(20250717)
    b, t, v = 3, 6, 11
    logits = torch.randn(b, t, v, generator=g) * 2.0
    labels = torch.randint(0, v, (b, t), generator=g)
    labels[:, :2] = -100  # prompt
    labels[1, 4:] = -100  # padding
    labels[2, 3:] = -100  # one valid token
    ref_logits = torch.randn(b, t, v, generator=g) * 2.0
    ref = torch.log_softmax(ref_logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    cases = []
    for name, mode, direction, eps, temp in [
        ("sequence", "sequence", "paper", 0.0, 1.0),
        ("seed-defaults", "sequence", "paper", 0.1, 1.0),
        ("temperature-0.5", "sequence", "paper", 0.0, 0.5),
        ("clipped-at-16", "sequence", "paper", 0.0, 0.05),
        ("token", "token", "paper", 0.0, 1.0),
        ("token-smoothed", "token", "paper", 0.1, 2.0),
        ("seed-inverse", "sequence", "seed-inverse", 0.1, 1.0),
    ]:
        w, loss = iw_sft(logits, labels, ref, mode, direction, eps, temp)
        cases.append({"name": name, "mode": mode, "direction": direction, "epsilon": eps,
                      "temperature": temp, "weights": w.tolist(), "loss": loss.item()})
    sft = (-(torch.log_softmax(logits, -1).gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1))
           * (labels != -100)).sum() / (labels != -100).sum()
    return {"shape": [b, t, v], "logits": logits.flatten().tolist(), "labels": labels.flatten().tolist(),
            "ref_log_probs": ref.flatten().tolist(), "sft_loss": sft.item(), "cases": cases}


def param(name, shape):
    """0.2 * sin(0.61 * i + (sum of the name's bytes) % 97), i the flat index."""
    seed = sum(name.encode()) % 97
    n = math.prod(shape)
    vals = [0.2 * math.sin(0.61 * i + seed) for i in range(n)]
    return torch.tensor(vals, dtype=torch.float32).view(shape).double()


def gpt2_case():
    cfg = {"vocab_size": 20, "n_positions": 12, "n_embd": 8, "n_layer": 2, "n_head": 2, "layer_norm_epsilon": 1e-5}
    e, nh = cfg["n_embd"], cfg["n_head"]
    p = lambda n, s: param(n, s)
    ids = torch.tensor([[1, 5, 7, 3, 19, 0], [2, 2, 8, 11, 4, 6]])
    b, t = ids.shape
    wte, wpe = p("wte.weight", [20, e]), p("wpe.weight", [12, e])
    x = wte[ids] + wpe[torch.arange(t)]

    def ln(x, pre):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + cfg["layer_norm_epsilon"]) * p(pre + ".weight", [e]) + p(pre + ".bias", [e])

    def gelu(x):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))

    for i in range(cfg["n_layer"]):
        h = f"h.{i}."
        a = ln(x, h + "ln_1") @ p(h + "attn.c_attn.weight", [e, 3 * e]) + p(h + "attn.c_attn.bias", [3 * e])
        q, k, v = a.split(e, dim=-1)
        heads = lambda z: z.view(b, t, nh, e // nh).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = q @ k.transpose(-1, -2) / math.sqrt(e // nh)
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, e)
        x = x + y @ p(h + "attn.c_proj.weight", [e, e]) + p(h + "attn.c_proj.bias", [e])
        m = gelu(ln(x, h + "ln_2") @ p(h + "mlp.c_fc.weight", [e, 4 * e]) + p(h + "mlp.c_fc.bias", [4 * e]))
        x = x + m @ p(h + "mlp.c_proj.weight", [4 * e, e]) + p(h + "mlp.c_proj.bias", [e])
    logits = ln(x, "ln_f") @ wte.T
    return {"config": cfg, "ids": ids.flatten().tolist(), "shape": [b, t], "logits": logits.flatten().tolist()}


if __name__ == "__main__":
    for name, data in [("loss.json", loss_cases()), ("gpt2.json", gpt2_case())]:
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print("wrote", os.path.join(HERE, name))
