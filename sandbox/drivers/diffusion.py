"""Child side of diffusion: the grader's noise-prediction model, and one call of the
candidate's function per case (schedule, q_sample, training loss, ancestral step, DDIM step).

The model is the grader's, built from the case's weights: eps(x, t) = tanh(x * w_c + emb[t]_c)
per channel c. It depends on x and on each sample's own t, so a wrong t or a wrong x shows.
The host builds the same model from this file for its float64 answer.
"""

from __future__ import annotations

from typing import Any

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path

FUNCTIONS = {"schedule": "make_schedule", "q_sample": "q_sample", "loss": "training_loss",
             "p_sample": "p_sample", "ddim": "ddim_step"}


class NoiseModel(torch.nn.Module):
    def __init__(self, w: torch.Tensor, emb: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w.detach().clone())        # (C,)
        self.emb = torch.nn.Parameter(emb.detach().clone())    # (T, C)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if type(t) is not torch.Tensor or t.dtype != torch.int64 or tuple(t.shape) != (x.shape[0],):
            raise ContractError(f"the model takes t as an int64 tensor of shape ({x.shape[0]},), one step per sample")
        return torch.tanh(x * self.w[None, :, None, None] + self.emb[t][:, :, None, None])


def build_model(inputs: dict, dtype: torch.dtype) -> NoiseModel:
    return NoiseModel(inputs["model.w"].to(dtype), inputs["model.emb"].to(dtype))


def _tensor(value: Any, what: str, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    if type(value) is not torch.Tensor:
        raise ContractError(f"{what} must return a torch.Tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape or value.dtype != dtype:
        raise ContractError(f"{what} returned {tuple(value.shape)} {value.dtype}, expected {shape} {dtype}")
    return value


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    op = params["op"]
    fn = getattr(module, FUNCTIONS[op], None)
    if not callable(fn):
        raise ContractError(f"the submission does not define {FUNCTIONS[op]}")
    if op == "schedule":
        T = int(params["T"])
        return {"betas": _tensor(fn(params["kind"], T), "make_schedule", (T,), torch.float64).detach().clone()}
    dtype = getattr(torch, params["dtype"])
    betas = inputs["betas"].clone()
    x = inputs["x"].to(dtype)
    t = inputs["t"].clone()
    noise = inputs["noise"].to(dtype)
    model = build_model(inputs, dtype)
    name = FUNCTIONS[op]
    if op == "q_sample":
        return {"x_t": _tensor(fn(x, t, noise, betas), name, tuple(x.shape), dtype).detach().clone()}
    if op == "loss":
        loss = fn(model, x, t, noise, betas)
        if type(loss) is not torch.Tensor or loss.dim() != 0:
            raise ContractError("training_loss must return a 0-d torch.Tensor")
        if not loss.requires_grad:
            raise ContractError("training_loss's result is not differentiable with respect to the model")
        loss.backward()
        if model.w.grad is None or model.emb.grad is None:
            raise ContractError("no gradient reached the model's parameters")
        return {"loss": loss.detach().to(dtype).clone(), "grad.w": model.w.grad.detach().clone(),
                "grad.emb": model.emb.grad.detach().clone()}
    with torch.no_grad():
        if op == "p_sample":
            out = fn(model, x, t, noise, betas)
        else:
            out = fn(model, x, t, inputs["t_prev"].clone(), float(params["eta"]), noise, betas)
    return {"x_prev": _tensor(out, name, tuple(x.shape), dtype).detach().clone()}
