"""Child side of optimizer: build the parameter groups, drive the candidate's AdamW for many steps.

The grader owns the "model": a few parameter tensors in groups, and a gradient
made from data at every step, `grad = noise[t % rows] * scale + pull * (p - target)`
(the gradient of a seeded quadratic plus noise), so the gradient depends on where
the parameters are and any wrong update feeds back into later steps. Some
parameters get no gradient at some steps (`grad is None`), one group never does.
At every step the driver asks the candidate's `lr_at` for each group's learning
rate, sets it in the group, clips with the candidate's `clip_grad_norm` when the
case says so, and calls `step()` then `zero_grad()`. At `reload_at` it moves the
run onto a fresh instance loaded from a deep copy of `state_dict()`.

The host runs this same file with torch's own AdamW (the trusted answer).
Everything here is visible to, and can be tampered with by, the submission:
the host re-checks every output against its own run.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path; the host's packs.sandbox_contract

ENTRY_POINTS = ("AdamW", "lr_at", "clip_grad_norm")


def param_names(inputs: dict[str, Any]) -> list[str]:
    """Parameter names in a fixed order: every `init.<name>` input."""
    return sorted(k.removeprefix("init.") for k in inputs if k.startswith("init."))


def has_grad(params: dict[str, Any], name: str, t: int) -> bool:
    """Whether parameter `name` gets a gradient at step t (0-based)."""
    if name in params.get("never_grad", ()):
        return False
    every = int(params.get("skip_every", 0))
    # the intermittent parameter sits out every `skip_every`-th step: its own step count falls behind
    return not (name in params.get("intermittent", ()) and every and t % every == every - 1)


def _float(value: Any, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ContractError(f"{what} must be a number or a 0-d tensor, got a tensor of shape {tuple(value.shape)}")
        return float(value.detach().cpu().double().item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ContractError(f"{what} must be a float, got {type(value).__name__}")


def bench_call(module: Any, params: dict[str, Any], inputs: dict[str, Any], device: str):
    """(call, collect): call() is the whole training run (the candidate's code at every step)."""
    missing = [name for name in ENTRY_POINTS if not callable(getattr(module, name, None))]
    if missing:
        raise ContractError(f"the submission does not define {', '.join(missing)}")
    dtype = getattr(torch, params["dtype"])
    names = param_names(inputs)
    tensors = {n: inputs[f"init.{n}"].to(device=device, dtype=dtype).clone().requires_grad_(True) for n in names}
    noise = {n: inputs[f"noise.{n}"].to(device=device, dtype=dtype) for n in names}
    target = {n: inputs[f"target.{n}"].to(device=device, dtype=dtype) for n in names}
    pull, scale = float(params.get("pull", 0.1)), float(params.get("grad_scale", 1.0))
    steps = int(params["steps"])
    groups_spec = params["groups"]  # [{names, lr, weight_decay?}]
    hyper = {"lr": float(params["lr"]), "betas": tuple(float(b) for b in params.get("betas", (0.9, 0.999))),
             "eps": float(params.get("eps", 1e-8)), "weight_decay": float(params.get("weight_decay", 1e-2))}
    warmup, total = int(params["warmup_steps"]), int(params.get("total_steps", steps))
    floor = float(params.get("min_lr_ratio", 0.1))
    max_norm = params.get("max_norm")
    reload_at = int(params.get("reload_at", -1))
    sample_index = inputs.get("sample_index")
    ordered = [tensors[n] for n in names]

    def make_groups() -> list[dict[str, Any]]:
        groups = []
        for spec in groups_spec:
            group: dict[str, Any] = {"params": [tensors[n] for n in spec["names"]]}
            for key in ("lr", "weight_decay"):
                if key in spec:
                    group[key] = float(spec[key])
            groups.append(group)
        return groups

    base_lrs = [float(spec.get("lr", hyper["lr"])) for spec in groups_spec]

    def trace_row() -> torch.Tensor:
        flat = torch.cat([p.detach().reshape(-1) for p in ordered])
        if sample_index is not None:
            flat = flat[sample_index.to(flat.device) % flat.numel()]
        return flat.clone()

    def call() -> dict[str, Any]:
        opt = module.AdamW(make_groups(), **hyper)
        lrs, norms, trace = [], [], []
        for t in range(steps):
            if t == reload_at:
                # A fresh instance over the same parameters continues from a copy of the state.
                state = copy.deepcopy(opt.state_dict())
                opt = module.AdamW(make_groups(), **hyper)
                opt.load_state_dict(state)
            groups = getattr(opt, "param_groups", None)
            if not isinstance(groups, list) or len(groups) != len(groups_spec):
                raise ContractError(f"AdamW.param_groups must be a list of {len(groups_spec)} dicts")
            row = []
            for group, base in zip(groups, base_lrs):
                lr = _float(module.lr_at(t, base, warmup, total, base * floor), "lr_at's result")
                if not isinstance(group, dict):
                    raise ContractError("every entry of AdamW.param_groups must be a dict")
                group["lr"] = lr
                row.append(lr)
            lrs.append(row)
            with torch.no_grad():
                for n in names:
                    p = tensors[n]
                    p.grad = noise[n][t % noise[n].shape[0]] * scale + pull * (p - target[n]) \
                        if has_grad(params, n, t) else None
            if max_norm is not None:
                norms.append(_float(module.clip_grad_norm(list(ordered), float(max_norm)), "clip_grad_norm's result"))
            opt.step()
            opt.zero_grad()
            left = [n for n in names if tensors[n].grad is not None]
            if left:
                raise ContractError(f"zero_grad() must set every gradient to None; {left[0]} still has one")
            trace.append(trace_row())
        return {"lrs": lrs, "norms": norms, "trace": trace}

    def collect(result: dict[str, Any]) -> dict[str, Any]:
        outputs: dict[str, Any] = {
            "lrs": torch.tensor(result["lrs"], dtype=torch.float64),          # (steps, groups)
            "trace": torch.stack(result["trace"]),                            # (steps, entries)
        }
        if max_norm is not None:
            outputs["norms"] = torch.tensor(result["norms"], dtype=torch.float64)   # (steps,)
        for n in names:
            outputs[f"param.{n}"] = tensors[n].detach().clone()
        return outputs

    return call, collect


def run(module: Any, params: dict[str, Any], inputs: dict[str, Any], device: str) -> dict[str, Any]:
    call, collect = bench_call(module, params, inputs, device)
    outputs = collect(call())
    return {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in outputs.items()}
