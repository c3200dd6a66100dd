"""Host-side tests of the ring_allreduce pack: DDP's bucket order, the traffic bounds, the driver's
mailbox in process (a deadlock is a clear error), and the check. Sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import types

import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 3


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("ring_allreduce"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def test_buckets_fill_from_the_last_gradient_as_ddp_does(pack):
    b = pack.grader.buckets
    assert b([[100], [20], [20]], 4, 480) == [[2, 1], [0]]          # 40 then 100 elements
    assert b([[4], [64, 8], [6], [2, 2]], 4, 64) == [[3, 2], [1], [0]]   # the big one alone
    assert b([[1]] * 3, 4, 1000) == [[2, 1, 0]]


def test_the_ring_bound_is_two_n_minus_one_chunks(pack):
    p = case(pack, "seven_ranks_uneven").params      # 100 elements, 7 ranks: chunks of 15 and 14
    assert pack.grader.traffic_bounds(p, 8) == (2 * 6 * 15 * 8, 12)
    assert pack.grader.traffic_bounds(case(pack, "one_rank").params, 8) == (0, 0)


def _graded(pack, ctx, module, name):
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    return pack.grader.check(c, inputs, ctx.driver.run(module, c.params, inputs, "cpu"), want, ctx)


def test_the_reference_passes_in_process_and_a_gather_fails_on_traffic(pack, ctx):
    for name in ("seven_ranks_uneven", "fewer_elements_than_ranks", "buckets_in_ddps_order"):
        assert _graded(pack, ctx, ctx.reference, name).ok, name

    def gather(rank, world, tensor, comm):
        if rank == 0:
            total = tensor.clone()
            for src in range(1, world):
                total += comm.recv(src)
            for dst in range(1, world):
                comm.send(dst, total)
            return total
        comm.send(0, tensor)
        return comm.recv(0)

    result = _graded(pack, ctx, types.SimpleNamespace(ring_allreduce=gather), "four_ranks_even")
    assert not result.ok and "other than the next on the ring" in result.message


def test_a_deadlock_is_the_candidates_error_in_bounded_time(pack, ctx, monkeypatch):
    monkeypatch.setattr(ctx.driver, "RECV_TIMEOUT", 0.2)

    def everyone_waits(rank, world, tensor, comm):
        return comm.recv((rank - 1) % world)

    c = case(pack, "four_ranks_even")
    with pytest.raises(RuntimeError, match="a deadlock"):
        ctx.driver.run(types.SimpleNamespace(ring_allreduce=everyone_waits), c.params,
                       pack.grader.make_inputs(c, SEED), "cpu")


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "four_ranks_even")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    good = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert pack.grader.check(c, inputs, good, want, ctx).ok
    for outputs in ({}, 1, {**good, "bytes_sent": good["bytes_sent"].tolist()},
                    {**good, "messages": good["messages"][:1]}, {**good, "result": good["result"].float()},
                    {**good, "message_elements": torch.zeros(2, dtype=torch.int64)}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message
