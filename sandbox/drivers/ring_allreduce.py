"""Child side of ring_allreduce: N simulated ranks as threads of this process, a point-to-point
mailbox between them, and byte counts of what each rank sends.

`comm.send(dst, tensor)` copies the tensor into dst's mailbox and returns at once;
`comm.recv(src)` waits for the next tensor src sent to this rank: a deadlock (every rank
still running waiting to receive) is the candidate's error at once, and no wait passes
RECV_TIMEOUT. When a rank raises, the ranks waiting on it stop, and its error is the one reported. Every send is counted: bytes,
messages, and whether it went anywhere but the next rank on the ring. The counts live in
closures here, next to candidate code: the host re-checks the results, and a tampered count
cannot make a wrong sum right.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import torch

from contract import ContractError  # sandbox/contract.py: on the child's path

RECV_TIMEOUT = 10.0   # the longest any recv waits; a deadlock among the ranks is seen at once


class _PeerFailed(Exception):
    """Raised in a waiting rank once another rank has failed: the other rank's error is the one reported."""


class _Ring:
    """The mailboxes and who is waiting on them, under one lock.

    A rank in recv on an empty mailbox, with every other rank still running also in recv on an
    empty one, can never be sent anything: that is a deadlock, said at once rather than after
    RECV_TIMEOUT. Only when no thread but the ranks is alive (a candidate's own thread could
    still send), so the rule never fires on a slow but live ring.
    """

    def __init__(self, world: int):
        self.world, self.cond = world, threading.Condition()
        self.boxes = {(a, b): deque() for a in range(world) for b in range(world) if a != b}
        self.running = world
        self.waiting: dict[int, tuple[int, int]] = {}    # rank -> the mailbox it waits on
        self.failure: BaseException | None = None       # the first error any rank raised
        self.threads_before = threading.active_count()  # this driver's own threads, the ranks not yet started

    def put(self, src: int, dst: int, data: torch.Tensor) -> None:
        with self.cond:
            self.boxes[(src, dst)].append(data)
            self.cond.notify_all()

    def get(self, src: int, dst: int) -> torch.Tensor:
        box, deadline = self.boxes[(src, dst)], time.monotonic() + RECV_TIMEOUT
        with self.cond:
            self.waiting[dst] = (src, dst)
            try:
                while not box:
                    if self.failure is not None:
                        raise _PeerFailed()
                    if self._deadlocked():
                        raise RuntimeError(f"rank {dst}: recv({src}) can never be answered: every rank still "
                                           f"running is waiting to receive (a deadlock)")
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise RuntimeError(f"rank {dst}: recv({src}) waited {RECV_TIMEOUT:.0f} s for a message "
                                           f"that never came (a deadlock, or a send missing on rank {src})")
                    self.cond.wait(min(left, 0.5))
                return box.popleft()
            finally:
                del self.waiting[dst]

    def _deadlocked(self) -> bool:
        only_ranks = threading.active_count() <= self.threads_before + self.running
        stuck = len(self.waiting) == self.running and not any(self.boxes[key] for key in self.waiting.values())
        return stuck and only_ranks

    def finished(self, error: BaseException | None) -> None:
        with self.cond:
            self.running -= 1
            if error is not None and not isinstance(error, _PeerFailed) and self.failure is None:
                self.failure = error
            self.cond.notify_all()


class _Comm:
    __slots__ = ("send", "recv", "rank", "world_size")

    def __init__(self, rank: int, world: int, ring: _Ring, counts):
        self.rank, self.world_size = rank, world

        def send(dst, tensor):
            if type(dst) is not int or not 0 <= dst < world or dst == rank:
                raise ValueError(f"rank {rank}: send to {dst!r}, which is not another rank of {world}")
            if type(tensor) is not torch.Tensor:
                raise TypeError(f"rank {rank}: send takes a torch.Tensor, got {type(tensor).__name__}")
            data = tensor.detach().clone()
            counts["bytes"][rank] += data.numel() * data.element_size()
            counts["messages"][rank] += 1
            counts["sizes"][rank].append(data.numel())
            if dst != (rank + 1) % world:
                counts["off_ring"][rank] += 1
            ring.put(rank, dst, data)

        def recv(src):
            if type(src) is not int or not 0 <= src < world or src == rank:
                raise ValueError(f"rank {rank}: recv from {src!r}, which is not another rank of {world}")
            return ring.get(src, rank)

        self.send, self.recv = send, recv


def _run_ranks(world: int, work) -> tuple[list, dict]:
    ring = _Ring(world)
    counts = {"bytes": [0] * world, "messages": [0] * world, "off_ring": [0] * world,
              "sizes": [[] for _ in range(world)]}
    results: list = [None] * world

    def one(rank):
        error = None
        try:
            results[rank] = work(rank, _Comm(rank, world, ring, counts))
        except BaseException as exc:  # noqa: BLE001 - the first one is reported below as the candidate's
            error = exc
        ring.finished(error)

    threads = [threading.Thread(target=one, args=(r,), name=f"rank-{r}") for r in range(world)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RECV_TIMEOUT * 4)
    if any(t.is_alive() for t in threads):
        raise ContractError("some ranks never returned (a deadlock)")
    if ring.failure is not None:
        raise ring.failure      # the first error in time: a rank's own, not the wait it caused elsewhere
    leftover = sum(len(box) for box in ring.boxes.values())
    if leftover:
        raise ContractError(f"{leftover} message(s) were sent and never received")
    return results, counts


def _tensor(value, what, shape, dtype):
    if type(value) is not torch.Tensor:
        raise ContractError(f"{what} must be a torch.Tensor, got {type(value).__name__}")
    if tuple(value.shape) != tuple(shape) or value.dtype != dtype:
        raise ContractError(f"{what} is {tuple(value.shape)} {value.dtype}, expected {tuple(shape)} {dtype}")
    return value.detach().clone()


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    world, dtype = int(params["N"]), getattr(torch, params["dtype"])
    if params["op"] == "ring":
        fn = getattr(module, "ring_allreduce", None)
        if not callable(fn):
            raise ContractError("the submission does not define ring_allreduce")
        x = inputs["x"]                                        # (N, numel) float64 or int64

        def work(rank, comm):
            return fn(rank, world, x[rank].to(dtype).clone(), comm)

        results, counts = _run_ranks(world, work)
        out = torch.stack([_tensor(r, f"rank {i}'s result", (x.shape[1],), dtype) for i, r in enumerate(results)])
    else:
        fn = getattr(module, "bucketed_allreduce", None)
        if not callable(fn):
            raise ContractError("the submission does not define bucketed_allreduce")
        shapes = [tuple(int(s) for s in shape) for shape in params["shapes"]]
        cap = int(params["bucket_cap_bytes"])

        def work(rank, comm):
            grads = [inputs[f"g{i}"][rank].to(dtype).clone() for i in range(len(shapes))]
            return fn(rank, world, grads, comm, cap)

        results, counts = _run_ranks(world, work)
        flat = []
        for rank, grads in enumerate(results):
            if not isinstance(grads, list) or len(grads) != len(shapes):
                raise ContractError(f"rank {rank}: bucketed_allreduce must return a list of {len(shapes)} tensors")
            flat.append(torch.cat([_tensor(g, f"rank {rank}'s gradient {i}", s, dtype).reshape(-1)
                                   for i, (g, s) in enumerate(zip(grads, shapes))]))
        out = torch.stack(flat)
    longest = max([len(sizes) for sizes in counts["sizes"]] + [1])
    sizes = torch.full((world, longest), -1, dtype=torch.int64)   # elements per message, -1 past the last
    for rank, row in enumerate(counts["sizes"]):
        sizes[rank, :len(row)] = torch.tensor(row, dtype=torch.int64)
    return {"result": out, "message_elements": sizes, "bytes_sent": torch.tensor(counts["bytes"], dtype=torch.int64),
            "messages": torch.tensor(counts["messages"], dtype=torch.int64),
            "off_ring_sends": torch.tensor(counts["off_ring"], dtype=torch.int64)}
