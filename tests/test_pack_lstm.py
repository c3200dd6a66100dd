"""Host-side tests of the lstm pack: its inputs, check, driver, rules and workload.

In-process on trusted code; the trusted answer against the README's equations is
tests/test_pack_lstm_oracle.py, the sandboxed path (every known solution) tests/test_packs.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from dlverify.gpu.workload import workload
from dlverify.packs import registry
from dlverify.packs.loading import load_pack
from dlverify.screening.static_rules import violations
from ops_seen import ops_seen

SEED = 99


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("lstm"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def params_of(inputs: dict) -> set[str]:
    return {k.removeprefix("param.") for k in inputs if k.startswith("param.")}


# --- make_inputs ---------------------------------------------------------------------------

def test_inputs_follow_the_seed_and_carry_nn_lstms_own_weights(pack):
    c = case(pack, "three_layers_lengths_and_state")
    a, b, other = (pack.grader.make_inputs(c, s) for s in (SEED, SEED, SEED + 1))
    assert a.keys() == b.keys() == other.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["x"], other["x"]) and not torch.equal(a["param.weight_hh_l1"], other["param.weight_hh_l1"])
    p = c.params
    assert a["x"].shape == (p["T"], p["B"], p["D"]) and a["h0"].shape == a["c0"].shape == (p["L"], p["B"], p["H"])
    assert params_of(a) == set(torch.nn.LSTM(p["D"], p["H"], p["L"]).state_dict())
    no_bias = case(pack, "no_bias")
    assert params_of(pack.grader.make_inputs(no_bias, SEED)) == set(torch.nn.LSTM(3, 4, 2, bias=False).state_dict())
    assert "h0" not in pack.grader.make_inputs(case(pack, "lengths_without_state"), SEED)
    assert "lengths" not in pack.grader.make_inputs(case(pack, "two_layers_with_state"), SEED)


def test_lengths_hold_a_full_and_a_one_step_sequence_in_no_fixed_order(pack):
    """The README promises lengths with T, 1 and values between, unsorted: over a few seeds."""
    c = case(pack, "lengths_without_state")
    T, B = c.params["T"], c.params["B"]
    seen_unsorted = False
    for seed in range(6):
        lengths = pack.grader.make_inputs(c, seed)["lengths"]
        assert lengths.dtype == torch.int64 and lengths.shape == (B,)
        assert int(lengths.min()) == 1 and int(lengths.max()) == T
        seen_unsorted |= not torch.equal(lengths, lengths.sort(descending=True).values)
    assert seen_unsorted   # else an implementation needing enforce_sorted=True would pass


# --- check ---------------------------------------------------------------------------------

def test_the_reference_passes_in_process_and_every_gradient_is_checked(pack, ctx):
    c = case(pack, "two_layers_with_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    assert {"grad.x", "grad.h0", "grad.c0", "grad.weight_hh_l1", "grad.bias_ih_l0"} <= set(want)
    got = ctx.driver.run(ctx.reference, c.params, inputs, "cpu")
    assert pack.grader.check(c, inputs, got, want, ctx).ok
    got["grad.weight_hh_l1"] = got["grad.weight_hh_l1"] * (1 + 1e-6)
    result = pack.grader.check(c, inputs, got, want, ctx)
    assert not result.ok and "grad.weight_hh_l1" in result.message


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "one_layer_no_state")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, "x", [want["output"]], {k: v.float() for k, v in want.items()},
                    {k: v[..., :1] for k, v in want.items()}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message
    missing = {k: v for k, v in want.items() if k != "grad.weight_hh_l0"}
    assert "grad.weight_hh_l0" in pack.grader.check(c, inputs, missing, want, ctx).message
    assert "spare" in pack.grader.check(c, inputs, dict(want, spare=want["output"]), want, ctx).message


# --- driver --------------------------------------------------------------------------------

def _contract_error(pack, ctx, lstm_class, name="one_layer_no_state") -> str:
    c = case(pack, name)
    module = type("Submission", (), {} if lstm_class is None else {"LSTM": lstm_class})
    with pytest.raises(Exception) as err:
        ctx.driver.run(module, c.params, pack.grader.make_inputs(c, SEED), "cpu")
    assert type(err.value).__name__ == "ContractError", err.value
    return str(err.value)


def test_driver_wants_nn_lstms_parameters_and_says_which_differ(pack, ctx):
    reference = ctx.reference.LSTM

    class Extra(reference):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.scale = torch.nn.Parameter(torch.ones(1))

    class Renamed(reference):   # nn.LSTM's weights under other names: the state_dict cannot load
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.register_parameter("w_hh0", self.weight_hh_l0)
            del self.weight_hh_l0

    class Transposed(reference):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.weight_hh_l0 = torch.nn.Parameter(self.weight_hh_l0.detach().t().contiguous()[:, :-1])

    assert "['scale'] are not nn.LSTM's" in _contract_error(pack, ctx, Extra)
    renamed = _contract_error(pack, ctx, Renamed)
    assert "['weight_hh_l0'] are missing, ['w_hh0'] are not" in renamed and "\n" not in renamed
    transposed = _contract_error(pack, ctx, Transposed)
    assert "weight_hh_l0" in transposed and "shape" in transposed and "\n" not in transposed
    assert "does not define LSTM" in _contract_error(pack, ctx, None)
    assert "nn.Module" in _contract_error(pack, ctx, lambda *a, **k: object())


def test_driver_wants_the_return_structure_and_differentiable_results(pack, ctx):
    class Flat(ctx.reference.LSTM):
        def forward(self, x, state=None, lengths=None):
            output, (h_n, c_n) = super().forward(x, state, lengths)
            return output, h_n, c_n

    class Constant(ctx.reference.LSTM):
        def forward(self, x, state=None, lengths=None):
            output, (h_n, c_n) = super().forward(x, state, lengths)
            return output.detach(), (h_n.detach(), c_n.detach())

    class Transposed(ctx.reference.LSTM):   # batch first: (B, T, H)
        def forward(self, x, state=None, lengths=None):
            output, final = super().forward(x, state, lengths)
            return output.transpose(0, 1), final

    assert "(output, (h_n, c_n))" in _contract_error(pack, ctx, Flat)
    assert "not differentiable" in _contract_error(pack, ctx, Constant)
    assert "output has shape" in _contract_error(pack, ctx, Transposed)


@pytest.mark.parametrize("name, with_state, with_lengths", [
    ("one_layer_no_state", False, False),
    ("two_layers_with_state", True, False),
    ("lengths_without_state", False, True),
    ("three_layers_lengths_and_state", True, True),
])
def test_driver_passes_the_cases_state_and_lengths_and_none_else(pack, ctx, name, with_state, with_lengths):
    calls = []

    class Recording(ctx.reference.LSTM):
        def forward(self, x, state=None, lengths=None):
            calls.append((state, lengths))
            return super().forward(x, state, lengths)

    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    ctx.driver.run(type("M", (), {"LSTM": Recording}), c.params, dict(inputs), "cpu")
    [(state, lengths)] = calls
    assert (state is not None) == with_state and (lengths is not None) == with_lengths
    if with_state:
        assert torch.equal(state[0], inputs["h0"].to(state[0].dtype)) and state[0].requires_grad
    if with_lengths:
        assert lengths.dtype == torch.int64 and torch.equal(lengths, inputs["lengths"])


def test_driver_runs_the_autocast_case_under_bf16_and_reads_float32(pack, ctx):
    seen = []

    class Recording(ctx.reference.LSTM):
        def forward(self, x, state=None, lengths=None):
            seen.append((torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"), x.dtype))
            output, (h_n, c_n) = super().forward(x, state, lengths)
            return output.bfloat16(), (h_n, c_n)   # the README: whatever dtype, read as float32

    c = case(pack, "bf16_autocast")
    out = ctx.driver.run(type("M", (), {"LSTM": Recording}), c.params, pack.grader.make_inputs(c, SEED), "cpu")
    assert seen == [(True, torch.bfloat16, torch.float32)]
    assert out["output"].dtype == out["c_n"].dtype == out["grad.weight_ih_l0"].dtype == torch.float32


# --- the rules' premise: what torch's recurrent layers run is what the rules forbid -----------

def test_torchs_recurrent_layers_run_ops_the_rules_forbid_however_called(pack):
    from torch.nn.utils.rnn import pack_padded_sequence

    forbidden = set(pack.exercise.rules.forbidden_ops)
    lstm, cell = torch.nn.LSTM(5, 7, 2), torch.nn.LSTMCell(5, 7)
    x = torch.randn(4, 3, 5, requires_grad=True)

    def autocast():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return lstm(x)[0].float().sum()

    calls = {
        "padded": lambda: lstm(x)[0].sum(),
        "packed": lambda: lstm(pack_padded_sequence(x, torch.tensor([4, 1, 3]), enforce_sorted=False))[0].data.sum(),
        "autocast": autocast,
        "cell": lambda: cell(x[0])[0].sum(),
    }
    for label, call in calls.items():
        assert ops_seen(lambda: call().backward()) & forbidden, label
    # the padded tensor on the CPU: the torch function and the fused CPU kernel, both refused
    assert {"lstm", "mkldnn_rnn_layer"} <= ops_seen(lambda: lstm(x)) & forbidden
    assert "lstm_cell" in ops_seen(lambda: cell(x[0])) & forbidden


@pytest.mark.parametrize("source", [
    "from torch import nn\nm = nn.LSTM(3, 4)\n",
    "import torch\nc = torch.nn.LSTMCell(3, 4)\n",
    "from torch.nn.modules.rnn import LSTM\n",
    "import torch\nq = torch.ao.nn.quantizable.LSTM\n",
    "import torch.nn as nn\nclass L(nn.RNNBase):\n    pass\n",
    "import torch\nf = torch._VF.lstm\n",
])
def test_torchs_recurrent_layers_are_rejected_before_they_run(pack, source):
    found = violations(source, pack.exercise.rules)
    assert found and found[0][0] == "forbidden-import", (source, found)


def test_packing_helpers_and_plain_layers_are_fine(pack):
    source = ("import torch\nfrom torch.nn.utils.rnn import pack_padded_sequence\n"
              "lin = torch.nn.Linear(2, 8)\ny = torch.sigmoid(torch.tanh(torch.zeros(3)))\n")
    assert violations(source, pack.exercise.rules) == []


# --- workload -------------------------------------------------------------------------------

def test_workload_counts_both_projections_of_every_layer_and_step(pack):
    p = case(pack, "bench_cpu").params
    work = workload("lstm", p)
    T, B, D, H = p["T"], p["B"], p["D"], p["H"]
    forward = 2 * T * B * (D + H) * 4 * H + 2 * T * B * (H + H) * 4 * H   # layer 0, then layer 1
    assert work.flops == 3.0 * forward and work.bound == "compute"   # backward about twice the forward
    one_layer = workload("lstm", dict(p, L=1))
    assert one_layer.flops == 3.0 * 2 * T * B * (D + H) * 4 * H and one_layer.bytes < work.bytes
    assert math.isfinite(work.intensity)
