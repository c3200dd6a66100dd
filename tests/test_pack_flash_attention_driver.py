"""Host-side tests of the flash_attention pack's driver (the trusted code beside the candidate's in the
sandbox): the contract it checks, how it calls the forward and the backward, its bench inputs, and
the memory rule's meter. The rest of the pack's host-side tests are in test_pack_flash_attention.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from dlverify.packs.cases import Case

EXERCISE = "flash_attention"


# --- driver -----------------------------------------------------------------------------

def small_inputs(backward=True, dtype=torch.float32, B=1, H=2, Lq=5, Lk=7, D=16):
    gen = torch.Generator().manual_seed(1)
    inputs = {n: torch.randn(B, H, L, D, generator=gen).to(dtype) for n, L in (("q", Lq), ("k", Lk), ("v", Lk))}
    if backward:
        inputs["do"] = torch.randn(B, H, Lq, D, generator=gen).to(dtype)
    params = {"B": B, "H": H, "Lq": Lq, "Lk": Lk, "D": D, "dtype": str(dtype)[6:], "causal": True,
              "backward": backward}
    return params, inputs


def fake(forward=None, backward=None):
    def fwd(q, k, v, causal, scale):
        return torch.zeros_like(q), torch.zeros(q.shape[:3])

    def bwd(q, k, v, o, lse, do, causal, scale):
        return torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)

    return SimpleNamespace(attention_forward=forward or fwd, attention_backward=backward or bwd)


@pytest.mark.parametrize("module, message", [
    (SimpleNamespace(), "does not define"),
    (fake(forward=lambda q, k, v, c, s: torch.zeros_like(q)), "must return a tuple"),
    (fake(forward=lambda q, k, v, c, s: (torch.zeros_like(q), torch.zeros(q.shape[:3], dtype=torch.float64))),
     "lse has dtype"),
    (fake(forward=lambda q, k, v, c, s: (torch.zeros_like(q)[..., :-1], torch.zeros(q.shape[:3]))), "o has shape"),
    (fake(forward=lambda q, k, v, c, s: (torch.nn.Parameter(q.clone(), False), torch.zeros(q.shape[:3]))),
     "o must be a torch.Tensor"),
    (fake(backward=lambda q, k, v, o, lse, do, c, s: (q, k)), "must return a tuple"),
    (fake(backward=lambda q, k, v, o, lse, do, c, s: (q, q, v)), "dk has shape"),
])
def test_driver_refuses_a_broken_contract(driver, module, message):
    params, inputs = small_inputs()
    with pytest.raises(driver.ContractError, match=message):
        driver.run(module, params, inputs, "cpu")


def test_driver_passes_the_forward_s_results_to_the_backward(driver):
    params, inputs = small_inputs()
    params.update(layout="blhd", scale=0.7)
    seen = {}

    def forward(q, k, v, causal, scale):
        seen.update(q=q, causal=causal, scale=scale)
        seen["o"], seen["lse"] = torch.ones_like(q), torch.ones(q.shape[:3])
        return seen["o"], seen["lse"]

    def backward(q, k, v, o, lse, do, causal, scale):
        assert o is seen["o"] and lse is seen["lse"] and q is seen["q"] and not do.is_contiguous()
        return q.clone(), k.clone(), v.clone()

    out = driver.run(fake(forward, backward), params, inputs, "cpu")
    assert seen["causal"] is True and seen["scale"] == 0.7
    q = seen["q"]
    assert not q.is_contiguous() and q.stride() == (5 * 2 * 16, 16, 2 * 16, 1) and torch.equal(q, inputs["q"])
    assert list(out) == ["o", "lse", "dq", "dk", "dv"] and torch.equal(out["dk"], inputs["k"])
    assert all(type(t) is torch.Tensor and t.is_contiguous() for t in out.values())


def test_driver_scale_is_the_grader_s(pack, driver):
    for case in pack.cases:
        assert driver.scale_of(case.params) == pack.grader.scale_of(case.params)


def test_bench_inputs_match_make_inputs(pack, driver):
    for case in (c for c in pack.cases if c.kind == "bench"):
        small = {**case.params, "B": 1, "H": 1, "Lq": 3, "Lk": 5}
        made = pack.grader.make_inputs(Case("s", small, seed=0), 1)
        generated = driver.bench_inputs(small, 1, "cpu")
        assert {n: (t.shape, t.dtype) for n, t in made.items()} == {n: (t.shape, t.dtype) for n, t in generated.items()}


# --- the memory rule ----------------------------------------------------------------------

def test_budget_is_sixteen_padded_inputs(driver):
    assert driver.alloc_budget({"B": 2, "H": 3, "Lq": 100, "Lk": 129, "D": 32}) == 16 * 2 * 3 * 256 * 32


def test_materialised_scores_are_a_memory_error_even_when_caught(driver):
    params, inputs = small_inputs(backward=False, Lq=1024, Lk=1024)

    def forward(q, k, v, causal, scale):
        try:
            torch.empty(q.shape[0], q.shape[1], q.shape[2], k.shape[2])      # (B, H, Lq, Lk)
        except MemoryError:
            pass
        return torch.zeros_like(q), torch.zeros(q.shape[:3])

    with pytest.raises(MemoryError, match="attention_forward allocated .* over the memory rule"):
        driver.run(fake(forward), params, inputs, "cpu")


@pytest.mark.parametrize("allocate, counted", [
    (lambda q: torch.tensor([0.0] * 1000), 1000),          # built before any op, then lifted
    (lambda q: q.clone(), 2 * 7 * 16),
    (lambda q: q.to(torch.float16), 2 * 7 * 16),
    (lambda q: q.transpose(2, 3).contiguous(), 2 * 7 * 16),
    (lambda q: q.transpose(2, 3)[..., :3].unsqueeze(0).expand(2, -1, -1, -1, -1), 0),   # views: nothing new
    (lambda q: q.zero_(), 0),                               # in place
])
def test_meter_counts_what_ops_create(driver, allocate, counted):
    q = torch.randn(1, 2, 7, 16)
    meter = driver.AllocationMeter(10**9, "x")
    with meter:
        allocate(q)
    assert meter.used == counted
