"""Child side of gnn: build each layer, load the case's weights, run forward and backward.

The grader owns the weights (loaded with load_state_dict, so the contract's parameter
names are checked by torch itself), the features and the output gradient. Runs next
to candidate code: everything here is visible to it, and the host re-checks every
output against its own float64 computation.
"""

from __future__ import annotations

from typing import Any

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path

LAYERS = {"gcn": "GCNConv", "mean": "MeanConv"}


def _layer(module: Any, kind: str, params: dict, inputs: dict, dtype: torch.dtype):
    cls = getattr(module, LAYERS[kind], None)
    if not callable(cls):
        raise ContractError(f"the submission does not define {LAYERS[kind]}")
    layer = cls(int(params["F_in"]), int(params["F_out"]), bias=bool(params.get("bias", True)))
    if not isinstance(layer, torch.nn.Module):
        raise ContractError(f"{LAYERS[kind]}(...) must be a torch.nn.Module, got {type(layer).__name__}")
    layer = layer.to(dtype)   # README: the grader moves the layer to the case's dtype, then loads
    prefix = f"{kind}.param."
    state = {k[len(prefix):]: v.to(dtype) for k, v in inputs.items() if k.startswith(prefix)}
    try:
        layer.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ContractError(f"{LAYERS[kind]}'s parameters do not match the contract "
                            f"(expected {', '.join(sorted(state))}): {first}") from None
    return layer, sorted(state)


def bench_call(module: Any, params: dict, inputs: dict, device: str):
    """(call, collect): call() runs every layer of the case forward and backward."""
    dtype = getattr(torch, params["dtype"])
    n, f_out = int(params["N"]), int(params["F_out"])
    edge_index = inputs["edge_index"].to(device)
    layers = {kind: _layer(module, kind, params, inputs, dtype) for kind in params["layers"]}
    dy = inputs["dy"].to(device=device, dtype=dtype)

    def call():
        done = {}
        for kind, (layer, names) in layers.items():
            layer.to(device)
            layer.zero_grad(set_to_none=True)
            x = inputs["x"].to(device=device, dtype=dtype).detach().clone().requires_grad_(True)   # a fresh leaf per layer
            edges = edge_index.clone()   # the candidate's copy: an in-place change is caught below
            out = layer(x, edges)
            if type(out) is not torch.Tensor:
                raise ContractError(f"{LAYERS[kind]}.forward must return a torch.Tensor, got {type(out).__name__}")
            if tuple(out.shape) != (n, f_out) or out.dtype != dtype:
                raise ContractError(f"{LAYERS[kind]}.forward returned {tuple(out.shape)} {out.dtype}, "
                                    f"expected {(n, f_out)} {dtype}")
            if not torch.equal(edges, edge_index):
                raise ContractError(f"{LAYERS[kind]}.forward modified edge_index in place")
            if not out.requires_grad:
                raise ContractError(f"{LAYERS[kind]}.forward's output is not differentiable")
            out.backward(dy)
            # None is autograd's "the output does not depend on it": a zero gradient, right for
            # lin_neigh on a graph without edges, and compared with the host's answer like any other
            leaves = {"x": x, **dict(layer.named_parameters())}
            grads = {}
            for name in ["x"] + names:
                leaf = leaves[name]
                grads[name] = torch.zeros_like(leaf.detach()) if leaf.grad is None else leaf.grad.detach()
            done[kind] = (out.detach(), grads)
        return done

    def collect(done):
        outputs = {}
        for kind, (out, grads) in done.items():
            outputs[f"{kind}.out"] = out
            for name, g in grads.items():
                outputs[f"{kind}.grad.{name}"] = g
        return outputs

    return call, collect


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    call, collect = bench_call(module, params, inputs, device)
    return {k: v.cpu() for k, v in collect(call()).items()}
