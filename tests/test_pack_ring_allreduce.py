"""Host-side tests of the ring_allreduce pack: DDP's bucket order, the traffic bounds, the driver's
mailbox in process (a deadlock is a clear error), and the check; expected() and the traffic check
against independent oracles (exact sums, the README's chunk schedule); the rule's premise.
Sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import time
import types
from dataclasses import replace
from fractions import Fraction

import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack
from dlverify.screening.static_rules import violations

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


def test_a_deadlock_is_seen_at_once_not_at_the_timeout(pack, ctx, monkeypatch):
    """Every rank still running waits on an empty mailbox: no send can come, so no need to wait."""
    monkeypatch.setattr(ctx.driver, "RECV_TIMEOUT", 120.0)
    c = case(pack, "four_ranks_even")
    receives_first = types.SimpleNamespace(ring_allreduce=lambda rank, world, t, comm: comm.recv((rank - 1) % world))
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="every rank still running is waiting"):
        ctx.driver.run(receives_first, c.params, pack.grader.make_inputs(c, SEED), "cpu")
    assert time.monotonic() - began < 60, "waited for the receive timeout"


def test_one_ranks_own_error_is_the_one_reported_and_the_others_stop_waiting(pack, ctx, monkeypatch):
    monkeypatch.setattr(ctx.driver, "RECV_TIMEOUT", 120.0)

    def rank_two_breaks(rank, world, t, comm):
        if rank == 2:
            raise ValueError("rank 2's own bug")
        comm.send((rank + 1) % world, t)
        return comm.recv((rank - 1) % world)        # rank 3 waits for rank 2 forever

    c = case(pack, "four_ranks_even")
    began = time.monotonic()
    with pytest.raises(ValueError, match="rank 2's own bug"):
        ctx.driver.run(types.SimpleNamespace(ring_allreduce=rank_two_breaks), c.params,
                       pack.grader.make_inputs(c, SEED), "cpu")
    assert time.monotonic() - began < 60, "waited for the receive timeout"


def test_a_rank_waiting_on_a_slow_sender_still_gets_its_message(pack, ctx):
    """Not a deadlock: the sender is running (busy), not waiting."""
    params = {**case(pack, "four_ranks_even").params, "N": 2, "numel": 3}
    x = torch.randn(2, 3, dtype=torch.float64)

    def slow(rank, world, t, comm):
        if rank == 0:
            time.sleep(0.5)
        comm.send((rank + 1) % world, t)
        return comm.recv((rank - 1) % world)

    out = ctx.driver.run(types.SimpleNamespace(ring_allreduce=slow), params, {"x": x}, "cpu")
    assert torch.equal(out["result"], x.flip(0))


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


# --- expected() against exact arithmetic ------------------------------------------------------

def test_expected_is_the_exact_sum_rounded_once_and_the_bucket_mean(pack, ctx):
    """Ring: each element's exact sum (Fractions / Python ints) of the dtype-rounded inputs. In
    float32 and bfloat16 the float64 sum is exact, so the answer is that rounded once, bit for bit;
    in float64 it is within the N - 1 roundings of a float64 sum. Buckets: each gradient's mean."""
    for name in ("seven_ranks_uneven", "float32_six_ranks", "bfloat16_three_ranks", "int64_past_float64s_range"):
        c = case(pack, name)
        inputs = pack.grader.make_inputs(c, SEED)
        want = pack.grader.expected(c, inputs, ctx)["result"]              # (N, numel) in the dtype
        dtype = getattr(torch, c.params["dtype"])
        cols = inputs["x"].to(dtype).t().tolist()                          # numel lists of N values
        if dtype == torch.int64:
            exact = torch.tensor([sum(col) for col in cols], dtype=torch.int64)
        else:
            exact = torch.tensor([float(sum(Fraction(v) for v in col)) for col in cols],
                                 dtype=torch.float64).to(dtype)
        assert want.dtype == dtype and want.shape == (c.params["N"], c.params["numel"]), name
        if dtype == torch.float64:
            bound = (c.params["N"] - 1) * 2**-52 * inputs["x"].abs().sum(0)
            assert bool(((want - exact).abs() <= bound).all()), name
        else:
            assert all(torch.equal(row, exact) for row in want), name
    c = case(pack, "buckets_under_a_cap")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)["result"]                  # (N, all elements) float32
    mean = torch.cat([inputs[f"g{i}"].float().double().mean(0).reshape(-1) for i in range(len(c.params["shapes"]))])
    assert torch.allclose(want[2].double(), mean, rtol=2**-23, atol=1e-12)


def test_the_int64_case_is_past_float64s_exact_integers(pack):
    c = case(pack, "int64_past_float64s_range")
    x = pack.grader.make_inputs(c, SEED)["x"]
    assert x.dtype == torch.int64 and int(x.abs().max()) > 2**53          # a float64 detour loses digits
    assert int(x.abs().max()) * c.params["N"] < 2**63                     # every partial sum still fits


def test_check_holds_int64_exactly_past_float64s_range(pack, ctx):
    c = case(pack, "int64_past_float64s_range")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    good = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert pack.grader.check(c, inputs, good, want, ctx).ok
    off = good["result"].clone()
    off[1, 5] += 1                                                        # the same float64 value
    assert off.double().equal(good["result"].double())
    result = pack.grader.check(c, inputs, {**good, "result": off}, want, ctx)
    assert not result.ok and "exact" in result.message


# --- the traffic check against the README's schedule ------------------------------------------

def _schedule(numel, n):
    """Elements per message of each rank, as the README's ring sends them: reduce-scatter sends
    chunk (r - s) % N, all-gather chunk (r + 1 - s) % N, s = 0 .. N - 2."""
    sizes = [t.numel() for t in torch.arange(numel).tensor_split(n)]
    return [[sizes[(r - s) % n] for s in range(n - 1)] + [sizes[(r + 1 - s) % n] for s in range(n - 1)]
            for r in range(n)]


def _outputs(want, rows, itemsize):
    n, longest = len(rows), max([len(row) for row in rows] + [1])
    return {"result": want["result"].clone(),       # -1 past a rank's last message, as the driver pads
            "message_elements": torch.tensor([row + [-1] * (longest - len(row)) for row in rows], dtype=torch.int64),
            "bytes_sent": torch.tensor([sum(row) * itemsize for row in rows], dtype=torch.int64),
            "messages": torch.tensor([len(row) for row in rows], dtype=torch.int64),
            "off_ring_sends": torch.zeros(n, dtype=torch.int64)}


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8])
def test_the_readmes_ring_passes_the_traffic_check_and_a_missing_message_does_not(pack, ctx, n):
    """For every size up to 3N, the schedule of tensor_split's chunks passes check() (the bounds
    are not too tight for uneven or empty chunks); the same with one message short fails."""
    base = case(pack, "seven_ranks_uneven")
    for numel in range(0, 3 * n + 1):
        c = replace(base, params={**base.params, "N": n, "numel": numel})
        inputs = pack.grader.make_inputs(c, SEED)
        want = pack.grader.expected(c, inputs, ctx)
        good = pack.grader.check(c, inputs, _outputs(want, _schedule(numel, n), 8), want, ctx)
        assert good.ok, (n, numel, good.message)
        short = _schedule(numel, n)
        short[n - 1] = short[n - 1][:-1]
        bad = pack.grader.check(c, inputs, _outputs(want, short, 8), want, ctx)
        assert not bad.ok and f"rank {n - 1} sent" in bad.message, (n, numel)


def test_bucket_plans_cover_every_gradient_from_the_last_and_stay_under_the_cap(pack):
    b = pack.grader.buckets
    assert b([[4], [4], [8]], 8, 64) == [[2], [1, 0]]                     # a bucket exactly at the cap
    for numels in ([5, 1, 7, 3, 3, 2, 9], [1] * 9, [40, 1, 40], [0, 3, 0]):
        for cap in (4, 12, 20, 36):
            plan = b([[k] for k in numels], 4, cap)
            assert [i for bucket in plan for i in bucket] == list(range(len(numels)))[::-1]
            assert all(len(bucket) == 1 or 4 * sum(numels[i] for i in bucket) <= cap for bucket in plan)
            # greedy: the next bucket's first gradient would not have fitted in the one before
            assert all(4 * (sum(numels[i] for i in prev) + numels[nxt[0]]) > cap for prev, nxt in zip(plan, plan[1:]))


# --- the driver -------------------------------------------------------------------------------

@pytest.mark.parametrize("send,words", [
    (lambda comm, rank, t: comm.send(rank, t), "not another rank"),
    (lambda comm, rank, t: comm.send(7, t), "not another rank"),
    (lambda comm, rank, t: comm.send(True, t), "not another rank"),
    (lambda comm, rank, t: comm.send((rank + 1) % 3, t.tolist()), "takes a torch.Tensor"),
])
def test_driver_refuses_bad_sends_as_the_candidates_error(pack, ctx, send, words):
    c = case(pack, "four_ranks_even")
    params = {**c.params, "N": 3, "numel": 4}
    with pytest.raises((ValueError, TypeError), match=words):
        ctx.driver.run(types.SimpleNamespace(ring_allreduce=lambda rank, world, t, comm: send(comm, rank, t)),
                       params, {"x": torch.randn(3, 4, dtype=torch.float64)}, "cpu")


def test_a_message_is_a_copy_taken_at_send_and_every_one_must_be_received(pack, ctx):
    params = {**case(pack, "four_ranks_even").params, "N": 2, "numel": 5}
    x = torch.randn(2, 5, dtype=torch.float64)

    def changes_both_ends(rank, world, t, comm):
        comm.send((rank + 1) % world, t)
        t.zero_()                                    # the sender changes its tensor at once
        return comm.recv((rank - 1) % world).add_(100)

    out = ctx.driver.run(types.SimpleNamespace(ring_allreduce=changes_both_ends), params, {"x": x}, "cpu")
    assert torch.equal(out["result"], x.flip(0) + 100)
    assert out["message_elements"].tolist() == [[5], [5]] and out["bytes_sent"].tolist() == [40, 40]

    def never_received(rank, world, t, comm):
        comm.send((rank + 1) % world, t)
        return t
    with pytest.raises(Exception, match="never received"):
        ctx.driver.run(types.SimpleNamespace(ring_allreduce=never_received), params, {"x": x}, "cpu")


# --- the rule's premise -----------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "import torch.distributed as dist\n",
    "from torch import distributed\n",
    "import torch\ntorch.distributed.all_reduce(torch.ones(2))\n",
])
def test_torch_distributed_is_rejected_before_it_runs(pack, source):
    found = violations(source, pack.exercise.rules)
    assert found and found[0][0] == "forbidden-import", found
