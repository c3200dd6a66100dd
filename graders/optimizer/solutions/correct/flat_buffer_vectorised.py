"""Vectorised: each group's moments live in one flat buffer; the update is a handful of whole-buffer ops."""
import math

import torch


class AdamW:
    def __init__(self, param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, **g,
                              "params": list(g["params"])} for g in param_groups]
        self.state = []
        for g in self.param_groups:
            n = sum(p.numel() for p in g["params"])
            like = g["params"][0]
            self.state.append({"m": torch.zeros(n, dtype=like.dtype, device=like.device),
                               "v": torch.zeros(n, dtype=like.dtype, device=like.device),
                               "t": torch.zeros(n, dtype=torch.float64, device=like.device)})

    @torch.no_grad()
    def step(self):
        for g, s in zip(self.param_groups, self.state):
            live = [i for i, p in enumerate(g["params"]) if p.grad is not None]
            if not live:
                continue
            sizes = [p.numel() for p in g["params"]]
            starts = [sum(sizes[:i]) for i in range(len(sizes))]
            idx = torch.cat([torch.arange(starts[i], starts[i] + sizes[i]) for i in live])
            flat_p = torch.cat([g["params"][i].reshape(-1) for i in live])
            flat_g = torch.cat([g["params"][i].grad.reshape(-1) for i in live])
            b1, b2 = g["betas"]
            lr, eps = g["lr"], g["eps"]
            s["t"][idx] += 1
            t = s["t"][idx]
            m = s["m"][idx].lerp_(flat_g, 1 - b1)
            v = s["v"][idx].mul_(b2).addcmul_(flat_g, flat_g, value=1 - b2)
            s["m"][idx], s["v"][idx] = m, v
            bc1 = (1 - b1 ** t).to(flat_p.dtype)
            bc2_sqrt = (1 - b2 ** t).sqrt().to(flat_p.dtype)
            flat_p.mul_(1 - lr * g["weight_decay"])
            flat_p -= lr * m / bc1 / (v.sqrt() / bc2_sqrt + eps)
            offset = 0
            for i in live:
                p = g["params"][i]
                p.copy_(flat_p[offset:offset + p.numel()].view_as(p))
                offset += p.numel()

    def zero_grad(self):
        for g in self.param_groups:
            for p in g["params"]:
                p.grad = None

    def state_dict(self):
        return {"state": self.state, "lrs": [g["lr"] for g in self.param_groups]}

    def load_state_dict(self, sd):
        self.state = [{k: v.clone() for k, v in s.items()} for s in sd["state"]]
        for g, lr in zip(self.param_groups, sd["lrs"]):
            g["lr"] = lr


def lr_at(step, base_lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    cosine = 0.5 * (1.0 + math.cos(math.pi * (step - warmup_steps) / max(1, total_steps - warmup_steps)))
    return min_lr + (base_lr - min_lr) * cosine


@torch.no_grad()
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    total = torch.linalg.vector_norm(flat)
    coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(coef)
    return total
