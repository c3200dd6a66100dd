"""Child side of lstm: build the candidate's LSTM, load nn.LSTM-named weights, run forward and
backward (under bf16 autocast when the case says so) and hand back outputs and gradients.

Runs next to candidate code: the host re-checks everything against nn.LSTM in float64.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path


def _tensor(value: Any, what: str, shape: tuple) -> torch.Tensor:
    if type(value) is not torch.Tensor:
        raise ContractError(f"{what} must be a torch.Tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise ContractError(f"{what} has shape {tuple(value.shape)}, expected {shape}")
    return value


def bench_call(module: Any, params: dict, inputs: dict, device: str):
    """(call, collect): call() is the candidate's forward and the backward through it."""
    cls = getattr(module, "LSTM", None)
    if not callable(cls):
        raise ContractError("the submission does not define LSTM")
    T, B, D, H, L = (int(params[k]) for k in ("T", "B", "D", "H", "L"))
    dtype = getattr(torch, params["dtype"])
    lstm = cls(D, H, L, bias=bool(params.get("bias", True)))
    if not isinstance(lstm, torch.nn.Module):
        raise ContractError(f"LSTM(...) must be a torch.nn.Module, got {type(lstm).__name__}")
    lstm = lstm.to(device=device, dtype=dtype)
    state = {k.removeprefix("param."): v.to(dtype) for k, v in inputs.items() if k.startswith("param.")}
    yours = set(lstm.state_dict())
    if yours != set(state):   # said from the candidate's side (torch's "missing" means the module's)
        raise ContractError(f"LSTM's parameters are not nn.LSTM's: nn.LSTM's {sorted(set(state) - yours)} are "
                            f"missing, {sorted(yours - set(state))} are not nn.LSTM's"[:400])
    try:
        lstm.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # torch's first line only names the class: the misshapen names follow it
        lines = [line.strip() for line in str(exc).strip().splitlines()]
        detail = "; ".join(line for line in lines[1:] if line) or lines[0]
        raise ContractError("LSTM's parameters do not match nn.LSTM's: " + detail[:400]) from None
    with_state = "h0" in inputs
    lengths = inputs["lengths"].to(device) if "lengths" in inputs else None
    grads_out = [inputs[k].to(device=device, dtype=dtype) for k in ("d_out", "d_h", "d_c")]
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if params.get("autocast") else contextlib.nullcontext()

    def call():
        lstm.zero_grad(set_to_none=True)
        x = inputs["x"].to(device=device, dtype=dtype).detach().clone().requires_grad_(True)
        leaves = {"x": x}
        st = None
        if with_state:
            leaves["h0"] = inputs["h0"].to(device=device, dtype=dtype).detach().clone().requires_grad_(True)
            leaves["c0"] = inputs["c0"].to(device=device, dtype=dtype).detach().clone().requires_grad_(True)
            st = (leaves["h0"], leaves["c0"])
        with autocast:
            result = lstm(x, st, lengths) if lengths is not None else lstm(x, st)
            if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], tuple)
                    and len(result[1]) == 2):
                raise ContractError("LSTM.forward must return (output, (h_n, c_n))")
            out = _tensor(result[0], "output", (T, B, H))
            h_n = _tensor(result[1][0], "h_n", (L, B, H))
            c_n = _tensor(result[1][1], "c_n", (L, B, H))
            loss = sum((t.float() * g.float()).sum() if params.get("autocast") else (t * g).sum()
                       for t, g in zip((out, h_n, c_n), grads_out))
        if not loss.requires_grad:
            raise ContractError("LSTM's outputs are not differentiable")
        loss.backward()
        return out, h_n, c_n, leaves

    def collect(done):
        out, h_n, c_n, leaves = done
        as_read = (lambda t: t.detach().float()) if params.get("autocast") else (lambda t: t.detach())
        outputs = {"output": as_read(out), "h_n": as_read(h_n), "c_n": as_read(c_n)}
        for name, leaf in list(leaves.items()) + list(lstm.named_parameters()):
            if leaf.grad is None:
                raise ContractError(f"no gradient reached {name}")
            outputs[f"grad.{name}"] = leaf.grad.detach()
        return outputs

    return call, collect


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    call, collect = bench_call(module, params, inputs, device)
    return {k: v.cpu() for k, v in collect(call()).items()}
