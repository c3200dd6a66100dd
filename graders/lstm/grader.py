"""Host side of lstm: inputs, the trusted answer (torch.nn.LSTM in float64), the comparison.

The weights are an nn.LSTM's own state_dict (so the names are the contract), drawn from
the case's seed. Lengths go through pack_padded_sequence, which is what the contract's
"zero past the end, final state at the end" means for nn.LSTM.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """params: T, B, D (input size), H, L (layers), bias, dtype, state (bool), lengths (bool),
    autocast (bool). Lengths hold T and 1 when B allows, the rest random, unsorted."""
    p = case.params
    g = torch.Generator().manual_seed(seed)
    T, B, D, H, L = (int(p[k]) for k in ("T", "B", "D", "H", "L"))
    torch.manual_seed(seed)   # nn.LSTM's own initialisation draws from the global generator
    lstm = torch.nn.LSTM(D, H, L, bias=bool(p.get("bias", True))).double()
    inputs: dict[str, Any] = {f"param.{k}": v.detach().clone() for k, v in lstm.state_dict().items()}
    inputs["x"] = torch.randn(T, B, D, generator=g, dtype=torch.float64)
    if p.get("state"):
        inputs["h0"] = torch.randn(L, B, H, generator=g, dtype=torch.float64) * 0.5
        inputs["c0"] = torch.randn(L, B, H, generator=g, dtype=torch.float64) * 0.5
    if p.get("lengths"):
        lengths = torch.randint(1, T + 1, (B,), generator=g)
        if B >= 2:
            lengths[0], lengths[1] = T, 1
        inputs["lengths"] = lengths[torch.randperm(B, generator=g)]
    for name, shape in (("d_out", (T, B, H)), ("d_h", (L, B, H)), ("d_c", (L, B, H))):
        inputs[name] = torch.randn(*shape, generator=g, dtype=torch.float64)
    return inputs


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    T, B, D, H, L = (int(p[k]) for k in ("T", "B", "D", "H", "L"))
    dtype = getattr(torch, p["dtype"])
    lstm = torch.nn.LSTM(D, H, L, bias=bool(p.get("bias", True))).double()
    # the candidate runs on weights and inputs rounded to the case's dtype: so does the answer
    lstm.load_state_dict({k.removeprefix("param."): v.to(dtype).double()
                          for k, v in inputs.items() if k.startswith("param.")})
    x = inputs["x"].to(dtype).double().clone().requires_grad_(True)   # never the host's own copy
    leaves = {"x": x}
    state = None
    if "h0" in inputs:
        leaves["h0"] = inputs["h0"].to(dtype).double().clone().requires_grad_(True)
        leaves["c0"] = inputs["c0"].to(dtype).double().clone().requires_grad_(True)
        state = (leaves["h0"], leaves["c0"])
    if "lengths" in inputs:
        packed = pack_padded_sequence(x, inputs["lengths"], enforce_sorted=False)
        out_packed, (h_n, c_n) = lstm(packed, state)
        out, _ = pad_packed_sequence(out_packed, total_length=T)
    else:
        out, (h_n, c_n) = lstm(x, state)
    grads = [inputs[k].to(dtype).double() for k in ("d_out", "d_h", "d_c")]
    sum((t * g).sum() for t, g in zip((out, h_n, c_n), grads)).backward()
    read = torch.float32 if p.get("autocast") else dtype
    want = {"output": out.detach().to(read), "h_n": h_n.detach().to(read), "c_n": c_n.detach().to(read)}
    for name, leaf in list(leaves.items()) + list(lstm.named_parameters()):
        want[f"grad.{name}"] = leaf.grad.to(dtype)
    return want


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    tol = ctx.tolerances["bfloat16_autocast" if case.params.get("autocast") else case.params["dtype"]]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for key in want:   # outputs, then the states, then the gradients
        result = result & compare_arrays(key, outputs[key], want[key], tol.atol, tol.rtol, expect_type=torch.Tensor)
    return result
