"""Child-side driver of the attention exercise: how one case calls the submission.

Runs next to candidate code, so it only calls, moves and validates; the host
re-checks every type, shape and dtype of what comes back.
"""

import torch

from contract import ContractError

_MHSA_WEIGHTS = ("qkv.weight", "qkv.bias", "proj.weight", "proj.bias")


def run(module, params, inputs, device):
    call, collect = bench_call(module, params, inputs, device)
    return {name: t.cpu() for name, t in collect(call()).items()}


def bench_call(module, params, inputs, device):
    """(call, collect): call() is the candidate's forward (and backward) alone, the span a GPU
    bench times; placing the inputs before it and gathering the outputs after it stay outside.

    Timed as a whole run(), the bf16 bench would count the copy of out, dq, dk and dv to
    the host (128 MiB, several ms) as the candidate's time. collect leaves them on the
    device; run() moves them to the host.
    """
    if params["entry"] == "attention":
        return _attention_call(module, params, inputs, device)
    if params["entry"] == "mhsa":
        return _mhsa_call(module, params, inputs, device)
    raise ValueError(f"unknown entry {params['entry']!r}")  # a grader bug, not the candidate's


def _entry(module, name):
    fn = getattr(module, name, None)
    if fn is None:
        raise ContractError(f"the submission defines no `{name}`")
    return fn


def _tensor_out(out, what):
    # exact type: a Tensor subclass could defer work or lie about its values
    if type(out) is not torch.Tensor:
        raise ContractError(f"{what} must return a torch.Tensor, got {type(out).__module__}.{type(out).__name__}")
    return out


def _backward(out, grad_out, what):
    if not out.requires_grad:
        raise ContractError(f"{what}'s output does not require grad: it must be differentiable")
    if out.shape != grad_out.shape:
        raise ContractError(f"{what} returned shape {tuple(out.shape)}, expected {tuple(grad_out.shape)}")
    out.backward(grad_out)


def _grad(t, name):
    if t.grad is None:
        raise ContractError(f"no gradient reached `{name}`: the output is not differentiable with respect to it")
    return t.grad.detach()


def _attention_call(module, params, inputs, device):
    attention = _entry(module, "attention")
    backward = params.get("backward", False)
    # detach: fresh leaves, so gradients never land on the tensors handed in
    q, k, v = (inputs[n].detach().to(device).requires_grad_(backward) for n in ("q", "k", "v"))
    mask = inputs.get("attn_mask")
    mask = mask.to(device) if mask is not None else None
    grad_out = inputs["grad_out"].to(device) if backward else None

    def call():
        for t in (q, k, v):
            t.grad = None  # a slot called again (the warm-up) computes its gradients afresh
        out = _tensor_out(attention(q, k, v, causal=params["causal"], attn_mask=mask), "attention")
        if backward:
            _backward(out, grad_out, "attention")
        return out

    def collect(out):
        result = {"out": out.detach()}
        if backward:
            result.update(dq=_grad(q, "q"), dk=_grad(k, "k"), dv=_grad(v, "v"))
        return result

    return call, collect


def _mhsa_call(module, params, inputs, device):
    cls = _entry(module, "MultiHeadSelfAttention")
    dtype = getattr(torch, params["dtype"])
    backward = params.get("backward", False)
    m = cls(params["E"], params["H"], bias=params["bias"])
    if not isinstance(m, torch.nn.Module):
        raise ContractError("MultiHeadSelfAttention must be a torch.nn.Module")
    m = m.to(device=device, dtype=dtype)

    # strict on parameters (buffers such as a cached causal mask are the module's own business)
    want = {n: inputs[n] for n in _MHSA_WEIGHTS if n in inputs}
    have = dict(m.named_parameters())
    if set(have) != set(want):
        missing, unexpected = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        raise ContractError(f"MultiHeadSelfAttention(bias={params['bias']}) parameters must be exactly "
                            f"{sorted(want)}; missing {missing}, unexpected {unexpected}")
    with torch.no_grad():
        for name, value in want.items():
            if have[name].shape != value.shape:
                raise ContractError(f"parameter {name} has shape {tuple(have[name].shape)}, expected {tuple(value.shape)}")
            have[name].copy_(value.to(device))

    x = inputs["x"].detach().to(device).requires_grad_(backward)
    pad = inputs.get("key_padding_mask")
    pad = pad.to(device) if pad is not None else None
    grad_out = inputs["grad_out"].to(device) if backward else None

    def call():
        for t in [x, *have.values()]:
            t.grad = None  # a slot called again (the warm-up) computes its gradients afresh
        out = _tensor_out(m(x, causal=params["causal"], key_padding_mask=pad), "MultiHeadSelfAttention.forward")
        if backward:
            _backward(out, grad_out, "MultiHeadSelfAttention")
        return out

    def collect(out):
        result = {"out": out.detach()}
        if backward:
            result["dx"] = _grad(x, "x")
            for name in want:
                result["d" + name] = _grad(have[name], name)
        return result

    return call, collect


def bench_inputs(params: dict, seed: int, device: str) -> dict:
    """A timed call's q, k, v (and grad_out for a backward bench), made on `device` from `seed`.

    Standard normal, times `magnitude` for q and k, rounded once to the dtype; timed cases have
    no mask. The host makes the same ones again, with this code, for the calls it checks."""
    if params.get("entry", "attention") != "attention" or params.get("mask", "none") != "none":
        raise ValueError("generated bench inputs cover attention() without a mask")
    gen = torch.Generator(device=device).manual_seed(int(seed))
    B, H, Lq, Lk, D = (int(params[k]) for k in ("B", "H", "Lq", "Lk", "D"))
    Dv = int(params.get("Dv", D))
    dtype, magnitude = getattr(torch, params["dtype"]), float(params.get("magnitude", 1.0))

    def normal(shape, std=1.0):
        return torch.normal(0.0, std, shape, generator=gen, device=device).to(dtype)

    inputs = {"q": normal((B, H, Lq, D), magnitude), "k": normal((B, H, Lk, D), magnitude),
              "v": normal((B, H, Lk, Dv))}
    if params.get("backward", False):
        inputs["grad_out"] = normal((B, H, Lq, Dv))
    return inputs
