"""torch's own implementation of each exercise: the `vs_torch` denominator, timed in the same run.

Trusted code, run in the host process with the same harness as the child
(sandbox/gpu_timing.py: warm-up by time, L2 flush, CUDA events, one fresh
pool slot per call) on the very inputs the submission got. It never runs
under the exercise's rules: using torch's fused kernels is the point.

    triton_softmax   torch.softmax(x, dim=-1)
    attention        F.scaled_dot_product_attention (the fused kernel torch picks), forward
                     and, for backward cases, backward
    flash_attention  F.scaled_dot_product_attention with the case's scale, forward and, for backward
                     cases, backward (it hands out no log-sum-exp: only o and the gradients)
    mixed_precision  the same training loop in float32 (no autocast, no scaler, TF32 off):
                     vs_torch is then the mixed-precision speed-up
    cuda_matmul      torch.matmul (cuBLAS SGEMM, TF32 off)
    triton_matmul    torch.matmul, or torch.addmm with a bias (cuBLAS), then F.relu / F.gelu
                     (tanh approximation) when the case has an activation
    backprop_mlp     torch autograd on the same float64 MLP (CPU)
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable

from . import harness


@dataclass
class Baseline:
    label: str
    prepare: Callable[[dict], Any]     # inputs (on the device) -> gpu_timing.Prepared
    context: Callable[[], Any] = contextlib.nullcontext   # entered around the whole timing


def baseline_for(exercise_id: str, params: dict, device: str, ctx=None) -> Baseline | None:
    """torch's implementation for this case, or None when there is none to compare with."""
    make = _BASELINES.get(exercise_id)
    return make(params, device, ctx) if make else None


def _prepared(call, collect):
    return harness().Prepared(call, collect)


def _softmax(params: dict, device: str, ctx) -> Baseline:
    import torch

    def prepare(inputs):
        x = inputs["x"]  # (M, N)
        return _prepared(lambda: torch.softmax(x, dim=-1), lambda y: {"y": y})

    return Baseline("torch.softmax", prepare)


def _attention(params: dict, device: str, ctx) -> Baseline | None:
    if params.get("entry", "attention") != "attention":
        return None
    import torch
    import torch.nn.functional as F

    backward = bool(params.get("backward", False))
    causal = bool(params.get("causal", False))

    def prepare(inputs):
        q, k, v = (inputs[n].detach().requires_grad_(backward) for n in ("q", "k", "v"))  # (B, H, L, D)
        mask = inputs.get("attn_mask")
        if mask is not None and causal:  # both: one bool mask, the causal part top-left aligned like the grader's
            lq, lk = q.shape[-2], k.shape[-2]
            mask = mask & torch.ones(lq, lk, dtype=torch.bool, device=q.device).tril()
        grad_out = inputs.get("grad_out")

        def call():
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal and mask is None)
            if backward:
                out.backward(grad_out)
            return out

        def collect(out):
            outputs = {"out": out.detach()}
            if backward:
                outputs.update(dq=q.grad, dk=k.grad, dv=v.grad)
            return outputs

        return _prepared(call, collect)

    return Baseline("F.scaled_dot_product_attention" + (" fwd+bwd" if backward else ""), prepare)


def _flash_attention(params: dict, device: str, ctx) -> Baseline:
    import torch.nn.functional as F

    backward, causal, scale = bool(params.get("backward", False)), bool(params["causal"]), params.get("scale")

    def prepare(inputs):
        q, k, v = (inputs[n].detach().requires_grad_(backward) for n in ("q", "k", "v"))  # (B, H, L, D)
        do = inputs.get("do")

        def call():
            for t in (q, k, v):
                t.grad = None  # a slot called again (the warm-up) computes its gradients afresh
            o = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale)  # scale None: 1 / sqrt(D)
            if backward:
                o.backward(do)
            return o

        def collect(o):
            return {"o": o.detach(), **({"dq": q.grad, "dk": k.grad, "dv": v.grad} if backward else {})}

        return _prepared(call, collect)

    return Baseline("F.scaled_dot_product_attention" + (" fwd+bwd" if backward else ""), prepare)


def _mixed_precision(params: dict, device: str, ctx) -> Baseline:
    import torch
    import torch.nn.functional as F

    from .sol import ieee_float32

    accum = int(params.get("accum_steps", 1))
    clip = params.get("max_grad_norm")

    def prepare(inputs):
        # The exercise's own builders (sandbox/drivers/mixed_precision.py), as the host's reference run uses.
        model = ctx.driver.build_model(inputs, device)
        optimizer = ctx.driver.build_optimizer(model, params)
        batches = ctx.driver.build_batches(inputs, device)

        def call():
            # The reference loop's structure (a loss read back per micro-batch included), in float32.
            losses = []
            for start in range(0, len(batches), accum):
                group = batches[start:start + accum]
                total = 0.0
                for x, y in group:
                    loss = F.cross_entropy(model(x), y)
                    total += loss.item()
                    (loss / len(group)).backward()
                if clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), float(clip))
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                losses.append(total / len(group))
            return losses

        return _prepared(call, lambda losses: {"losses": torch.tensor(losses, dtype=torch.float64)})

    return Baseline("the same loop in float32", prepare, ieee_float32 if device == "cuda" else contextlib.nullcontext)


def _matmul(params: dict, device: str, ctx) -> Baseline:
    import torch

    from .sol import ieee_float32

    def prepare(inputs):
        a, b = inputs["a"], inputs["b"]  # (M, K), (K, N)
        return _prepared(lambda: torch.matmul(a, b), lambda c: {"c": c})  # (M, K) @ (K, N) -> (M, N)

    return Baseline("torch.matmul (TF32 off)", prepare, ieee_float32 if device == "cuda" else contextlib.nullcontext)


def _triton_matmul(params: dict, device: str, ctx) -> Baseline:
    import torch
    import torch.nn.functional as F

    activation = params.get("activation")
    finish = {None: lambda c: c, "relu": F.relu, "gelu": lambda c: F.gelu(c, approximate="tanh")}[activation]

    def prepare(inputs):
        a, b, bias = inputs["a"], inputs["b"], inputs.get("bias")  # (M, K), (K, N), (N,) or None

        def call():
            # (M, K) @ (K, N) -> (M, N); addmm adds the bias in cuBLAS's epilogue
            c = torch.matmul(a, b) if bias is None else torch.addmm(bias, a, b)
            return finish(c)  # a second kernel, as torch runs it unfused

        return _prepared(call, lambda c: {"c": c})

    label = "torch.matmul" if not params.get("bias") else "torch.addmm"
    return Baseline(label + (f" + F.{activation}" if activation else ""), prepare)


def _backprop_mlp(params: dict, device: str, ctx) -> Baseline:
    import torch
    import torch.nn.functional as F

    def prepare(inputs):
        n_layers = sum(1 for k in inputs if k.startswith("W"))
        weights = [torch.as_tensor(inputs[f"W{i}"]) for i in range(1, n_layers + 1)]
        biases = [torch.as_tensor(inputs[f"b{i}"]) for i in range(1, n_layers + 1)]
        x = torch.as_tensor(inputs["x"])
        y = torch.as_tensor(inputs["y"]).long()

        def call():
            params_ = [t.detach().clone().requires_grad_(True) for t in weights + biases]
            h = x
            for i in range(n_layers):
                h = h @ params_[i] + params_[n_layers + i]  # (N, d_i) @ (d_i, d_i+1)
                if i < n_layers - 1:
                    h = torch.relu(h)
            loss = F.cross_entropy(h, y)
            loss.backward()
            return loss, params_

        return _prepared(call, lambda out: {"loss": out[0].detach(), **{f"g{i}": p.grad for i, p in enumerate(out[1])}})

    return Baseline("torch autograd, float64", prepare)


_BASELINES = {
    "triton_softmax": _softmax,
    "attention": _attention,
    "flash_attention": _flash_attention,
    "mixed_precision": _mixed_precision,
    "cuda_matmul": _matmul,
    "triton_matmul": _triton_matmul,
    "backprop_mlp": _backprop_mlp,
}
