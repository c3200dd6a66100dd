"""Host-side grader for triton_matmul: inputs, the trusted answer, and the check.

Inputs "a" (M, K), "b" (K, N) and, for cases with a bias, "bias" (N,), all in
the case's dtype; one output, "c" (M, N) in that dtype. The trusted answer is
act(a @ b + bias) in float64 of the very inputs the child got, rounded once to
the dtype: computed here, never by the candidate's or the reference's Triton
code (which only runs in the sandbox). How a case lays a and b out in memory
(a_transposed, b_transposed) is the driver's to do: the values are the same.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}
ACTIVATIONS = (None, "relu", "gelu")


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """a = offset_a + scale_a * noise, b = scale_b * noise, bias = scale_bias * noise.

    Drawn in float32 and rounded once to the dtype; the answer is computed from
    the rounded values, so how they were drawn does not matter for exactness.

    Case params: M, N, K, dtype, and optionally
      scale_a, scale_b, scale_bias   spreads (default 1.0)
      offset_a     added to every element of a (large_magnitude: 100)
      cancel       b's last K/2 rows are minus its first K/2 (K even): the offset's part of
                   a @ b cancels exactly, so the partial sums of a row run up to ~offset *
                   sqrt(K/2) and come back to an answer some 70x smaller. An accumulator in
                   the input dtype loses its low bits on the way and cannot get them back.
      bias         a bias (N,) is given
      activation   "relu" | "gelu" (absent: none)
    """
    p = case.params
    m, n, k = int(p["M"]), int(p["N"]), int(p["K"])
    dtype = DTYPES[p["dtype"]]
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(m, k, generator=gen).mul_(float(p.get("scale_a", 1.0))).add_(float(p.get("offset_a", 0.0)))
    if p.get("cancel"):
        half = torch.randn(k // 2, n, generator=gen).mul_(float(p.get("scale_b", 1.0)))  # (K/2, N)
        b = torch.cat([half, -half])                                                     # (K, N)
    else:
        b = torch.randn(k, n, generator=gen).mul_(float(p.get("scale_b", 1.0)))          # (K, N)
    inputs = {"a": a.to(dtype), "b": b.to(dtype)}
    if p.get("bias"):
        inputs["bias"] = torch.randn(n, generator=gen).mul_(float(p.get("scale_bias", 1.0))).to(dtype)  # (N,)
    return inputs


def answer64(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None, activation: str | None) -> torch.Tensor:
    """act(a @ b + bias) in float64, on a's device (not rounded)."""
    c = a.double() @ b.double()                      # (M, K) @ (K, N) -> (M, N)
    if bias is not None:
        c += bias.double()                           # (N,) broadcast over the rows
    if activation == "relu":
        c = torch.relu(c)
    elif activation == "gelu":
        c = torch.nn.functional.gelu(c, approximate="tanh")
    return c


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    # float64 on the GPU when there is one: 8192^3 in float64 takes minutes on a CPU
    device = "cuda" if ctx.device == "cuda" and torch.cuda.is_available() else "cpu"
    a, b = inputs["a"], inputs["b"]
    bias = inputs.get("bias")
    c = answer64(a.to(device), b.to(device), None if bias is None else bias.to(device), case.params.get("activation"))
    return {"c": c.to(a.dtype).cpu()}  # (M, N), rounded once


def term_scale(inputs: dict[str, Any]) -> float:
    """sqrt(K) max|a| max|b|: the size of a @ b's partial sums, which atol is a fraction of."""
    a, b = inputs["a"], inputs["b"]
    k = a.shape[1]
    return math.sqrt(k) * max(a.abs().max().item(), 1e-30) * max(b.abs().max().item(), 1e-30)


def check(
    case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any], ctx: GraderContext
) -> Check:
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    if not isinstance(outputs, dict):
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    if set(outputs) != {"c"}:
        got = ", ".join(sorted(str(k) for k in outputs)) or "nothing"
        return Check(False, f"outputs: expected exactly 'c', got {got}")
    tol = ctx.tolerances[case.params["dtype"]]
    # compare_arrays checks the exact type, dtype and shape before any value (see cases.toml for atol)
    return compare_arrays("c", outputs["c"], want["c"], tol.atol * term_scale(inputs), tol.rtol,
                          expect_type=torch.Tensor)


def not_run_reason(case: Case, ctx: GraderContext) -> str | None:
    if ctx.device == "cpu" and case.params["dtype"] == "bfloat16":
        return ("bfloat16 runs on a GPU only: the Triton interpreter (CPU) has no native "
                "bfloat16 and only emulates it, with different rounding")
    return None
