"""Row-wise softmax in Triton: the reference kernel of the triton_softmax exercise.

Why a kernel at all: softmax is memory-bound. Per element it does a handful of
flops (a max, a subtract, an exp, an add, a multiply) against 2 bytes (fp16,
bf16) or 4 (fp32) read and as many written: about one flop and a quarter of an
exp per byte, where an H100 SXM has some 20 fp32 flops and one exp per byte of
HBM bandwidth. So the speed of light is a copy: read x once, write y once,

    bytes moved = 2 * M * N * x.element_size()

and the figure of merit is GB/s against `y.copy_(x)`. Composing torch ops
(max, subtract, exp, sum, divide) reads and writes the tensor several times;
torch.softmax is itself one fused kernel, the baseline to match.

Two paths, chosen per call from N:
  * N <= MAX_FUSED_BLOCK: one program per row loads the whole row into
    registers (BLOCK = next_power_of_2(N), padding masked to -inf), does the
    max, the exponentials and the sum there, and writes once. One read, one write.
  * wider rows: an online softmax (Milakov & Gimelshein, 2018) walks the row in
    LOOP_BLOCK columns keeping a running max and sum per lane, then a second
    walk writes exp(x - max) / sum. The first walk loads with evict_last so
    that, while the rows in flight fit in L2 (50 MB on an H100), the second
    read comes from L2 and DRAM traffic stays close to one read.

Both compute in float32 whatever the input dtype, subtract the row max before
exp (so 1e4 does not overflow), and cast once on the store.

    python kernels/triton_softmax.py            # check on odd shapes; GB/s table on a GPU
(without a GPU the check runs under the Triton interpreter, which this file
switches on before triton is imported.)

graders/triton_softmax/reference.py carries the same kernel and launcher (the
sandbox cannot read this folder); tests/test_pack_triton_softmax.py checks the
two copies stay identical.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():  # must happen before @triton.jit runs
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

# --- kernel and launcher: kept identical to graders/triton_softmax/reference.py ---

MAX_FUSED_BLOCK = 32768  # widest row held in registers: 64 fp32 per thread at 16 warps
LOOP_BLOCK = 4096        # columns per step of the online loop for wider rows


@triton.jit
def softmax_kernel(
    y_ptr, x_ptr,              # (M, N) each, rows contiguous
    x_row_stride, y_row_stride,
    n_cols,
    BLOCK: tl.constexpr,       # power of two; >= n_cols when ONE_BLOCK
    ONE_BLOCK: tl.constexpr,   # the whole row fits in one block
):
    row = tl.program_id(0).to(tl.int64)  # int64: M * N may pass 2**31 elements
    x_row_ptr = x_ptr + row * x_row_stride
    y_row_ptr = y_ptr + row * y_row_stride
    cols = tl.arange(0, BLOCK)

    if ONE_BLOCK:
        mask = cols < n_cols
        # Padding is -inf: it never wins the max and its exp is exactly 0.
        # Read once, never again: evict_first keeps L2 for the other rows.
        x = tl.load(x_row_ptr + cols, mask=mask, other=-float("inf"),
                    eviction_policy="evict_first").to(tl.float32)  # (BLOCK,)
        x_max = tl.max(x, axis=0)                                  # scalar
        num = tl.exp(x - x_max)                                    # (BLOCK,) in (0, 1]
        den = tl.sum(num, axis=0)                                  # scalar >= 1
        y = num * (1.0 / den)
        tl.store(y_row_ptr + cols, y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        # Online softmax, one running (max, sum) per lane: lane j sees columns
        # j, j + BLOCK, j + 2 * BLOCK, ... and rescales its sum whenever its max
        # grows. The lanes are merged once at the end, not every step.
        # n_cols > BLOCK here, so every lane reads a real column in the first
        # step and its max is finite from then on (no -inf - -inf = NaN).
        m = tl.full([BLOCK], -float("inf"), tl.float32)                # (BLOCK,)
        s = tl.zeros([BLOCK], tl.float32)                              # (BLOCK,)
        for start in range(0, n_cols, BLOCK):
            c = start + cols
            # evict_last: the second walk below reads this row again.
            x = tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf"),
                        eviction_policy="evict_last").to(tl.float32)
            m_new = tl.maximum(m, x)
            s = s * tl.exp(m - m_new) + tl.exp(x - m_new)
            m = m_new
        x_max = tl.max(m, axis=0)
        den = tl.sum(s * tl.exp(m - x_max), axis=0)
        inv_den = 1.0 / den
        for start in range(0, n_cols, BLOCK):
            c = start + cols
            mask = c < n_cols
            x = tl.load(x_row_ptr + c, mask=mask, other=-float("inf"),
                        eviction_policy="evict_first").to(tl.float32)
            y = tl.exp(x - x_max) * inv_den
            tl.store(y_row_ptr + c, y.to(y_ptr.dtype.element_ty), mask=mask)


def _num_warps(block: int) -> int:
    # At most 64 fp32 values per thread (16 or more from 2048 columns up):
    # enough loads in flight to cover DRAM latency, few enough registers not to spill.
    if block >= 16384:
        return 16
    if block >= 4096:
        return 8
    return 4


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim of a 2-D tensor (M, N); float32/16/bf16 in, same dtype out."""
    if x.ndim != 2:
        raise ValueError(f"softmax expects a 2-D tensor, got shape {tuple(x.shape)}")
    if x.shape[1] > 1 and x.stride(1) != 1:
        raise ValueError("softmax expects rows with contiguous columns")
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)  # allocation only; every element is written by the kernel
    if n_rows == 0 or n_cols == 0:
        return y
    block = triton.next_power_of_2(n_cols)
    one_block = block <= MAX_FUSED_BLOCK
    if not one_block:
        block = LOOP_BLOCK
    # One program per row: M programs, each reads N and writes N elements.
    softmax_kernel[(n_rows,)](
        y, x, x.stride(0), y.stride(0), n_cols,
        BLOCK=block, ONE_BLOCK=one_block, num_warps=_num_warps(block),
    )
    return y


# --- end of the part shared with reference.py ---

# (atol, rtol) per dtype, as in graders/triton_softmax/cases.toml: mostly relative,
# because in a wide row every probability is tiny and must still be right.
TOLERANCE = {torch.float32: (1e-8, 1e-5), torch.float16: (1e-5, 1e-3), torch.bfloat16: (1e-5, 1e-2)}


def check(
    shapes=((1823, 781), (1, 1), (5, 1000), (3, MAX_FUSED_BLOCK + 1000)),
    dtypes=(torch.float32, torch.float16),
    device: str | None = None,
) -> None:
    """Compare with torch.softmax in float64 on odd shapes, both paths, offset inputs."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    gen = torch.Generator().manual_seed(0)
    for dtype in dtypes:
        for m, n in shapes:
            # An offset of 1e4 (1e2 in half precision) overflows exp without the max shift.
            offset = 1e4 if dtype == torch.float32 else 1e2
            x = (torch.randn(m, n, generator=gen, dtype=torch.float64) * 4 + offset).to(dtype)
            y = softmax(x.to(device)).cpu()
            want = torch.softmax(x.double(), dim=-1).to(dtype).double()  # rounded once, as the grader does
            atol, rtol = TOLERANCE[dtype]
            diff = (y.double() - want).abs()
            ok = y.dtype == dtype and bool((diff <= atol + rtol * want.abs()).all())
            err = diff.max().item()
            print(f"check {str(dtype):14} {m:5} x {n:<6} max abs error {err:.2e}  {'ok' if ok else 'FAIL'}")
            if not ok:
                raise AssertionError(f"softmax {dtype} {m}x{n}: max abs error {err:.3g} (atol {atol}, rtol {rtol})")


def _looped(x: torch.Tensor) -> torch.Tensor:
    """The online path at a width the fused path would take, for the benchmark: where a
    whole row leaves no room for a second row per SM in the register file (32768 fp32
    values are half of it), the looped path keeps more rows in flight; which wins is
    measured. Only for N > LOOP_BLOCK (every lane must see a real column)."""
    assert x.shape[1] > LOOP_BLOCK, "the online path needs rows wider than LOOP_BLOCK"
    y = torch.empty_like(x)
    softmax_kernel[(x.shape[0],)](y, x, x.stride(0), y.stride(0), x.shape[1],
                                  BLOCK=LOOP_BLOCK, ONE_BLOCK=False, num_warps=_num_warps(LOOP_BLOCK))
    return y


TARGET = 0.85  # of the measured copy bandwidth, at the exercise's bench shapes


def benchmark(m: int = 4096, ns=(1024, 4096, 8192, 16384, 32768, 65536), dtype=torch.float16) -> None:
    """GB/s of this kernel (and of its looped path alone), torch.softmax and a plain copy
    (the ceiling), on a GPU."""
    if not torch.cuda.is_available():
        print("benchmark: no CUDA device, skipped (interpreter timings mean nothing)")
        return
    from triton.testing import do_bench

    print(f"{'N':>7} {'triton GB/s':>12} {'looped GB/s':>12} {'torch GB/s':>11} {'copy GB/s':>10} {'of copy':>8}"
          f"   ({m} rows, {dtype}; target: {TARGET:.0%} of copy and faster than torch)")
    for n in ns:
        x = torch.randn(m, n, device="cuda", dtype=dtype)
        y = torch.empty_like(x)
        moved = 2 * x.numel() * x.element_size()  # read x once, write y once

        def gbps(ms: float) -> float:
            return moved / (ms * 1e-3) / 1e9

        ours = gbps(do_bench(lambda: softmax(x)))
        looped = f"{gbps(do_bench(lambda: _looped(x))):>12.0f}" if n > LOOP_BLOCK else f"{'-':>12}"
        theirs = gbps(do_bench(lambda: torch.softmax(x, dim=-1)))
        copy = gbps(do_bench(lambda: y.copy_(x)))
        met = "meets" if ours >= TARGET * copy and ours > theirs else "MISSES"
        print(f"{n:>7} {ours:>12.0f} {looped} {theirs:>11.0f} {copy:>10.0f} {ours / copy:>8.0%}   {met} the target")


if __name__ == "__main__":
    check()  # under the interpreter (no GPU) this takes a few seconds: one program at a time
    if torch.cuda.is_available():  # the interpreter only emulates bfloat16: check it on a GPU
        check(dtypes=(torch.bfloat16,))
    # The target shapes (8192 x 8192 and 4096 x 32768, fp16 and bf16), then a sweep of row widths.
    for dtype in (torch.float16, torch.bfloat16):
        benchmark(m=8192, ns=(8192,), dtype=dtype)
        benchmark(m=4096, dtype=dtype)
