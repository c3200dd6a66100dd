"""Host side of ring_allreduce: inputs, the trusted answer, and the checks of result and traffic.

The answer is the sum (average, for the buckets) in float64, rounded once to the dtype. The
traffic rules are the README's: a ring sends only to the next rank; each rank sends each of
its 2 (N - 1) chunks as one message; and no rank sends more bytes than the bandwidth-optimal
2 (N - 1) chunks of ceil(numel / N) elements.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

TRAFFIC = ("bytes_sent", "messages", "off_ring_sends", "message_elements")


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    g = torch.Generator().manual_seed(seed)
    n = int(p["N"])
    if p["op"] == "ring":
        numel = int(p["numel"])
        if p["dtype"] == "int64":
            high = int(p.get("high", 1000))           # 2**61: past float64's exact integers, N of them still fit
            return {"x": torch.randint(-high, high, (n, numel), generator=g)}
        return {"x": torch.randn(n, numel, generator=g, dtype=torch.float64)}
    return {f"g{i}": torch.randn(n, *shape, generator=g, dtype=torch.float64) for i, shape in enumerate(p["shapes"])}


def buckets(shapes: list, itemsize: int, cap: int) -> list[list[int]]:
    """DDP's order: from the last gradient to the first, a new bucket when the next would pass the cap."""
    out: list[list[int]] = []
    size = 0
    for i in reversed(range(len(shapes))):
        nbytes = math.prod(shapes[i]) * itemsize
        if out and size + nbytes <= cap:
            out[-1].append(i)
            size += nbytes
        else:
            out.append([i])
            size = nbytes
    return out


def reduced_sizes(p: dict, itemsize: int) -> list[int]:
    """Elements of each all-reduce, in the order they must happen."""
    if p["op"] == "ring":
        return [int(p["numel"])]
    return [sum(math.prod(p["shapes"][i]) for i in b) for b in buckets(p["shapes"], itemsize, int(p["bucket_cap_bytes"]))]


def traffic_bounds(p: dict, itemsize: int) -> tuple[int, int]:
    """(most bytes a rank may send, messages each rank must send)."""
    n = int(p["N"])
    if n == 1:
        return 0, 0
    sizes = reduced_sizes(p, itemsize)
    return sum(2 * (n - 1) * math.ceil(s / n) * itemsize for s in sizes), 2 * (n - 1) * len(sizes)


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    p = case.params
    n, dtype = int(p["N"]), getattr(torch, p["dtype"])
    if p["op"] == "ring":
        x = inputs["x"].to(dtype)
        total = x.sum(0) if dtype == torch.int64 else x.double().sum(0).to(dtype)
    else:
        flat = torch.cat([inputs[f"g{i}"].to(dtype).double().reshape(n, -1) for i in range(len(p["shapes"]))], dim=1)
        total = (flat.sum(0) / n).to(dtype)
    return {"result": total.expand(n, -1).clone(), **{k: None for k in TRAFFIC}}


def _counts(outputs: dict, n: int) -> Check | None:
    for key in TRAFFIC:
        v = outputs[key]
        shape_ok = v.dim() == 2 and v.shape[0] == n if type(v) is torch.Tensor and key == "message_elements" \
            else type(v) is torch.Tensor and tuple(v.shape) == (n,)
        if not shape_ok or v.dtype != torch.int64:
            return Check(False, f"{key}: expected an int64 tensor with one row per rank")
    return None


def _bucket_order(outputs: dict, p: dict, itemsize: int) -> Check | None:
    """Each all-reduce moves 2 (N - 1) chunks: all of its elements but one chunk, twice. Summing
    a rank's messages all-reduce by all-reduce shows which bucket was reduced when."""
    n = int(p["N"])
    if n == 1:
        return None
    per = 2 * (n - 1)
    sizes = reduced_sizes(p, itemsize)
    for rank, row in enumerate(outputs["message_elements"].tolist()):
        for b, s in enumerate(sizes):
            moved = sum(row[b * per:(b + 1) * per])
            if not 2 * (s - math.ceil(s / n)) <= moved <= 2 * (s - s // n):
                what = "the all-reduce" if p["op"] == "ring" else f"all-reduce {b + 1} (bucket of {s} elements)"
                return Check(False, f"rank {rank} moved {moved} elements in {what}; a ring moves between "
                                    f"{2 * (s - math.ceil(s / n))} and {2 * (s - s // n)}"
                                    + ("" if p["op"] == "ring" else " (buckets from the last gradient to the first)"))
    return None


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    p = case.params
    n = int(p["N"])
    problem = _counts(outputs, n)
    if problem:
        return problem
    tol = ctx.tolerances[p["dtype"]]
    result = compare_arrays("result", outputs["result"], want["result"], tol.atol, tol.rtol, expect_type=torch.Tensor)
    if not result.ok:
        return result
    off = outputs["off_ring_sends"].tolist()
    if any(off):
        rank = next(r for r, c in enumerate(off) if c)
        return Check(False, f"rank {rank} sent {off[rank]} message(s) to a rank other than the next on the ring")
    most, messages = traffic_bounds(p, want["result"].element_size())
    sent = outputs["bytes_sent"].tolist()
    for rank, nbytes in enumerate(sent):
        if nbytes > most:
            return Check(False, f"rank {rank} sent {nbytes} bytes; a ring all-reduce sends at most {most} "
                                f"(2 (N - 1) chunks of ceil(numel / N) elements)")
    got = outputs["messages"].tolist()
    if any(m != messages for m in got):
        rank = next(r for r, m in enumerate(got) if m != messages)
        return Check(False, f"rank {rank} sent {got[rank]} messages, expected {messages} "
                            "(one per chunk, 2 (N - 1) per all-reduce" + (", one all-reduce per bucket)" if p["op"] != "ring" else ")"))
    return _bucket_order(outputs, p, want["result"].element_size()) or result
