"""Child-side driver of the cuda_matmul exercise: how one case calls the submission.

Runs next to candidate code, so it only moves, calls and validates; the host
re-checks every type, shape and dtype of what comes back. Under the exercise's
rules torch may not multiply or add up here either: moves and copies only.

A and B reach the kernel as contiguous views into larger device buffers whose
other elements are NaN: a kernel that reads past either end of A or B (a missing
bounds check on an odd shape) then gets NaN into its result and fails for sure,
instead of reading whatever the allocator left there, which is often zero.
"""

import torch

from contract import ContractError

NAN_ROWS = 256  # NaN before and after each operand: a tile of up to 256 rows or columns past its end


def _padded(t: torch.Tensor, device: str) -> torch.Tensor:
    # (rows, cols) -> the same values on `device`, at an offset inside a NaN-filled buffer
    n = t.numel()
    pad = (NAN_ROWS * max(t.shape) + 63) // 64 * 64  # a multiple of 64 floats keeps 256-byte alignment
    buf = torch.full((pad + n + pad,), float("nan"), dtype=t.dtype, device=device)
    view = buf[pad:pad + n].view(t.shape)
    view.copy_(t)
    return view


def _operands(module, params: dict, inputs: dict, device: str):
    if device != "cuda":
        raise ContractError("cuda_matmul runs on a CUDA device only")
    matmul = getattr(module, "matmul", None)
    if not callable(matmul):
        raise ContractError("the submission defines no function `matmul(a, b)`")
    a = _padded(inputs["a"], device)  # (M, K) float32, contiguous
    b = _padded(inputs["b"], device)  # (K, N) float32, contiguous
    return matmul, a, b


def _checked(c, params: dict):
    M, N = params["M"], params["N"]
    # exact type: a Tensor subclass could defer work or lie about its values
    if type(c) is not torch.Tensor:
        raise ContractError(f"matmul must return a torch.Tensor, got {type(c).__module__}.{type(c).__name__}")
    if c.device.type != "cuda":
        raise ContractError(f"matmul returned a tensor on {c.device}; C must be computed on the CUDA device")
    if tuple(c.shape) != (M, N) or c.dtype != torch.float32:
        raise ContractError(f"matmul returned {str(c.dtype).replace('torch.', '')} {tuple(c.shape)}, "
                            f"expected float32 ({M}, {N})")
    return c


def run(module, params, inputs, device):
    matmul, a, b = _operands(module, params, inputs, device)
    c = _checked(matmul(a, b), params)
    torch.cuda.synchronize()  # a kernel fault (illegal address) surfaces here, in this case
    return {"c": c.detach().cpu()}


def bench_call(module, params, inputs, device):
    """The timed part is the candidate's call alone; padding before and the checks after are not."""
    matmul, a, b = _operands(module, params, inputs, device)
    return (lambda: matmul(a, b)), (lambda c: {"c": _checked(c, params).detach()})


def bench_inputs(params: dict, seed: int, device: str) -> dict:
    """A timed call's A (M, K) and B (K, N), float32 standard normal, made on `device` from `seed`
    (the worker's and the host's copies are the same bits: same code, same generator)."""
    gen = torch.Generator(device=device).manual_seed(int(seed))
    a = torch.normal(0.0, 1.0, (int(params["M"]), int(params["K"])), generator=gen, device=device)  # (M, K)
    b = torch.normal(0.0, 1.0, (int(params["K"]), int(params["N"])), generator=gen, device=device)  # (K, N)
    return {"a": a, "b": b}
