"""Host-side grader for triton_softmax: inputs, the trusted answer, and the check.

One input, "x" (M, N) in the case's dtype; one output, "y", same shape and
dtype. The trusted answer is torch.softmax in float64 of the very input the
child got, rounded once to the dtype: computed here, never by the candidate's
or the reference's Triton code (which only runs in the sandbox).
"""

from __future__ import annotations

from typing import Any

import torch

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays
from dlverify.packs.loading import GraderContext

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """x = offset + scale * noise, drawn in float32 and rounded once to the dtype.

    The answer is computed from the rounded x itself, so how x was drawn does
    not matter for exactness; float32 keeps the GPU-sized bench pools quick.

    Case params: M, N, dtype, and optionally
      scale   spread of the values within a row (default 1.0);
      offset  added to every element (1e4: exp overflows without the max shift;
              -1e4: every exp underflows unless the max is subtracted);
      equal   every row constant (a random value within +-offset per row):
              the answer is exactly 1/N.
    """
    p = case.params
    m, n = int(p["M"]), int(p["N"])
    dtype = DTYPES[p["dtype"]]
    scale = float(p.get("scale", 1.0))
    offset = float(p.get("offset", 0.0))
    gen = torch.Generator().manual_seed(seed)
    if p.get("equal"):
        per_row = (torch.rand(m, 1, generator=gen) * 2 - 1) * offset  # (M, 1)
        x = per_row.expand(m, n)
    else:
        x = torch.randn(m, n, generator=gen).mul_(scale).add_(offset)   # (M, N)
    return {"x": x.to(dtype).contiguous()}


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    x = inputs["x"]
    # float64 on the GPU when there is one: a 4096 x 32768 bench call takes seconds on a CPU
    device = "cuda" if ctx.device == "cuda" and torch.cuda.is_available() else "cpu"
    return {"y": torch.softmax(x.to(device, torch.float64), dim=-1).to(x.dtype).cpu()}  # (M, N), rounded once


def check(
    case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any], ctx: GraderContext
) -> Check:
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    if not isinstance(outputs, dict):
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    if set(outputs) != {"y"}:
        got = ", ".join(sorted(str(k) for k in outputs)) or "nothing"
        return Check(False, f"outputs: expected exactly 'y', got {got}")
    tol = ctx.tolerances[case.params["dtype"]]
    # compare_arrays checks the exact type, dtype and shape before any value.
    return compare_arrays("y", outputs["y"], want["y"], tol.atol, tol.rtol, expect_type=torch.Tensor)


def not_run_reason(case: Case, ctx: GraderContext) -> str | None:
    if ctx.device == "cpu" and case.params["dtype"] == "bfloat16":
        return ("bfloat16 runs on a GPU only: the Triton interpreter (CPU) has no native "
                "bfloat16 and only emulates it, with different rounding")
    return None


def bytes_moved(case: Case) -> int:
    """Bytes an ideal softmax moves: x read once, y written once (for GB/s on bench cases)."""
    p = case.params
    return 2 * int(p["M"]) * int(p["N"]) * DTYPES[p["dtype"]].itemsize
