"""The work of one bench call, per exercise: bytes an ideal implementation moves, and FLOPs.

These are the numerators of GB/s and TFLOP/s, so they count what the task
needs, never what a given implementation happens to do: a softmax that
reads its input three times still gets credit for one read and one write.
`bound` says which speed of light the figure is held against: the copy
bandwidth ("memory") or the matmul peak of `dtype` ("compute").
Conventions (stated once, here, and in docs/THROUGHPUT.md):

- a multiply-add is 2 FLOPs; exp, max and division count 1 each;
- attention follows FlashAttention's accounting: forward = 2 matmuls over the
  allowed (query, key) pairs, backward = 2.5x forward (5 matmuls, the
  scores recomputed), whether or not an implementation recomputes them;
- bytes are element size x elements read once and written once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ITEMSIZE = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class Work:
    bytes: float          # moved by an ideal implementation, per call
    flops: float          # per call
    bound: str            # "memory" | "compute": the speed of light it is scored against
    dtype: str            # the dtype whose peak applies (compute-bound work)
    shape: str            # the case's shape, for reports
    steps: int = 0        # optimizer steps per call (training loops), for steps/s

    @property
    def intensity(self) -> float:
        """FLOPs per byte: where the work sits on the roofline."""
        return self.flops / self.bytes if self.bytes else math.inf


def workload(exercise_id: str, params: dict) -> Work:
    try:
        fn = _WORK[exercise_id]
    except KeyError:
        raise KeyError(f"no workload model for exercise {exercise_id!r}") from None
    return fn(params)


def _softmax(p: dict) -> Work:
    m, n, dtype = int(p["M"]), int(p["N"]), p["dtype"]
    # read x once, write y once: 2 * M * N elements; per element max, subtract, exp, sum, divide
    return Work(bytes=2.0 * m * n * ITEMSIZE[dtype], flops=5.0 * m * n, bound="memory", dtype=dtype,
                shape=f"{m}x{n} {dtype}")


def causal_pairs(lq: int, lk: int) -> int:
    """(query, key) pairs a causal mask allows: key j <= query i, top-left aligned as the grader does."""
    return sum(min(i + 1, lk) for i in range(lq))


def _attention(p: dict) -> Work:
    dtype = p["dtype"]
    if p.get("entry", "attention") == "mhsa":
        return _mhsa(p)
    b, h, lq, lk, d = int(p["B"]), int(p["H"]), int(p["Lq"]), int(p["Lk"]), int(p["D"])
    dv = int(p.get("Dv", d))
    pairs = causal_pairs(lq, lk) if p.get("causal") else lq * lk
    forward = 2.0 * b * h * pairs * (d + dv)            # S = Q K^T, then O = P V
    backward = p.get("backward", False)
    flops = forward * (3.5 if backward else 1.0)        # + 2.5x forward for dQ, dK, dV
    size = ITEMSIZE[dtype]
    qkvo = b * h * (lq * d + lk * d + lk * dv + lq * dv)  # read q, k, v; write out
    moved = qkvo + (b * h * (lq * d + lk * d + lk * dv + 2 * lq * dv + lq * d + lk * d + lk * dv) if backward else 0)
    kind = "fwd+bwd" if backward else "fwd"
    return Work(bytes=float(moved * size), flops=flops, bound="compute", dtype=dtype,
                shape=f"({b}, {h}, {lq}, {lk}, {d}) {dtype} {'causal ' if p.get('causal') else ''}{kind}")


def _mhsa(p: dict) -> Work:
    b, t, e, h, dtype = int(p["B"]), int(p["T"]), int(p["E"]), int(p["H"]), p["dtype"]
    pairs = causal_pairs(t, t) if p.get("causal") else t * t
    forward = 2.0 * b * t * e * 3 * e + 2.0 * b * t * e * e + 2.0 * b * h * pairs * 2 * (e // h)
    flops = forward * (3.0 if p.get("backward") else 1.0)
    moved = (2 * b * t * e + 4 * e * e) * ITEMSIZE[dtype]
    return Work(bytes=float(moved), flops=flops, bound="compute", dtype=dtype, shape=f"({b}, {t}, {e}) H={h} {dtype}")


def _training_step_flops(batch: int, d: int, hidden: int, classes: int) -> float:
    # forward: x W1^T (B, d)@(d, hidden), a W2^T (B, hidden)@(hidden, classes): 2B(dh + hc)
    # backward: dW2 and dA for the second layer (2 x 2Bhc), dW1 for the first (2Bdh; x needs no gradient)
    return 2.0 * batch * (d * hidden + hidden * classes) + 2.0 * batch * (2 * hidden * classes + d * hidden)


def _mixed_precision(p: dict) -> Work:
    d, hidden, classes = int(p["d"]), int(p["hidden"]), int(p["classes"])
    n, batch, dtype = int(p["n_batches"]), int(p["batch"]), p["dtype"]
    accum = int(p.get("accum_steps", 1))
    steps = -(-n // accum)
    n_params = hidden * d + hidden + classes * hidden + classes
    # the batches read once (float32), and per optimizer step the float32 weights, their
    # gradients and the optimizer state read and written once: a floor, not what autocast copies
    moved = 4.0 * n * batch * (d + 2) + steps * 4.0 * n_params * 6
    return Work(bytes=moved, flops=n * _training_step_flops(batch, d, hidden, classes), bound="compute",
                dtype=dtype, shape=f"MLP {d}-{hidden}-{classes}, {n}x{batch} rows, {dtype}", steps=steps)


def _optimizer(p: dict) -> Work:
    dtype, steps = p["dtype"], int(p["steps"])
    numel = sum(math.prod(int(s) for s in shape) for shape in p["shapes"].values())
    # per step and element: read p, grad, m, v and write p, m, v (7 accesses); about 14 FLOPs
    # (decay 2, two moments 5, sqrt, bias-corrected divide and add 4, the update 2) and 3 more
    # (square, sum, scale) when clipping
    per_element = 14.0 + (3.0 if p.get("max_norm") is not None else 0.0)
    return Work(bytes=7.0 * steps * numel * ITEMSIZE[dtype], flops=per_element * steps * numel, bound="memory",
                dtype=dtype, shape=f"{numel} parameters x {steps} steps {dtype}", steps=steps)


def _matmul(p: dict) -> Work:
    m, n, k = int(p["M"]), int(p["N"]), int(p["K"])
    # A and B read once, C written once; float32 throughout
    return Work(bytes=4.0 * (m * k + k * n + m * n), flops=2.0 * m * n * k, bound="compute", dtype="float32",
                shape=f"{m}x{n}x{k} float32")


# Flops per byte below which a matmul is held against the copy bandwidth rather than the
# tensor cores: every GPU in sol.DATASHEETS needs 150 or more (A100: 312 TFLOP/s over 2 TB/s)
# to be compute-bound in fp16, so below 100 none is. Square benches are >1000; M = 16 is ~16.
MATMUL_RIDGE = 100.0


def _triton_matmul(p: dict) -> Work:
    m, n, k, dtype = int(p["M"]), int(p["N"]), int(p["K"]), p["dtype"]
    # a and b read once, c written once (and the bias read once); the bias and the activation
    # add a few flops per element of c, left out beside 2 K
    moved = ITEMSIZE[dtype] * (m * k + k * n + m * n + (n if p.get("bias") else 0))
    flops = 2.0 * m * n * k
    epilogue = " + bias" * bool(p.get("bias")) + (f" {p['activation']}" if p.get("activation") else "")
    return Work(bytes=float(moved), flops=flops, bound="compute" if flops / moved >= MATMUL_RIDGE else "memory",
                dtype=dtype, shape=f"{m}x{n}x{k} {dtype}{epilogue}")


def _backprop_mlp(p: dict) -> Work:
    widths, n = [int(w) for w in p["widths"]], int(p["N"])
    layers = list(zip(widths[:-1], widths[1:]))
    forward = sum(2.0 * n * a * b for a, b in layers)
    # backward: dW for every layer, dA for every layer but the first (x needs no gradient)
    backward = sum(2.0 * n * a * b for a, b in layers) + sum(2.0 * n * a * b for a, b in layers[1:])
    moved = 8.0 * (n * widths[0] + n + 2 * sum(a * b + b for a, b in layers))
    return Work(bytes=moved, flops=forward + backward, bound="compute", dtype="float64",
                shape=f"widths {widths}, N={n} float64")


def _conv2d(p: dict) -> Work:
    if p["op"] != "conv":
        raise KeyError(f"no workload model for conv2d_backprop op {p['op']!r}")
    n, c, h, w, f = (int(p[k]) for k in ("N", "C", "H", "W", "F"))
    kh, kw, groups, dtype = int(p["KH"]), int(p["KW"]), int(p.get("groups", 1)), p["dtype"]
    (sh, sw), (ph, pw), (dh, dw) = (tuple(int(v) for v in p[k]) for k in ("stride", "padding", "dilation"))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    # forward: a multiply-add per (output element, input channel of its group, kernel tap);
    # backward: the same count again for dx and for dw (db is a sum, left out)
    forward = 2.0 * n * f * oh * ow * (c // groups) * kh * kw
    # read x, w, b and dy once; write y, dx, dw and db once
    elements = 2 * n * c * h * w + 2 * f * (c // groups) * kh * kw + 2 * f + 2 * n * f * oh * ow
    return Work(bytes=float(elements * ITEMSIZE[dtype]), flops=3.0 * forward, bound="compute", dtype=dtype,
                shape=f"x ({n}, {c}, {h}, {w}) w ({f}, {c // groups}, {kh}, {kw}) {dtype} fwd+bwd")


def _gnn(p: dict) -> Work:
    n, f_in, f_out, dtype = int(p["N"]), int(p["F_in"]), int(p["F_out"]), p["dtype"]
    edges = int(p.get("E", 0)) * (2 if p.get("undirected") else 1) + n   # and about one self-loop per node
    # per layer, forward: the dense maps (GCN one, MeanConv two) and a multiply-add per edge and
    # feature; backward about twice that. Bytes: x, the edges (two int64 each), out and dx.
    dense = 2.0 * n * f_in * f_out
    flops = 3.0 * ((dense + 2.0 * edges * f_out) + (2 * dense + 2.0 * edges * f_in))
    moved = 2 * (ITEMSIZE[dtype] * n * (2 * f_in + 2 * f_out) + 16 * edges)
    return Work(bytes=float(moved), flops=flops, bound="memory", dtype=dtype,
                shape=f"{n} nodes, {edges} edges, {f_in}->{f_out} {dtype}, GCNConv + MeanConv fwd+bwd")


def _lstm(p: dict) -> Work:
    (T, B, D, H, L), dtype = (int(p[k]) for k in ("T", "B", "D", "H", "L")), p["dtype"]
    # forward: per layer and step the two projections, 2 * B * 4H * (D_k + H); backward about twice
    forward = sum(2.0 * T * B * 4 * H * ((D if k == 0 else H) + H) for k in range(L))
    weights = sum(4 * H * ((D if k == 0 else H) + H + 2) for k in range(L))
    # x and the output read and written, the weights read each step (cached: counted once), the gradients
    moved = ITEMSIZE[dtype] * (2 * T * B * (D + H) + 2 * weights)
    return Work(bytes=float(moved), flops=3.0 * forward, bound="compute", dtype=dtype,
                shape=f"T={T} B={B} {D}->{H} x{L} layers {dtype} fwd+bwd")


def _diffusion(p: dict) -> Work:
    if p["op"] == "schedule":
        raise KeyError("no workload model for a diffusion schedule")
    n = int(p["B"]) * int(p["C"]) * int(p["H"]) * int(p["W"])
    dtype = p["dtype"]
    # x_t and noise read, x_prev written; the model's tanh and a dozen multiply-adds per element
    return Work(bytes=3.0 * n * ITEMSIZE[dtype], flops=16.0 * n, bound="memory", dtype=dtype,
                shape=f"{p['op']} on ({p['B']}, {p['C']}, {p['H']}, {p['W']}) {dtype}")


def _layernorm(p: dict) -> Work:
    n, dtype = math.prod(int(s) for s in p["shape"]), p["dtype"]
    # forward reads x, writes y; backward reads dy (and the cache), writes dx: about 4n accesses;
    # about 8 flops per element forward and 12 backward
    return Work(bytes=4.0 * n * ITEMSIZE[dtype], flops=20.0 * n, bound="memory", dtype=dtype,
                shape=f"{tuple(p['shape'])} over the last {p['k']} dims {dtype} fwd+bwd")


def _quantize(p: dict) -> Work:
    if p["op"] != "linear":
        raise KeyError(f"no workload model for quantize op {p['op']!r}")
    m, k, n, c = int(p["M"]), int(p["K"]), int(p["N"]), int(p["C"])
    # read w, the calibration rows and x (float64) once; write qw, qx, y (int8), acc (int32) and
    # the weight scales (float64). The work is the int8 product's multiply-adds (integer ops,
    # counted as FLOPs are); no int8 peak is known here, so no speed-of-light fraction.
    moved = 8 * (n * k + c * k + m * k) + (n * k + m * k + m * n) + 4 * m * n + 8 * n
    return Work(bytes=float(moved), flops=2.0 * m * n * k, bound="compute", dtype="int8",
                shape=f"int8 linear x ({m}, {k}) w ({n}, {k}), {c} calibration rows")


def _ring(p: dict) -> Work:
    if p["op"] != "ring":
        raise KeyError("no workload model for bucketed all-reduce")
    n, numel, dtype = int(p["N"]), int(p["numel"]), p["dtype"]
    # every rank sends and receives 2 (N - 1) chunks of numel / N and adds N - 1 of them
    moved = n * 2 * 2 * (n - 1) * math.ceil(numel / n) * ITEMSIZE[dtype]
    return Work(bytes=float(moved), flops=float(n * (n - 1) * math.ceil(numel / n)), bound="memory", dtype=dtype,
                shape=f"{n} ranks x {numel} {dtype}")


def _drift(p: dict) -> Work:
    if p["op"] == "alerts":
        raise KeyError("no workload model for the alert rule")
    values = int(p["n"]) + sum(int(b) for b in p["batches"])
    # each value read once per batch it is compared in, sorted (KS) or binned (PSI): ~log n steps
    return Work(bytes=8.0 * values, flops=float(values * max(1, math.ceil(math.log2(max(values, 2))))),
                bound="compute", dtype="float64", shape=f"{p['op']}: {p['n']} reference values, batches {p['batches']}")


_WORK = {
    "triton_softmax": _softmax,
    "attention": _attention,
    "flash_attention": _attention,   # the same params (B, H, Lq, Lk, D, causal, backward) and accounting
    "mixed_precision": _mixed_precision,
    "optimizer": _optimizer,
    "cuda_matmul": _matmul,
    "triton_matmul": _triton_matmul,
    "backprop_mlp": _backprop_mlp,
    "conv2d_backprop": _conv2d,
    "gnn": _gnn,
    "lstm": _lstm,
    "diffusion": _diffusion,
    "layernorm_backward": _layernorm,
    "quantize": _quantize,
    "ring_allreduce": _ring,
    "drift_monitor": _drift,
}
