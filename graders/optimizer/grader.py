"""Host side of optimizer: inputs, the trusted answer, and the comparison.

The answer is torch's own `torch.optim.AdamW` and `torch.nn.utils.clip_grad_norm_`
(with the README's schedule formula) run through the same driver on the host's
copy of the inputs: the exercise is "exactly as torch", so torch is the oracle.
reference.py is checked against it like any other submission.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import torch

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays
from dlverify.packs.loading import GraderContext


def lr_at(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_lr: float) -> float:
    """The README's schedule, written once for the oracle."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))


class TorchAdamW(torch.optim.AdamW):
    """torch's AdamW with the contract's constructor (amsgrad off, the default single-tensor path)."""

    def __init__(self, param_groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(param_groups, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)


def _clip(parameters, max_norm):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm, foreach=False)


ORACLE = SimpleNamespace(AdamW=TorchAdamW, lr_at=lr_at, clip_grad_norm=_clip)


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    g = torch.Generator().manual_seed(seed)
    rows = int(p.get("noise_rows", p["steps"]))
    inputs: dict[str, Any] = {}
    for name, shape in sorted(p["shapes"].items()):
        shape = tuple(int(s) for s in shape)
        # float64 draws, cast by the driver: the same values at either dtype
        inputs[f"init.{name}"] = torch.randn(shape, generator=g, dtype=torch.float64)
        inputs[f"target.{name}"] = torch.randn(shape, generator=g, dtype=torch.float64)
        inputs[f"noise.{name}"] = torch.randn((rows, *shape), generator=g, dtype=torch.float64)
    if "trace_samples" in p:
        inputs["sample_index"] = torch.randint(2**62, (int(p["trace_samples"]),), generator=g)
    return inputs


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    copies = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    return ctx.driver.run(ORACLE, case.params, copies, ctx.device)


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    if not isinstance(outputs, dict):
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    missing = sorted(set(want) - set(outputs))
    if missing:
        return Check(False, f"outputs: missing {', '.join(missing)}")
    tol = ctx.tolerances[case.params["dtype"]]
    lr_tol = ctx.tolerances["lr"]
    # The schedule first: a wrong learning rate explains every parameter after it.
    result = compare_arrays("learning rates", outputs["lrs"], want["lrs"], lr_tol.atol, lr_tol.rtol)
    if "norms" in want:
        result = result & compare_arrays("gradient norms", outputs["norms"], want["norms"], tol.atol, tol.rtol)
    result = result & compare_arrays("parameters step by step", outputs["trace"], want["trace"], tol.atol, tol.rtol)
    for key in sorted(k for k in want if k.startswith("param.")):
        result = result & compare_arrays(key.removeprefix("param."), outputs[key], want[key], tol.atol, tol.rtol)
    return result
