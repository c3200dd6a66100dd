"""A loop over parameters with explicit m-hat / v-hat, state as parallel lists per group."""
import math

import torch


class AdamW:
    def __init__(self, param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        self.param_groups = []
        for g in param_groups:
            group = dict(g)
            group["params"] = list(g["params"])
            group.setdefault("lr", lr)
            group.setdefault("betas", betas)
            group.setdefault("eps", eps)
            group.setdefault("weight_decay", weight_decay)
            self.param_groups.append(group)
        self.steps = [[0] * len(g["params"]) for g in self.param_groups]
        self.m = [[None] * len(g["params"]) for g in self.param_groups]
        self.v = [[None] * len(g["params"]) for g in self.param_groups]

    def step(self):
        with torch.no_grad():
            for gi, group in enumerate(self.param_groups):
                b1, b2 = group["betas"]
                for pi, p in enumerate(group["params"]):
                    if p.grad is None:
                        continue
                    if self.m[gi][pi] is None:
                        self.m[gi][pi] = torch.zeros_like(p)
                        self.v[gi][pi] = torch.zeros_like(p)
                    self.steps[gi][pi] += 1
                    t = self.steps[gi][pi]
                    g = p.grad
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    self.m[gi][pi].mul_(b1).add_(g, alpha=1 - b1)
                    self.v[gi][pi].mul_(b2).add_(g * g, alpha=1 - b2)
                    m_hat = self.m[gi][pi] / (1 - b1 ** t)
                    v_hat = self.v[gi][pi] / (1 - b2 ** t)
                    p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))

    def zero_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def state_dict(self):
        return {"steps": self.steps, "m": self.m, "v": self.v,
                "hyper": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, sd):
        self.steps = [list(s) for s in sd["steps"]]
        self.m = [[None if x is None else x.clone() for x in row] for row in sd["m"]]
        self.v = [[None if x is None else x.clone() for x in row] for row in sd["v"]]
        for group, hyper in zip(self.param_groups, sd["hyper"]):
            group.update(hyper)


def lr_at(step, base_lr, warmup_steps, total_steps, min_lr):
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * progress)) / 2


def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        with torch.no_grad():
            for g in grads:
                g.mul_(coef)
    return total
