"""Host side of mixed_precision: inputs, the trusted answer, and the comparison.

The answer is the reference loop run through the same driver on the host's own
copy of the inputs, on the same kind of device: autocast's rounding is part of
what is being tested, so a float64 re-derivation would be the wrong answer, and
CPU and GPU matmuls round differently. The reference is plain PyTorch (no
custom kernels), so running it in the host, on the GPU too, is safe.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays, compare_scalar
from dlverify.packs.loading import GraderContext

PARAM_KEYS = ("param.fc1.weight", "param.fc1.bias", "param.fc2.weight", "param.fc2.bias")


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    d, hidden, classes = int(p["d"]), int(p["hidden"]), int(p["classes"])
    n, bs = int(p["n_batches"]), int(p["batch"])
    g = torch.Generator().manual_seed(seed)
    inputs: dict[str, Any] = {
        # std 1/sqrt(fan_in): activations and logits stay O(1), so bf16 rounding is relative.
        "fc1.weight": torch.randn(hidden, d, generator=g) / math.sqrt(d),
        "fc1.bias": torch.randn(hidden, generator=g) * 0.1,
        "fc2.weight": torch.randn(classes, hidden, generator=g) / math.sqrt(hidden),
        "fc2.bias": torch.randn(classes, generator=g) * 0.1,
    }
    xs = torch.randn(n, bs, d, generator=g)                     # (n, bs, d)
    teacher = torch.randn(d, classes, generator=g)              # labels a model can learn
    ys = (xs @ teacher).argmax(dim=-1)                          # (n, bs, d) @ (d, C) -> (n, bs, C) -> (n, bs)
    bad = int(p.get("nonfinite_batch", -1))
    if bad >= 0:
        # One inf input makes that micro-batch's loss and gradients non-finite:
        # the scaler must skip the step of the group holding it and halve its scale.
        xs[bad, int(torch.randint(bs, (), generator=g)), 0] = math.inf
    inputs["xs"] = xs
    inputs["ys"] = ys
    if "param_samples" in p:
        # Big models hand back a fixed random sample of each parameter, not all of it.
        inputs["sample_index"] = torch.randint(2**62, (int(p["param_samples"]),), generator=g)
    return inputs


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    # Fresh copies: the trusted run must not share a storage with anything else.
    copies = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    return ctx.driver.run(ctx.reference, case.params, copies, ctx.device)


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    if not isinstance(outputs, dict):
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    missing = sorted(set(want) - set(outputs))
    if missing:
        return Check(False, f"outputs: missing {', '.join(missing)}")

    # Master weights must stay float32: a model cast to bf16/fp16 fails here with a
    # plain message rather than as a dtype mismatch further down.
    for key in PARAM_KEYS:
        got = outputs[key]
        if type(got) is torch.Tensor and got.dtype != torch.float32:
            name = key.removeprefix("param.")
            return Check(False, f"parameter {name} is {str(got.dtype).removeprefix('torch.')} "
                                f"after training; parameters must stay float32")

    dtype = case.params["dtype"]
    tol = ctx.tolerances[f"{dtype}_cuda" if ctx.device.startswith("cuda") else dtype]
    result = compare_arrays("losses", outputs["losses"], want["losses"], tol.atol, tol.rtol)
    for key in PARAM_KEYS:
        result = result & compare_arrays(key.removeprefix("param."), outputs[key], want[key], tol.atol, tol.rtol)
    if "scaler_scale" in want:
        # Powers of two, changed only by skipped steps: exact.
        result = result & compare_scalar("scaler scale", outputs["scaler_scale"], want["scaler_scale"], 0.0, 0.0)
    return result
