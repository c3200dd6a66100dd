"""Child side of mixed_precision: build the training run from data, call the candidate.

The candidate writes the loop (autocast, accumulation, loss scaling, clipping);
everything it is handed -- model, optimizer, batches, loss function, scaler --
is built here from the case's params and inputs. The host loads this same file
(ctx.driver) to build the identical run for the trusted reference, so the model
definition lives here and nowhere else.

Everything here is visible to, and can be tampered with by, the submission: the
host re-checks every output against its own run of the reference.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from contract import ContractError  # sandbox/contract.py: on the child's path; the host's packs.sandbox_contract


PARAM_NAMES = ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")


class MLP(nn.Module):
    """Linear -> GELU -> Linear: the two matmuls are where autocast rounds to bf16/fp16."""

    def __init__(self, d_in: int, hidden: int, classes: int):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, d_in) -> (B, hidden) -> (B, classes)
        return self.fc2(self.act(self.fc1(x)))


def build_model(inputs: dict[str, Any], device: str) -> MLP:
    """The MLP with its float32 weights from the inputs (a flat state dict)."""
    hidden, d_in = inputs["fc1.weight"].shape
    classes = inputs["fc2.weight"].shape[0]
    with torch.device(device):  # built where it trains: no throwaway CPU init of a big model
        model = MLP(d_in, hidden, classes)
    # load_state_dict copies, so training never writes into the inputs.
    model.load_state_dict({name: inputs[name].float() for name in PARAM_NAMES})
    return model


def build_optimizer(model: nn.Module, params: dict[str, Any]) -> torch.optim.Optimizer:
    kind = params.get("optimizer", "sgd")
    lr = float(params["lr"])
    if kind == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=float(params.get("momentum", 0.0)))
    if kind == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=float(params.get("weight_decay", 0.01)))
    raise ValueError(f"unknown optimizer {kind!r}")


def build_scaler(params: dict[str, Any], device_type: str) -> torch.amp.GradScaler | None:
    if not params.get("scaler", False):
        return None
    # growth_interval far beyond any case: the scale only changes when a step is skipped.
    return torch.amp.GradScaler(device_type, init_scale=float(params["init_scale"]), growth_interval=10_000)


def build_batches(inputs: dict[str, Any], device: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    xs = inputs["xs"].to(device)  # (n, bs, d_in) float32; one batch may hold an inf
    ys = inputs["ys"].to(device)  # (n, bs) int64 class labels
    return [(xs[i].clone(), ys[i].clone()) for i in range(xs.shape[0])]


def n_steps(n_batches: int, accum_steps: int) -> int:
    """Optimizer steps: one per group of accum_steps micro-batches, a partial last group included."""
    return math.ceil(n_batches / accum_steps)


def _check_losses(losses: Any, steps: int) -> list[float]:
    if not isinstance(losses, list):
        raise ContractError(f"train_mixed_precision must return a list of floats, got {type(losses).__name__}")
    if len(losses) != steps:
        raise ContractError(f"returned {len(losses)} losses, expected one per optimizer step ({steps})")
    for i, value in enumerate(losses):
        if not isinstance(value, float):
            raise ContractError(f"loss {i} is a {type(value).__name__}, expected a Python float")
    return [float(v) for v in losses]


def _param_output(p: torch.Tensor, sample_index: torch.Tensor | None) -> torch.Tensor:
    """The parameter as it is (its dtype is evidence), or a fixed sample of it for big models."""
    flat = p.detach().reshape(-1)
    if sample_index is not None:
        flat = flat[sample_index.to(flat.device) % flat.numel()]
    return flat.clone()


def bench_call(module: Any, params: dict[str, Any], inputs: dict[str, Any], device: str):
    """(call, collect): call() is the candidate's loop alone, the part a GPU bench times;
    building the run before it and reading the results after it stay outside."""
    train = getattr(module, "train_mixed_precision", None)
    if not callable(train):
        raise ContractError("the submission does not define train_mixed_precision")
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    dtype = getattr(torch, params["dtype"])

    model = build_model(inputs, device)
    optimizer = build_optimizer(model, params)
    scaler = build_scaler(params, device_type)
    batches = build_batches(inputs, device)

    # Only the keywords a case sets are passed, so the defaults of the contract are exercised too.
    kwargs: dict[str, Any] = {"device_type": device_type, "dtype": dtype}
    if "accum_steps" in params:
        kwargs["accum_steps"] = int(params["accum_steps"])
    if "max_grad_norm" in params:
        kwargs["max_grad_norm"] = float(params["max_grad_norm"])
    if scaler is not None:
        kwargs["scaler"] = scaler
    steps = n_steps(len(batches), kwargs.get("accum_steps", 1))
    sample_index = inputs.get("sample_index")

    def call() -> Any:
        return train(model, optimizer, batches, nn.functional.cross_entropy, **kwargs)

    def collect(losses: Any) -> dict[str, Any]:
        losses = _check_losses(losses, steps)
        named = dict(model.named_parameters())
        missing = [name for name in PARAM_NAMES if name not in named]
        if missing:
            raise ContractError(f"the model lost its parameters {missing}")
        outputs: dict[str, Any] = {"losses": torch.tensor(losses, dtype=torch.float64)}
        for name in PARAM_NAMES:
            outputs[f"param.{name}"] = _param_output(named[name], sample_index)
        if scaler is not None:
            outputs["scaler_scale"] = float(scaler.get_scale())
        return outputs

    return call, collect


def run(module: Any, params: dict[str, Any], inputs: dict[str, Any], device: str) -> dict[str, Any]:
    call, collect = bench_call(module, params, inputs, device)
    outputs = collect(call())
    return {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in outputs.items()}


def bench_inputs(params: dict[str, Any], seed: int, device: str) -> dict[str, Any]:
    """A timed call's weights, batches and labels, made on `device` from `seed`.

    As the host's cases are made (weights with std 1/sqrt(fan_in), biases 0.1, inputs standard
    normal, the fixed sample of parameter entries that comes back), but with labels drawn
    uniformly: a teacher's matmul could round differently in the worker (whose settings the
    submission may change) and on the host, and the two copies must be the same bits. The host
    makes the same ones again with this code for the calls it checks."""
    d, hidden, classes = int(params["d"]), int(params["hidden"]), int(params["classes"])
    n, bs = int(params["n_batches"]), int(params["batch"])
    gen = torch.Generator(device=device).manual_seed(int(seed))

    def normal(shape, std=1.0):
        return torch.normal(0.0, std, shape, generator=gen, device=device)

    xs = normal((n, bs, d))                                                  # (n, bs, d)
    inputs: dict[str, Any] = {
        "fc1.weight": normal((hidden, d), 1 / math.sqrt(d)), "fc1.bias": normal((hidden,), 0.1),
        "fc2.weight": normal((classes, hidden), 1 / math.sqrt(hidden)), "fc2.bias": normal((classes,), 0.1),
        "xs": xs, "ys": torch.randint(classes, (n, bs), generator=gen, device=device),   # (n, bs)
    }
    if "param_samples" in params:
        inputs["sample_index"] = torch.randint(2**62, (int(params["param_samples"]),), generator=gen, device=device)
    return inputs
