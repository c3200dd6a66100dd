"""The lstm grader's answer (nn.LSTM in float64, packed for lengths) against the README's equations
written out by hand: one sequence and one step at a time, no nn.LSTM, no packing, no masks.

In-process on trusted code; inputs, check, driver and rules are tests/test_pack_lstm.py.
"""

from __future__ import annotations

import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 20261205


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("lstm"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def by_hand(inputs: dict, params: dict) -> dict:
    """The README's step, float64, on the inputs rounded to the case's dtype (what the candidate gets)."""
    T, B, H, L = (int(params[k]) for k in ("T", "B", "H", "L"))
    dtype = getattr(torch, params["dtype"])

    def leaf(t):
        return t.to(dtype).double().requires_grad_(True)

    w = {k.removeprefix("param."): leaf(v) for k, v in inputs.items() if k.startswith("param.")}
    x = leaf(inputs["x"])
    h0 = leaf(inputs["h0"]) if "h0" in inputs else torch.zeros(L, B, H, dtype=torch.float64)
    c0 = leaf(inputs["c0"]) if "c0" in inputs else torch.zeros(L, B, H, dtype=torch.float64)
    lengths = inputs["lengths"].tolist() if "lengths" in inputs else [T] * B
    zero = torch.zeros(H, dtype=torch.float64)
    out = [[zero] * B for _ in range(T)]                 # [t][b] -> (H,): zeros past each end
    h_n, c_n = [[zero] * B for _ in range(L)], [[zero] * B for _ in range(L)]
    for b in range(B):
        seq = [x[t, b] for t in range(lengths[b])]      # this sequence only, cut to its length
        for k in range(L):
            h, c = h0[k, b], c0[k, b]
            for t, x_t in enumerate(seq):
                z = w[f"weight_ih_l{k}"] @ x_t + w[f"weight_hh_l{k}"] @ h                  # (4H,)
                if params.get("bias", True):
                    z = z + w[f"bias_ih_l{k}"] + w[f"bias_hh_l{k}"]
                i, f, g, o = z[:H].sigmoid(), z[H:2 * H].sigmoid(), z[2 * H:3 * H].tanh(), z[3 * H:].sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                seq[t] = h                               # the next layer's input
            h_n[k][b], c_n[k][b] = h, c
        for t, h_t in enumerate(seq):
            out[t][b] = h_t

    def stack(rows):
        return torch.stack([torch.stack(row) for row in rows])

    results = {"output": stack(out), "h_n": stack(h_n), "c_n": stack(c_n)}     # (T|L, B, H)
    sum((results[k] * inputs[d].to(dtype).double()).sum()
        for k, d in (("output", "d_out"), ("h_n", "d_h"), ("c_n", "d_c"))).backward()
    grads = {"grad.x": x.grad, **{f"grad.{n}": p.grad for n, p in w.items()}}
    if "h0" in inputs:
        grads.update({"grad.h0": h0.grad, "grad.c0": c0.grad})
    return {**{k: v.detach() for k, v in results.items()}, **grads}


@pytest.mark.parametrize("name", ["one_layer_no_state", "three_layers_lengths_and_state", "no_bias",
                                  "single_step_single_sequence", "float32_two_layers", "bf16_autocast"])
def test_expected_is_the_equations_written_out(pack, ctx, name):
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    mine = by_hand(inputs, c.params)
    assert sorted(want) == sorted(mine)
    dtype = getattr(torch, c.params["dtype"])
    # float64 answers agree to summation order; float32 ones were rounded once (2**-24 relative)
    rtol, atol = (1e-10, 1e-12) if dtype == torch.float64 else (1e-6, 1e-7)
    for key, value in mine.items():
        read_as = torch.float32 if c.params.get("autocast") and not key.startswith("grad.") else dtype
        assert want[key].dtype == read_as, key
        assert torch.allclose(want[key].double(), value, rtol=rtol, atol=atol), key


def test_expected_zeroes_past_the_end_and_ends_each_state_at_its_length(pack, ctx):
    c = case(pack, "three_layers_lengths_and_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    lengths = inputs["lengths"]
    past = torch.arange(c.params["T"])[:, None] >= lengths[None, :]            # (T, B)
    assert past.any() and not past.all()
    assert (want["output"][past] == 0).all() and (want["output"][~past] != 0).all()
    assert (want["grad.x"][past] == 0).all()                                   # padding changes nothing
    last = want["output"][lengths - 1, torch.arange(len(lengths))]             # (B, H): each one's last output
    assert torch.equal(last, want["h_n"][-1])


def test_the_answer_is_on_the_inputs_rounded_to_the_cases_dtype(pack, ctx):
    """The candidate runs on float32 weights and inputs: the float64 answer must use those, not the
    float64 draws (their difference, ~1e-8, is far inside float32's tolerance and would hide)."""
    c = case(pack, "float32_two_layers")
    inputs = pack.grader.make_inputs(c, SEED)

    def as_float32(scale):   # the float32 values, moved by less than half a float32 step
        return {k: v.float().double() * scale if v.is_floating_point() else v for k, v in inputs.items()}

    want = pack.grader.expected(c, inputs, ctx)
    for same in (as_float32(1.0), as_float32(1 + 2 ** -30)):
        again = pack.grader.expected(c, same, ctx)
        assert all(torch.equal(want[k], again[k]) for k in want)
