"""Host-side tests of the lstm pack: the trusted answer, the contract's names, the rules' premise.

In-process on trusted code; the sandboxed path (every known solution) is tests/test_packs.py.
"""

from __future__ import annotations

import pytest
import torch

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 99


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("lstm"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def test_lengths_mean_each_sequence_run_alone(pack, ctx):
    """Independent of pack_padded_sequence: each sequence through nn.LSTM on its own steps only."""
    c = case(pack, "three_layers_lengths_and_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    p = c.params
    lstm = torch.nn.LSTM(p["D"], p["H"], p["L"]).double()
    lstm.load_state_dict({k.removeprefix("param."): v for k, v in inputs.items() if k.startswith("param.")})
    lengths = inputs["lengths"]
    assert lengths.max() == p["T"] and lengths.min() == 1
    for b in range(p["B"]):
        n = int(lengths[b])
        out, (h, cell) = lstm(inputs["x"][:n, b:b + 1], (inputs["h0"][:, b:b + 1], inputs["c0"][:, b:b + 1]))
        assert torch.allclose(want["output"][:n, b], out[:, 0], atol=1e-12)
        assert (want["output"][n:, b] == 0).all()
        assert torch.allclose(want["h_n"][:, b], h[:, 0], atol=1e-12)
        assert torch.allclose(want["c_n"][:, b], cell[:, 0], atol=1e-12)


def test_the_weights_are_nn_lstms_own_names(pack):
    c = case(pack, "no_bias")
    names = {k.removeprefix("param.") for k in pack.grader.make_inputs(c, SEED) if k.startswith("param.")}
    assert names == set(torch.nn.LSTM(3, 4, 2, bias=False).state_dict())


def test_the_reference_passes_in_process_and_every_gradient_is_checked(pack, ctx):
    c = case(pack, "two_layers_with_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    assert {"grad.x", "grad.h0", "grad.c0", "grad.weight_hh_l1", "grad.bias_ih_l0"} <= set(want)
    got = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert pack.grader.check(c, inputs, got, want, ctx).ok
    got["grad.weight_hh_l1"] = got["grad.weight_hh_l1"] * (1 + 1e-6)
    assert not pack.grader.check(c, inputs, got, want, ctx).ok


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "one_layer_no_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, "x", {k: v.float() for k, v in want.items()}, {k: v[..., :1] for k, v in want.items()}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message


def test_torchs_recurrent_kernels_dispatch_what_the_rules_forbid(pack):
    """The rules' premise: nn.LSTM and nn.LSTMCell, reached any way, run a forbidden op or function."""
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    seen = set()

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    class Functions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.add(getattr(func, "__name__", ""))
            return func(*args, **(kwargs or {}))

    x = torch.randn(3, 2, 4)
    with Functions(), Ops():
        torch.nn.LSTM(4, 5)(x)
        torch.nn.LSTMCell(4, 5)(x[0])
    forbidden = set(pack.exercise.rules.forbidden_ops)
    assert "lstm_cell" in seen and "lstm_cell" in forbidden
    assert seen & forbidden >= {"lstm_cell"} and ({"lstm", "mkldnn_rnn_layer"} & seen & forbidden)
