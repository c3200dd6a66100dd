"""Host-side tests of the quantize pack: the exact answer against torch's own quantisation where
torch defines the same thing, the cases exercise their tie and rounding rules, and the check.
The sandboxed path is tests/test_packs.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 11
# torch 2.13 deprecates its quantised tensors; they are only the oracle's witness here
pytestmark = pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor:UserWarning")


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("quantize"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def test_weights_match_torchs_per_channel_quantisation(pack, ctx):
    """torch.quantize_per_channel rounds half to even too: the same integers for the same scales."""
    c = case(pack, "weights_zero_channel_exact_halves_outlier")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, i, ctx)
    w = torch.tensor(i["w"])   # float32: torch quantises float tensors only
    q = torch.quantize_per_channel(w, torch.tensor(want["scale"]), torch.zeros(w.shape[0], dtype=torch.long),
                                   0, torch.qint8).int_repr().numpy()
    assert np.array_equal(np.clip(q, -127, 127), want["q"])
    assert want["scale"][0] == 1.0 and want["scale"][1] == 2.0 ** -6   # the zero row; the exact-halves row


def test_the_halves_row_really_has_halves_and_half_to_even_decides(pack, ctx):
    c = case(pack, "weights_zero_channel_exact_halves_outlier")
    i = pack.grader.make_inputs(c, SEED)
    ratios = i["w"][1].astype(np.float64) / 2.0 ** -6
    halves = ratios[np.abs(ratios - np.floor(ratios) - 0.5) == 0]
    assert len(halves) > 10
    away = np.sign(halves) * np.floor(np.abs(halves) + 0.5)
    assert (np.rint(halves) != away).any()


def test_activation_quantisation_matches_torch_per_tensor(pack, ctx):
    c = case(pack, "activations_all_positive")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, i, ctx)
    assert int(want["zero_point"]) == -128          # the range was stretched down to 0
    q = torch.quantize_per_tensor(torch.tensor(i["x"]), float(want["scale"]),
                                  int(want["zero_point"]), torch.qint8).int_repr().numpy()
    assert np.array_equal(q, want["q"])


def test_the_extreme_matmul_overflows_int16_and_saturates(pack, ctx):
    c = case(pack, "int8_linear_extremes")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, i, ctx)
    assert np.abs(want["acc"]).max() > 2 ** 15
    assert (want["y"] == 127).any() and (want["y"] == -128).any()


def test_tie_rules_are_what_decides_the_masks(pack, ctx):
    c = case(pack, "two_four_masks_with_ties")
    i = pack.grader.make_inputs(c, SEED)
    mask = pack.grader.expected(c, i, ctx)["mask"]
    groups = np.abs(i["w"]).reshape(-1, 4)
    assert (mask.reshape(-1, 4).sum(1) == 2).all()
    assert any(len(set(g)) < 4 for g in groups)          # ties exist
    c = case(pack, "magnitude_prune_with_ties")
    i = pack.grader.make_inputs(c, SEED)
    mask = pack.grader.expected(c, i, ctx)["mask"]
    assert (~mask).sum() == int(np.floor(0.38 * 60))


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "weights_per_channel")
    i = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, i, ctx)
    for outputs in ({}, None, {**want, "q": want["q"].astype(np.int16)}, {**want, "scale": want["scale"].astype(np.float32)},
                    {**want, "q": want["q"][:, :1]}):
        result = pack.grader.check(c, i, outputs, want, ctx)
        assert not result.ok and result.message
