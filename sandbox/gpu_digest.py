"""GPU timing's commitments: a digest of every timed call's outputs, computed where they are.

Part of the harness (gpu_timing.py): the worker digests each timed call's
outputs before the runner draws which calls come back, and the host digests
what came back to compare. A tensor's part is the sum of its raw bits read as
integers, so any change to any element changes it unless another change
cancels it exactly. Only ops every exercise allows are used: views, copies
and, where the rules block torch's sum, a Triton kernel (or, where Triton is
missing or fails, a copy to the host and numpy). Nothing is imported at
module level but the standard library: the host loads this file by path too.
"""

from __future__ import annotations

DIGEST_BLOCK = 4096

tl = None  # triton.language, bound on first use (the kernel below is compiled lazily)


def _digest_kernel(words_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # one int64 partial sum per block of words: read n words once, write n / BLOCK sums
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    words = tl.load(words_ptr + offs, mask=offs < n, other=0).to(tl.int64)
    tl.store(out_ptr + pid, tl.sum(words, axis=0))


_kernel = None


def _triton_partials(words):
    """Partial sums by a Triton kernel: for workers whose rules block torch's sum (triton_softmax)."""
    global tl, _kernel
    import torch

    if _kernel is None:
        import triton
        import triton.language as language

        tl = language
        _kernel = triton.jit(_digest_kernel)
    blocks = -(-words.numel() // DIGEST_BLOCK)
    out = torch.empty(max(blocks, 1), dtype=torch.int64, device=words.device)
    if blocks:
        _kernel[(blocks,)](words, out, words.numel(), BLOCK=DIGEST_BLOCK)
    else:
        out.zero_()
    return out


def needs_triton_digest(forbidden_ops) -> bool:
    """Whether an exercise's rules block torch's sum (triton_softmax, cuda_matmul): then a Triton kernel sums."""
    return "sum" in set(forbidden_ops or ())


def digest_parts(outputs: dict, *, use_triton: bool = False) -> list:
    """Start a digest of every output: device tensors are summed on the device, without a sync.

    A tensor's part is the sum of its raw bits read as integers (2-byte
    elements as int16, 1-byte as uint8, wider ones as int32 words), so any
    change to any element changes it unless another change cancels it
    exactly. Only ops every exercise allows are used: views, copies and, where
    the rules block torch's sum, a Triton kernel (or, where Triton is missing or fails, a copy
    to the host and numpy).
    """
    parts = []
    for key in sorted(outputs, key=str):
        value = outputs[key]
        if hasattr(value, "detach") and hasattr(value, "element_size"):  # a torch tensor
            import torch

            flat = value.detach().contiguous().reshape(-1)
            if flat.dtype == torch.bool:
                flat = flat.to(torch.uint8)
            words = flat.view({1: torch.uint8, 2: torch.int16}.get(flat.element_size(), torch.int32))
            total = _numpy_sum(words.numpy()) if words.device.type == "cpu" else _device_total(words, use_triton)
            parts.append([str(key), str(flat.dtype).replace("torch.", ""), flat.numel(), total])
        elif hasattr(value, "dtype") and hasattr(value, "tobytes"):  # a numpy array
            import numpy as np

            flat = np.ascontiguousarray(value).reshape(-1)
            size = flat.dtype.itemsize
            words = flat.view({1: np.uint8, 2: np.int16}.get(size, np.int32)) if size <= 2 or size % 4 == 0 \
                else flat.view(np.uint8)
            parts.append([str(key), str(flat.dtype), int(flat.size), _numpy_sum(words)])
        else:  # a number or a string: small, kept as its repr
            parts.append([str(key), type(value).__name__, 1, repr(value)[:64]])
    return parts


def _device_total(words, use_triton: bool):
    """The sum of a device tensor's words, left on the device (no sync): torch's sum, or Triton's."""
    import torch

    if not use_triton:
        return words.sum(dtype=torch.int64).reshape(1)
    try:
        return _triton_partials(words)
    except Exception:  # noqa: BLE001
        # No Triton, or its compiler failing in this sandbox: the grader's problem, never the
        # candidate's. The same sum through the host is slower (the host's floor may show it) but
        # gives the same digest, where an exception here would fail the candidate's timed case.
        return _numpy_sum(words.cpu().numpy())


def _numpy_sum(words) -> int:
    import numpy as np

    # np.sum with an int64 accumulator casts in small buffered chunks: words.astype(np.int64)
    # would first allocate 8 bytes per element (1 GiB for a 4096 x 32768 bf16 output), in the
    # worker on every timed call of a driver whose outputs come back on the host.
    return int(np.sum(words, dtype=np.int64))


def finish_digest(parts: list) -> list:
    """[key, dtype, count, sum] per output, JSON-able (reads device sums back: call after a sync)."""
    done = []
    for key, dtype, count, total in parts:
        if hasattr(total, "cpu"):  # device partial sums: copy back, add up in numpy (no torch op)
            total = _numpy_sum(total.cpu().numpy())
        done.append([key, dtype, count, total])
    return done


def digest(outputs: dict, *, use_triton: bool = False) -> list:
    return finish_digest(digest_parts(outputs, use_triton=use_triton))
