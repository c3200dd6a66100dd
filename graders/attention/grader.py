"""Grader of the attention exercise (trusted, host side).

Inputs are drawn in float32 and rounded to the case's dtype; the expected
answer is computed from those same rounded inputs in float64, written
independently of reference.py (exp of shifted scores over an explicit sum
rather than masked softmax), then rounded to the case's dtype. So a
low-precision case is judged against the best answer its inputs allow.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays
from dlverify.packs.loading import GraderContext

# Above this many scores per grading call, low-precision cases get their expected
# answer in float32 instead of float64: the GPU bench case (8*16*2048*2048 scores)
# would otherwise cost minutes of float64 on a CPU host, and float32's error is
# a thousandth of bfloat16's tolerance.
_FLOAT64_SCORE_LIMIT = 1 << 24


def _dtype(params: dict) -> torch.dtype:
    return getattr(torch, params["dtype"])


# ----------------------------------------------------------------------------- inputs

def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    if case.params["entry"] == "attention":
        return _attention_inputs(case.params, g)
    return _mhsa_inputs(case.params, g)


def _randn(shape, g, dtype, scale=1.0):
    return (torch.randn(shape, generator=g) * scale).to(dtype)


def _attention_inputs(p: dict, g: torch.Generator) -> dict[str, Any]:
    B, H, Lq, Lk, D = p["B"], p["H"], p["Lq"], p["Lk"], p["D"]
    Dv = p.get("Dv", D)
    dtype = _dtype(p)
    magnitude = p.get("magnitude", 1.0)  # > 1: large scores, a softmax without max-subtraction overflows
    inputs = {
        "q": _randn((B, H, Lq, D), g, dtype, magnitude),
        "k": _randn((B, H, Lk, D), g, dtype, magnitude),
        "v": _randn((B, H, Lk, Dv), g, dtype),
    }
    mask = _attention_mask(p.get("mask", "none"), B, H, Lq, Lk, p.get("empty_rows", False), g)
    if mask is not None:
        inputs["attn_mask"] = mask
    if p.get("backward", False):
        inputs["grad_out"] = _randn((B, H, Lq, Dv), g, dtype)
    return inputs


def _attention_mask(kind, B, H, Lq, Lk, empty_rows, g) -> torch.Tensor | None:
    """A bool mask (True = may attend) of the broadcast shape `kind` names."""
    if kind == "none":
        return None
    if kind == "key":  # (B, 1, 1, Lk): key padding, a valid prefix per batch element
        lengths = torch.randint(1, Lk + 1, (B,), generator=g)
        lengths[-1] = max(1, Lk // 2)  # at least one element really padded
        if empty_rows:
            lengths[0] = 0  # every key of this element padded: all its rows attend nothing
        return (torch.arange(Lk)[None, :] < lengths[:, None])[:, None, None, :]
    shape = {"full": (B, H, Lq, Lk), "qk": (Lq, Lk)}[kind]
    mask = torch.rand(shape, generator=g) < 0.7
    if empty_rows:
        rows = torch.rand(shape[:-1], generator=g) < 0.25
        rows.view(-1)[0] = True  # at least one
        mask &= ~rows[..., None]
    return mask


def _mhsa_inputs(p: dict, g: torch.Generator) -> dict[str, Any]:
    B, T, E = p["B"], p["T"], p["E"]
    dtype = _dtype(p)
    bound = 1.0 / math.sqrt(E)  # nn.Linear's own initialisation range

    def uniform(*shape):
        return ((torch.rand(shape, generator=g) * 2 - 1) * bound).to(dtype)

    inputs = {"qkv.weight": uniform(3 * E, E), "proj.weight": uniform(E, E)}
    if p["bias"]:
        inputs["qkv.bias"] = uniform(3 * E)
        inputs["proj.bias"] = uniform(E)
    inputs["x"] = _randn((B, T, E), g, dtype)
    padding = p.get("padding", "none")
    if padding != "none":
        n_pad = torch.randint(0, T, (B,), generator=g)
        n_pad[0] = max(1, T // 3)  # at least one element really padded
        idx = torch.arange(T)[None, :]
        if padding == "right":  # (B, T) True = padding
            inputs["key_padding_mask"] = idx >= (T - n_pad)[:, None]
        else:  # left padding: with causal, the first rows see only padding
            inputs["key_padding_mask"] = idx < n_pad[:, None]
    if p.get("backward", False):
        inputs["grad_out"] = _randn((B, T, E), g, dtype)
    return inputs


# ----------------------------------------------------------------------------- expected

def _allowed64(Lq: int, Lk: int, causal: bool, mask: torch.Tensor | None, device) -> torch.Tensor:
    """(…, Lq, Lk) bool: may query i attend key j."""
    i = torch.arange(Lq, device=device)[:, None]
    j = torch.arange(Lk, device=device)[None, :]
    allowed = (j <= i) if causal else torch.ones(Lq, Lk, dtype=torch.bool, device=device)
    if mask is not None:
        allowed = allowed & mask.to(device)
    return allowed


def _attend(q, k, v, allowed):
    """Softmax attention as exp(s - max) / sum, in q's dtype; rows with no key give 0."""
    s = (q @ k.transpose(-2, -1)) / math.sqrt(q.size(-1))  # (.., Lq, D) @ (.., D, Lk) -> (.., Lq, Lk)
    s = torch.where(allowed, s, float("-inf"))
    m = s.amax(dim=-1, keepdim=True).detach()  # the shift changes nothing but the range
    m = torch.where(torch.isfinite(m), m, 0.0)  # an all-masked row: exp(-inf) = 0 everywhere
    e = torch.exp(s - m)
    total = e.sum(dim=-1, keepdim=True)
    return (e @ v) / torch.where(total > 0, total, 1.0)  # (.., Lq, Lk) @ (.., Lk, Dv)


def _work(case: Case, ctx: GraderContext, n_scores: int) -> tuple[torch.dtype, str]:
    device = "cuda" if ctx.device == "cuda" and torch.cuda.is_available() else "cpu"
    low = case.params["dtype"] != "float32"
    return (torch.float32 if low and n_scores > _FLOAT64_SCORE_LIMIT else torch.float64), device


def expected(case: Case, inputs: dict, ctx: GraderContext) -> dict[str, Any]:
    if case.params["entry"] == "attention":
        return _expected_attention(case, inputs, ctx)
    return _expected_mhsa(case, inputs, ctx)


def _expected_attention(case: Case, inputs: dict, ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    q, k, v = inputs["q"], inputs["k"], inputs["v"]
    B, H, Lq, _ = q.shape
    Lk = k.shape[-2]
    work, device = _work(case, ctx, B * H * Lq * Lk)
    backward = p.get("backward", False)
    allowed = _allowed64(Lq, Lk, p["causal"], inputs.get("attn_mask"), device).expand(B, H, Lq, Lk)
    names = ("out", "dq", "dk", "dv") if backward else ("out",)
    parts: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    for b in range(B):  # one batch element at a time bounds the memory of big cases
        # detach: fresh leaves, so the host's copy of the inputs never gets requires_grad
        qb, kb, vb = (t[b].detach().to(device, work).requires_grad_(backward) for t in (q, k, v))
        out = _attend(qb, kb, vb, allowed[b])
        parts["out"].append(out.detach())
        if backward:
            out.backward(inputs["grad_out"][b].to(device, work))
            parts["dq"].append(qb.grad)
            parts["dk"].append(kb.grad)
            parts["dv"].append(vb.grad)
    return {n: torch.stack(ts).to("cpu", q.dtype) for n, ts in parts.items()}


def _expected_mhsa(case: Case, inputs: dict, ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    x = inputs["x"]
    B, T, E = x.shape
    H = p["H"]
    D = E // H
    work, device = _work(case, ctx, B * H * T * T)
    backward = p.get("backward", False)
    weights = {n: inputs[n].detach().to(device, work).requires_grad_(backward)
               for n in ("qkv.weight", "qkv.bias", "proj.weight", "proj.bias") if n in inputs}
    xw = x.detach().to(device, work).requires_grad_(backward)

    qkv = xw @ weights["qkv.weight"].T  # (B, T, E) @ (E, 3E) -> (B, T, 3E)
    if "qkv.bias" in weights:
        qkv = qkv + weights["qkv.bias"]
    # [q | k | v] on the last dim, each (B, T, H, D) -> (B, H, T, D)
    q, k, v = (qkv[..., s * E:(s + 1) * E].reshape(B, T, H, D).permute(0, 2, 1, 3) for s in range(3))
    pad = inputs.get("key_padding_mask")
    mask = None if pad is None else ~pad.to(device)[:, None, None, :]  # (B, 1, 1, T)
    y = _attend(q, k, v, _allowed64(T, T, p["causal"], mask, device))  # (B, H, T, D)
    y = y.permute(0, 2, 1, 3).reshape(B, T, E) @ weights["proj.weight"].T
    if "proj.bias" in weights:
        y = y + weights["proj.bias"]

    want = {"out": y.detach()}
    if backward:
        y.backward(inputs["grad_out"].to(device, work))
        want["dx"] = xw.grad
        want.update({"d" + n: w.grad for n, w in weights.items()})
    return {n: t.to("cpu", x.dtype) for n, t in want.items()}


# ----------------------------------------------------------------------------- check

def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    if type(outputs) is not dict:
        return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
    table = case.params.get("tolerance", case.params["dtype"])
    result = Check(True)
    for name, w in want.items():
        if name not in outputs:
            return Check(False, f"{name}: missing from the outputs")
        # gradients pass through more rounded matmuls than the output: their own table
        tol = ctx.tolerances[table if name == "out" else table + "_grad"]
        result = result & compare_arrays(name, outputs[name], w, tol.atol, tol.rtol, expect_type=torch.Tensor)
    return result
