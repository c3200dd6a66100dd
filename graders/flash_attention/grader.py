"""Host-side grader for flash_attention: inputs, the trusted answer, and the check.

Inputs: q (B, H, Lq, D), k and v (B, H, Lk, D) and, for backward cases, do
(B, H, Lq, D), drawn in float32 and rounded once to the case's dtype. Outputs:
o (q's shape and dtype) and lse (B, H, Lq) float32 from attention_forward, and
for backward cases dq, dk, dv from attention_backward.

The trusted answer is computed here from the very (rounded) inputs the child
got, in float64, written independently of the reference kernel: the scores of
a block of queries against every key, an explicit max-shifted exp over their
sum, and autograd through those same ops for the gradients (no log-sum-exp
trick, no FlashAttention formulas). It never runs the candidate's or the
reference's Triton code, which only runs in the sandbox.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# Queries per block of the forward answer: a (512, Lk) block of scores, never the whole
# (Lq, Lk) matrix (the GPU case at Lq = Lk = 524 287 has 2.7e11 scores a head).
QUERY_BLOCK = 512
# Above this many scores in a case, 16-bit cases get their answer in float32 instead of
# float64 (on the grading GPU): float64 would cost minutes, and float32's error is a
# thousandth of bfloat16's tolerance.
FLOAT64_SCORE_LIMIT = 1 << 26
# The least scale an output's atol is relative to (check's docstring).
RMS_FLOOR = 0.1


def scale_of(params: dict) -> float:
    """The softmax scale a case passes: its own `scale`, else 1 / sqrt(D) (the driver's `scale_of` too)."""
    return float(params["scale"]) if "scale" in params else 1.0 / math.sqrt(int(params["D"]))


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """Standard normal q, k, v (and do), q and k times `magnitude` (default 1): at 12, the scores
    reach the hundreds and exp overflows float32 unless the running max is subtracted."""
    p = case.params
    B, H, Lq, Lk, D = (int(p[n]) for n in ("B", "H", "Lq", "Lk", "D"))
    dtype, magnitude = DTYPES[p["dtype"]], float(p.get("magnitude", 1.0))
    gen = torch.Generator().manual_seed(seed)

    def draw(shape, std=1.0):
        return torch.randn(shape, generator=gen).mul_(std).to(dtype)

    inputs = {"q": draw((B, H, Lq, D), magnitude), "k": draw((B, H, Lk, D), magnitude), "v": draw((B, H, Lk, D))}
    if p.get("backward", False):
        inputs["do"] = draw((B, H, Lq, D))
    return inputs


def _scores(q: torch.Tensor, k: torch.Tensor, rows: torch.Tensor, causal: bool, scale: float) -> torch.Tensor:
    """scale * q k^T for query rows `rows`, -inf where causal hides the key (top-left: key j <= query i)."""
    s = (q @ k.transpose(-1, -2)) * scale                       # (.., n, D) @ (.., D, Lk) -> (.., n, Lk)
    if causal:
        keys = torch.arange(k.shape[-2], device=k.device)
        s = s.masked_fill(keys[None, :] > rows[:, None], -math.inf)
    return s


def _forward(q, k, v, causal: bool, scale: float):
    """o (.., Lq, D) and lse (.., Lq), a block of queries at a time. Every query sees key 0, so
    every row's max is finite."""
    outs, lses = [], []
    for start in range(0, q.shape[-2], QUERY_BLOCK):
        rows = torch.arange(start, min(start + QUERY_BLOCK, q.shape[-2]), device=q.device)
        s = _scores(q[..., start:start + QUERY_BLOCK, :], k, rows, causal, scale)   # (.., n, Lk)
        m = s.amax(dim=-1, keepdim=True)                                              # (.., n, 1)
        e = torch.exp(s - m)
        total = e.sum(dim=-1, keepdim=True)
        outs.append((e @ v) / total)                                                  # (.., n, Lk) @ (.., Lk, D)
        lses.append((m + torch.log(total)).squeeze(-1))
    return torch.cat(outs, dim=-2), torch.cat(lses, dim=-1)


def _gradients(q, k, v, do, causal: bool, scale: float):
    """dq, dk, dv by autograd through the explicit softmax: the (Lq, Lk) matrix of one (b, h) at a time."""
    q, k, v = (t.detach().requires_grad_(True) for t in (q, k, v))
    s = _scores(q, k, torch.arange(q.shape[-2], device=q.device), causal, scale)      # (Lq, Lk)
    e = torch.exp(s - s.amax(dim=-1, keepdim=True).detach())   # the shift changes nothing but the range
    o = (e @ v) / e.sum(dim=-1, keepdim=True)
    o.backward(do)
    return q.grad, k.grad, v.grad


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    B, H, Lq, _ = q.shape
    Lk = k.shape[2]
    causal, scale = bool(p["causal"]), scale_of(p)
    device = "cuda" if ctx.device == "cuda" and torch.cuda.is_available() else "cpu"
    work = torch.float32 if p["dtype"] != "float32" and B * H * Lq * Lk > FLOAT64_SCORE_LIMIT else torch.float64
    names = ("o", "lse", "dq", "dk", "dv") if p.get("backward", False) else ("o", "lse")
    parts: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    for b in range(B):
        for h in range(H):       # one head at a time bounds the memory of the big GPU cases
            qh, kh, vh = (t[b, h].to(device, work) for t in (q, k, v))
            o, lse = _forward(qh, kh, vh, causal, scale)
            parts["o"].append(o.to("cpu", q.dtype))
            parts["lse"].append(lse.to("cpu", torch.float32))
            if "dq" in parts:
                grads = _gradients(qh, kh, vh, inputs["do"][b, h].to(device, work), causal, scale)
                for name, g in zip(("dq", "dk", "dv"), grads):
                    parts[name].append(g.to("cpu", q.dtype))
    return {n: torch.stack(ts).unflatten(0, (B, H)) for n, ts in parts.items()}   # rounded once


def check(case: Case, inputs: dict[str, Any], outputs: dict[str, Any], want: dict[str, Any],
          ctx: GraderContext) -> Check:
    """Every output within its table: |got - want| <= atol * r + rtol * |want| elementwise, with
    r = max(RMS of the whole answer, 0.1) for o, dq, dk, dv and r = 1 for lse. o and the gradients
    shrink as 1 / sqrt(L): at L = 4096 their RMS is about 0.06 (unit-normal inputs), where an
    absolute atol of 0.03 would pass half of any garbage; the floor keeps an answer that is exactly
    0 (dq when a query sees one key) from asking float32 noise to be 0."""
    # The driver may have been tampered with: trust nothing about `outputs` unchecked.
    wrong_keys = exact_keys(outputs, want)
    if wrong_keys is not None:
        return wrong_keys
    table = case.params.get("tolerance", case.params["dtype"])
    result = Check(True)
    for name, w in want.items():
        # lse is float32 whatever the dtype; the gradients pass through more rounded products than o
        tol = ctx.tolerances[table + {"o": "", "lse": "_lse"}.get(name, "_grad")]
        r = 1.0 if name == "lse" else _rms(w)
        # compare_arrays checks the exact type, dtype and shape before any value
        result = result & compare_arrays(name, outputs[name], w, tol.atol * r, tol.rtol, expect_type=torch.Tensor)
    return result


def _rms(t: torch.Tensor) -> float:
    """max(root-mean-square of a trusted answer, RMS_FLOOR): the scale its atol is relative to."""
    r = float(t.double().square().mean().sqrt()) if t.numel() else 0.0
    return max(r, RMS_FLOOR)


def not_run_reason(case: Case, ctx: GraderContext) -> str | None:
    if ctx.device == "cpu" and case.params["dtype"] == "bfloat16":
        return ("bfloat16 runs on a GPU only: the Triton interpreter (CPU) has no native "
                "bfloat16 and only emulates it, with different rounding")
    return None
