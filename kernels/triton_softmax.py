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
  * N <= MAX_FUSED_BLOCK: a program loads whole rows into registers (BLOCK =
    next_power_of_2(N), padding masked to -inf), does the max, the exponentials
    and the sum there, and writes once. One read, one write. Rows narrower than
    MIN_TILE share a program (ROWS of them), so no thread idles on padding.
  * wider rows: an online softmax (Milakov & Gimelshein, 2018) walks the row in
    LOOP_BLOCK columns keeping a running max and sum per lane, then a second
    walk writes exp(x - max) / sum. The first walk loads with evict_last, and
    the grid is persistent, sized so that the rows in flight fill at most half
    the L2: the second read then comes from L2 and DRAM traffic stays close to
    one read. (One program a row kept 132 SMs x 4 programs x 128 KiB = 66 MiB of
    rows in flight at N = 65536 fp16, more than the H200's 60 MiB of L2.)

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

MAX_FUSED_BLOCK = 16384  # widest row held in registers. At 32768 (H200): 73% of copy against the
                         # loop's 78%; compiled for sm_90 it takes 94 registers a thread at 16
                         # warps: one program an SM, which is either loading or reducing
LOOP_BLOCK = 8192        # columns per step of the online loop for wider rows
WIDE_PER_SM = 2          # online-path programs an sm_90 SM holds at once (100 registers a thread at
                         # 8 warps: benchmarks/kernel_resources.py); 16 KiB of loads in flight each
MIN_TILE = 1024          # short rows share a program: ROWS = MIN_TILE // BLOCK rows a program


@triton.jit
def softmax_kernel(
    y_ptr, x_ptr,              # (M, N) each, columns contiguous
    x_row_stride, y_row_stride,
    n_rows, n_cols,
    BLOCK: tl.constexpr,       # power of two; >= n_cols when ONE_BLOCK
    ROWS: tl.constexpr,        # rows a program holds at once (ONE_BLOCK only, else 1)
    ONE_BLOCK: tl.constexpr,   # the whole row fits in one block
):
    cols = tl.arange(0, BLOCK)                                         # (BLOCK,)
    if ONE_BLOCK:
        # One tile of ROWS whole rows a program. Padding loads as -inf: it never wins the
        # max and its exp is exactly 0. A row past n_rows (the last tile's) is all padding:
        # its max is taken as 0 and its sum as 1, so it computes zeros, never NaN, and is
        # not stored. A real row keeps its own max and sum, so a NaN or +inf in it makes the
        # whole row NaN, as in torch (a clamp of the sum to 1 would hide it: tl.maximum
        # drops NaN, and the row would come out unnormalised).
        rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)  # (ROWS,) int64: M * N may pass 2**31
        mask = (rows < n_rows)[:, None] & (cols < n_cols)[None, :]     # (ROWS, BLOCK)
        # Read once, never again: evict_first keeps L2 for the other rows.
        x = tl.load(x_ptr + rows[:, None] * x_row_stride + cols[None, :], mask=mask,
                    other=-float("inf"), eviction_policy="evict_first").to(tl.float32)  # (ROWS, BLOCK)
        x_max = tl.where(rows < n_rows, tl.max(x, axis=1), 0.0)        # (ROWS,)
        num = tl.exp(x - x_max[:, None])                               # (ROWS, BLOCK) in [0, 1]
        den = tl.where(rows < n_rows, tl.sum(num, axis=1), 1.0)        # (ROWS,)
        y = num * (1.0 / den)[:, None]
        tl.store(y_ptr + rows[:, None] * y_row_stride + cols[None, :], y.to(y_ptr.dtype.element_ty), mask=mask)
    else:
        # Persistent: program p walks rows p, p + P, p + 2P, ... (P programs launched), so
        # only P rows are in flight at once, and the launcher sizes P for those rows to fit
        # in L2 between a row's two walks.
        # int64 rows: M * N may pass 2**31.
        for row in tl.range(tl.program_id(0).to(tl.int64), n_rows, tl.num_programs(0)):
            x_row_ptr = x_ptr + row * x_row_stride
            y_row_ptr = y_ptr + row * y_row_stride
            # Online softmax, one running (max, sum) per lane: lane j sees columns
            # j, j + BLOCK, j + 2 * BLOCK, ... and rescales its sum whenever its max
            # grows. The lanes are merged once at the end, not every step.
            # A lane that has seen only -inf so far (masked scores, or the padding of
            # the last step) shifts by 0 instead of by its max: -inf - -inf is NaN.
            m = tl.full([BLOCK], -float("inf"), tl.float32)            # (BLOCK,)
            s = tl.zeros([BLOCK], tl.float32)                          # (BLOCK,)
            for start in range(0, n_cols, BLOCK):
                c = start + cols
                # evict_last: the second walk below reads this row again, from L2.
                x = tl.load(x_row_ptr + c, mask=c < n_cols, other=-float("inf"),
                            eviction_policy="evict_last").to(tl.float32)
                m_new = tl.maximum(m, x)
                shift = tl.where(m_new == -float("inf"), 0.0, m_new)
                s = s * tl.exp(m - shift) + tl.exp(x - shift)
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


def _num_warps(elements: int) -> int:
    # At most 64 fp32 values a thread (16 or more from 2048 elements up): enough
    # loads in flight to cover DRAM latency, few enough registers not to spill.
    if elements >= 16384:
        return 16
    if elements >= 4096:
        return 8
    return 4


def _wide_programs(x: torch.Tensor) -> int:
    """Programs for the online path: a persistent grid, all of it resident at once (a
    program that waits for a slot would start after the others had finished their share
    of rows), and no more rows in flight than half the L2 holds, so that a row is still
    there for its second walk; but at least one program an SM, or SMs idle (rows that
    wide miss L2 anyway). On the CPU (the interpreter) a few, so the row loop runs."""
    n_rows, n_cols = x.shape
    if not x.is_cuda:
        return min(n_rows, 3)
    props = torch.cuda.get_device_properties(x.device)
    sms = props.multi_processor_count
    fit = props.L2_cache_size // (2 * n_cols * x.element_size())
    return min(n_rows, WIDE_PER_SM * sms, max(sms, fit))


def _launch(x: torch.Tensor, y: torch.Tensor, block: int, rows: int, one_block: bool, programs: int) -> None:
    softmax_kernel[(programs,)](
        y, x, x.stride(0), y.stride(0), x.shape[0], x.shape[1],
        BLOCK=block, ROWS=rows, ONE_BLOCK=one_block, num_warps=_num_warps(rows * block),
    )


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
    if block <= MAX_FUSED_BLOCK:
        rows = max(1, MIN_TILE // block)
        _launch(x, y, block, rows, True, triton.cdiv(n_rows, rows))  # each reads ROWS rows once, writes them once
    else:
        _launch(x, y, LOOP_BLOCK, 1, False, _wide_programs(x))        # each walks its rows twice, writes once
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


def _as_measured_on_the_h200(x: torch.Tensor) -> torch.Tensor:
    """The launch this file made when the H200 figures (2026-12-04) were taken, for the
    benchmark's before/after: one program a row, the whole row in registers up to 32768
    columns, the online path beyond that in 4096-column steps."""
    y = torch.empty_like(x)
    n_rows, n_cols = x.shape
    block = triton.next_power_of_2(n_cols)
    if block <= 32768:
        _launch(x, y, block, 1, True, n_rows)
    else:
        _launch(x, y, 4096, 1, False, n_rows)
    return y


def _online(x: torch.Tensor, block: int, programs: int) -> torch.Tensor:
    """The online path with a chosen step and number of programs, for the sweep. Needs
    N > block (every lane must see a real column in the first step)."""
    assert x.shape[1] > block, "the online path needs rows wider than its block"
    y = torch.empty_like(x)
    _launch(x, y, block, 1, False, min(programs, x.shape[0]))
    return y


TARGET = 0.90  # of the measured copy bandwidth, at every N (issue 19)


def _timer(moved: int):
    from triton.testing import do_bench

    def gbps(fn) -> float:
        return moved / (do_bench(fn) * 1e-3) / 1e9
    return gbps


def benchmark(m: int = 4096, ns=(256, 1024, 4096, 8192, 16384, 32768, 65536), dtype=torch.float16) -> None:
    """GB/s of this kernel, of the launch measured on the H200 before it, of torch.softmax
    and of a plain copy (the ceiling), on a GPU."""
    if not torch.cuda.is_available():
        print("benchmark: no CUDA device, skipped (interpreter timings mean nothing)")
        return
    print(f"{'N':>7} {'triton GB/s':>12} {'before GB/s':>12} {'torch GB/s':>11} {'copy GB/s':>10} {'of copy':>8}"
          f"   ({m} rows, {dtype}; target: {TARGET:.0%} of copy and faster than torch)")
    for n in ns:
        x = torch.randn(m, n, device="cuda", dtype=dtype)
        y = torch.empty_like(x)
        gbps = _timer(2 * x.numel() * x.element_size())  # read x once, write y once
        ours, before = gbps(lambda: softmax(x)), gbps(lambda: _as_measured_on_the_h200(x))
        theirs, copy = gbps(lambda: torch.softmax(x, dim=-1)), gbps(lambda: y.copy_(x))
        met = "meets" if ours >= TARGET * copy and ours > theirs else "MISSES"
        print(f"{n:>7} {ours:>12.0f} {before:>12.0f} {theirs:>11.0f} {copy:>10.0f} {ours / copy:>8.0%}   {met} the target")


def sweep_wide(m: int = 4096, ns=(32768, 65536), dtype=torch.float16) -> None:
    """The online path's two knobs on a GPU, GB/s: the step (columns a load) against the
    programs launched (one an SM and multiples, the L2 rule of _wide_programs, one a row).
    What softmax() picks is marked *."""
    if not torch.cuda.is_available():
        print("sweep: no CUDA device, skipped")
        return
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    for n in ns:
        x = torch.randn(m, n, device="cuda", dtype=dtype)
        gbps = _timer(2 * x.numel() * x.element_size())
        fit = _wide_programs(x)
        programs = {"1/SM": sms, "2/SM": 2 * sms, "4/SM": 4 * sms, f"L2 ({fit})": fit, "1/row": m}
        print(f"online path, {m} x {n} {dtype}: GB/s by step (rows) and programs (columns)")
        print(f"{'step':>7} " + " ".join(f"{k:>11}" for k in programs))
        for block in (4096, 8192, 16384):
            if block >= n:
                continue
            cells = []
            for p in programs.values():
                mark = "*" if block == LOOP_BLOCK and p == fit else " "
                cells.append(f"{gbps(lambda: _online(x, block, p)):>10.0f}{mark}")
            print(f"{block:>7} " + " ".join(cells))


if __name__ == "__main__":
    check()  # under the interpreter (no GPU) this takes a few seconds: one program at a time
    if torch.cuda.is_available():  # the interpreter only emulates bfloat16: check it on a GPU
        check(dtypes=(torch.bfloat16,))
    # The target shapes (8192 x 8192 and 4096 x 32768, fp16 and bf16), then a sweep of row widths.
    for dtype in (torch.float16, torch.bfloat16):
        benchmark(m=8192, ns=(8192,), dtype=dtype)
        benchmark(m=4096, dtype=dtype)
    sweep_wide()
