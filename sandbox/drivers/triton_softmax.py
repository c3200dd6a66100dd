"""triton_softmax driver: runs in the child, next to the candidate's code.

Moves x to the device, calls `softmax(x)` once, checks the answer is a plain
tensor of x's shape, dtype and device, and hands it back on the CPU. The whole
call runs under the child's guards (forbidden torch ops, Triton launch count),
so this file uses only ops the exercise allows: moves and copies. The host
re-checks everything this returns.
"""

from __future__ import annotations

import torch


def _contract_error() -> type[Exception]:
    try:
        from contract import ContractError  # the child runs with sandbox/ importable
    except ImportError:  # the host loads this file by path, with sandbox/ not on sys.path
        import importlib.util
        from pathlib import Path

        path = Path(__file__).resolve().parent.parent / "contract.py"
        spec = importlib.util.spec_from_file_location("_dlverify_sandbox_contract", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        ContractError = module.ContractError
    return ContractError


ContractError = _contract_error()

ENTRY = "softmax"


def run(module, params: dict, inputs: dict, device: str) -> dict:
    fn = getattr(module, ENTRY, None)
    if not callable(fn):
        raise ContractError(f"the submission does not define a function {ENTRY}(x)")
    x = inputs["x"].to(device)  # (M, N), contiguous
    y = fn(x)
    # A subclass could defer its work to whoever reads it: only a plain tensor counts.
    if type(y) is not torch.Tensor:
        raise ContractError(f"{ENTRY}(x) must return a torch.Tensor, got {type(y).__module__}.{type(y).__name__}")
    if tuple(y.shape) != tuple(x.shape):
        raise ContractError(f"{ENTRY}(x) returned shape {tuple(y.shape)}, expected {tuple(x.shape)}")
    if y.dtype != x.dtype:
        raise ContractError(f"{ENTRY}(x) returned dtype {y.dtype}, expected {x.dtype} (same as the input)")
    if y.device != x.device:
        raise ContractError(f"{ENTRY}(x) returned a tensor on {y.device}, expected {x.device}")
    if device != "cpu":
        torch.cuda.synchronize()  # the kernel's errors surface here, inside the case
    return {"y": y.detach().cpu()}
