# WRONG(failed): state_dict() leaves out the step count, so a reloaded optimiser restarts bias correction
from __future__ import annotations

import math

import torch


class AdamW:
    def __init__(self, param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        self.param_groups = [{**defaults, **group, "params": list(group["params"])} for group in param_groups]
        self.state: dict[int, dict] = {}  # keyed by the parameter's position across all groups

    def _params(self):
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                yield index, group, p
                index += 1

    @torch.no_grad()
    def step(self):
        for index, group, p in self._params():
            if p.grad is None:
                continue  # no gradient: no state, and its step count does not move
            grad = p.grad
            state = self.state.get(index)
            if state is None:
                state = self.state[index] = {"step": 0, "exp_avg": torch.zeros_like(p),
                                             "exp_avg_sq": torch.zeros_like(p)}
            beta1, beta2 = group["betas"]
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            state["step"] += 1
            t = state["step"]
            p.mul_(1 - lr * wd)  # decoupled: decay the weights, not the gradient
            state["exp_avg"].lerp_(grad, 1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bias_correction1 = 1 - beta1 ** t
            bias_correction2 = 1 - beta2 ** t
            # eps is added after the square root of the corrected second moment
            denom = (state["exp_avg_sq"].sqrt() / math.sqrt(bias_correction2)).add_(eps)
            p.addcdiv_(state["exp_avg"], denom, value=-lr / bias_correction1)

    def zero_grad(self):
        for _, _, p in self._params():
            p.grad = None

    def state_dict(self):
        return {"state": {i: {k: v for k, v in s.items() if k != "step"} for i, s in self.state.items()},
                "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]}

    def load_state_dict(self, state_dict):
        self.state = {int(i): {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in s.items()}
                      for i, s in state_dict["state"].items()}
        for s in self.state.values():
            s.setdefault("step", 0)
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update(saved)


def lr_at(step, base_lr, warmup_steps, total_steps, min_lr):
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


@torch.no_grad()
def clip_grad_norm(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)
    return total
