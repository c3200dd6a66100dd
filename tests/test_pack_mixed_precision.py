"""Host-side tests of the mixed_precision pack: its inputs, trusted answer, check and driver.

Everything runs in-process on trusted code (our reference and known solutions);
the sandboxed path is covered by the engine's own pack tests.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace

import pytest
import torch

from dlverify.packs.cases import Case

EXERCISE = "mixed_precision"
SEED = 20240611


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_mixed_precision_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_inputs(inputs: dict) -> dict:
    return {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def graded(pack, ctx, module, case: Case, seed: int = SEED):
    """Run one case in-process the way the engine does, minus the sandbox."""
    inputs = pack.grader.make_inputs(case, seed)
    want = pack.grader.expected(case, inputs, ctx)
    outputs = ctx.driver.run(module, case.params, copy_inputs(inputs), "cpu")
    return pack.grader.check(case, inputs, outputs, want, ctx)


# --- make_inputs ---------------------------------------------------------------------------

def test_inputs_follow_the_seed(pack):
    case = by_name(pack, "accum_3_partial_group")
    a, b = pack.grader.make_inputs(case, 1), pack.grader.make_inputs(case, 1)
    c = pack.grader.make_inputs(case, 2)
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["xs"], c["xs"])
    p = case.params
    assert a["xs"].shape == (p["n_batches"], p["batch"], p["d"]) and a["xs"].dtype == torch.float32
    assert a["ys"].shape == (p["n_batches"], p["batch"]) and a["ys"].dtype == torch.int64
    assert int(a["ys"].min()) >= 0 and int(a["ys"].max()) < p["classes"]
    assert a["fc1.weight"].shape == (p["hidden"], p["d"])
    assert torch.isfinite(a["xs"]).all()


def test_one_inf_lands_in_the_named_batch(pack):
    case = by_name(pack, "nonfinite_step_skipped")
    xs = pack.grader.make_inputs(case, SEED)["xs"]
    bad = case.params["nonfinite_batch"]
    assert int(torch.isinf(xs[bad]).sum()) == 1
    assert torch.isfinite(torch.cat([xs[:bad], xs[bad + 1:]])).all()


# --- expected ------------------------------------------------------------------------------

def test_expected_is_reproducible_and_leaves_inputs_alone(pack, ctx):
    case = by_name(pack, "clip_after_unscale")
    inputs = pack.grader.make_inputs(case, SEED)
    before = copy_inputs(inputs)
    first = pack.grader.expected(case, inputs, ctx)
    second = pack.grader.expected(case, inputs, ctx)
    assert all(torch.equal(inputs[k], before[k]) for k in inputs)
    assert first.keys() == second.keys()
    for key in first:
        if isinstance(first[key], torch.Tensor):
            assert torch.equal(first[key], second[key]), key
        else:
            assert first[key] == second[key]
    assert first["losses"].dtype == torch.float64 and first["losses"].shape == (3,)
    assert first["param.fc1.weight"].dtype == torch.float32
    assert not torch.equal(first["param.fc1.weight"], inputs["fc1.weight"].reshape(-1))  # it trained


def test_expected_skips_the_group_holding_the_inf(pack, ctx):
    """A skipped step leaves parameters and optimizer state alone: the same run with
    that group's micro-batches left out ends at the same parameters."""
    case = by_name(pack, "nonfinite_step_skipped")
    accum, bad = case.params["accum_steps"], case.params["nonfinite_batch"]
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    group = bad // accum
    losses = want["losses"]
    assert math.isnan(float(losses[group]))
    assert torch.isfinite(torch.cat([losses[:group], losses[group + 1:]])).all()
    assert want["scaler_scale"] == case.params["init_scale"] / 2

    keep = [i for i in range(case.params["n_batches"]) if i // accum != group]
    without = dict(copy_inputs(inputs), xs=inputs["xs"][keep].clone(), ys=inputs["ys"][keep].clone())
    params = {k: v for k, v in case.params.items() if k != "nonfinite_batch"}
    clean = ctx.driver.run(ctx.reference, params, without, "cpu")
    for key in want:
        if key.startswith("param."):
            assert torch.equal(want[key], clean[key]), key


def test_expected_partial_group_is_the_mean_gradient_of_what_it_holds(pack, ctx, driver):
    """Independent of the reference's bookkeeping: accumulating 3, 3 and 1 micro-batches
    matches one step each on their concatenation, to bf16 precision, while a last group
    divided by 3 instead of 1 lands clearly elsewhere."""
    torch.manual_seed(0)
    d, hidden, classes = 16, 32, 8
    state = {"fc1.weight": torch.randn(hidden, d) / 4, "fc1.bias": torch.randn(hidden) * 0.1,
             "fc2.weight": torch.randn(classes, hidden) / 6, "fc2.bias": torch.randn(classes) * 0.1}
    xs, ys = torch.randn(7, 8, d), torch.randint(classes, (7, 8))
    params = {"optimizer": "sgd", "lr": 0.5, "momentum": 0.9}

    def train(module, batches, accum):
        model = driver.build_model(state, "cpu")
        opt = driver.build_optimizer(model, params)
        module.train_mixed_precision(model, opt, batches, torch.nn.functional.cross_entropy,
                                     device_type="cpu", dtype=torch.bfloat16, accum_steps=accum)
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    micro = [(xs[i], ys[i]) for i in range(7)]
    # (3, 8, d) -> (24, d): one batch holding a whole group
    concat = [(xs[a:b].reshape(-1, d), ys[a:b].reshape(-1)) for a, b in ((0, 3), (3, 6), (6, 7))]
    whole = train(ctx.reference, concat, 1)
    assert torch.allclose(train(ctx.reference, micro, 3), whole, atol=2e-3, rtol=2e-2)
    wrong = next(p for p in pack.solutions("wrong") if p.stem == "partial_group_divided_by_accum_steps")
    assert not torch.allclose(train(load_solution(wrong), micro, 3), whole, atol=2e-3, rtol=2e-2)


# --- check ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scaled_run(pack, ctx):
    case = by_name(pack, "clip_after_unscale")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    outputs = ctx.driver.run(ctx.reference, case.params, copy_inputs(inputs), "cpu")
    return case, inputs, outputs, want


def recheck(pack, ctx, scaled_run, **changes):
    case, inputs, outputs, want = scaled_run
    return pack.grader.check(case, inputs, dict(outputs, **changes), want, ctx)


def test_check_passes_the_reference_and_small_noise(pack, ctx, scaled_run):
    assert recheck(pack, ctx, scaled_run).ok
    _, _, outputs, _ = scaled_run
    # 2e-6 relative is far inside 1e-5: equivalent reorderings must not fail.
    nudged = outputs["param.fc2.weight"] * (1 + 2e-6)
    assert recheck(pack, ctx, scaled_run, **{"param.fc2.weight": nudged}).ok


def test_check_is_wider_on_a_gpu(pack, scaled_run):
    """The tolerance follows the device: noise a cuBLAS build could add passes there, not here."""
    case, inputs, outputs, want = scaled_run
    nudged = dict(outputs, **{"param.fc1.weight": outputs["param.fc1.weight"] + 5e-5})
    assert not pack.grader.check(case, inputs, nudged, want, pack.context("cpu")).ok
    assert pack.grader.check(case, inputs, nudged, want, pack.context("cuda")).ok


def test_check_fails_a_wrong_loss(pack, ctx, scaled_run):
    losses = scaled_run[2]["losses"].clone()
    losses[-1] += 1e-3
    result = recheck(pack, ctx, scaled_run, losses=losses)
    assert not result.ok and "losses" in result.message


def test_check_fails_a_nan_loss_where_the_reference_is_finite(pack, ctx, scaled_run):
    losses = scaled_run[2]["losses"].clone()
    losses[0] = float("nan")
    result = recheck(pack, ctx, scaled_run, losses=losses)
    assert not result.ok and "NaN" in result.message


def test_check_fails_losses_of_the_wrong_dtype_or_length(pack, ctx, scaled_run):
    losses = scaled_run[2]["losses"]
    assert not recheck(pack, ctx, scaled_run, losses=losses.float()).ok
    assert not recheck(pack, ctx, scaled_run, losses=losses[:-1]).ok
    assert not recheck(pack, ctx, scaled_run, losses=losses.tolist()).ok


def test_check_fails_one_wrong_parameter_element(pack, ctx, scaled_run):
    bias = scaled_run[2]["param.fc1.bias"].clone()
    bias[5] += 1e-3
    result = recheck(pack, ctx, scaled_run, **{"param.fc1.bias": bias})
    assert not result.ok and "fc1.bias" in result.message


def test_check_says_parameters_must_stay_float32(pack, ctx, scaled_run):
    low = scaled_run[2]["param.fc1.weight"].bfloat16()
    result = recheck(pack, ctx, scaled_run, **{"param.fc1.weight": low})
    assert not result.ok and "float32" in result.message and "fc1.weight" in result.message


def test_check_wants_the_exact_scale(pack, ctx, scaled_run):
    scale = scaled_run[2]["scaler_scale"]
    assert not recheck(pack, ctx, scaled_run, scaler_scale=scale / 2).ok
    assert not recheck(pack, ctx, scaled_run, scaler_scale=torch.tensor(scale)).ok


def test_check_fails_missing_outputs(pack, ctx, scaled_run):
    case, inputs, outputs, want = scaled_run
    partial = {k: v for k, v in outputs.items() if k != "scaler_scale"}
    result = pack.grader.check(case, inputs, partial, want, ctx)
    assert not result.ok and "scaler_scale" in result.message
    assert not pack.grader.check(case, inputs, [1.0], want, ctx).ok


# --- driver --------------------------------------------------------------------------------

class Recorder:
    """A stand-in submission: records how it was called and returns what it is told."""

    def __init__(self, result):
        self.result, self.calls = result, []

    def train_mixed_precision(self, model, optimizer, batches, loss_fn, **kwargs):
        self.calls.append((model, optimizer, batches, loss_fn, kwargs))
        return self.result(len(batches), kwargs) if callable(self.result) else self.result


def test_driver_passes_only_the_keywords_a_case_sets(pack, driver):
    def steps(n, kw):
        return [1.0] * math.ceil(n / kw.get("accum_steps", 1))

    plain, scaled = by_name(pack, "plain_bf16"), by_name(pack, "clip_after_unscale")
    sub = Recorder(steps)
    driver.run(sub, plain.params, pack.grader.make_inputs(plain, SEED), "cpu")
    driver.run(sub, scaled.params, pack.grader.make_inputs(scaled, SEED), "cpu")
    (model, opt, batches, loss_fn, kw_plain), (_, _, _, _, kw_scaled) = sub.calls
    assert kw_plain == {"device_type": "cpu", "dtype": torch.bfloat16}
    assert set(kw_scaled) == {"device_type", "dtype", "accum_steps", "max_grad_norm", "scaler"}
    assert isinstance(kw_scaled["scaler"], torch.amp.GradScaler)
    assert kw_scaled["scaler"].get_scale() == scaled.params["init_scale"]
    assert isinstance(opt, torch.optim.SGD) and loss_fn is torch.nn.functional.cross_entropy
    assert isinstance(batches, list) and len(batches) == plain.params["n_batches"]
    assert all(p.dtype == torch.float32 for p in model.parameters())


@pytest.mark.parametrize("result, needle", [
    ((1.0,) * 6, "list of floats"),
    ([1.0] * 5, "returned 5 losses"),
    ([torch.tensor(1.0)] * 6, "Tensor"),
    ([1] * 6, "int"),
])
def test_driver_rejects_a_broken_return(pack, driver, result, needle):
    case = by_name(pack, "plain_bf16")
    with pytest.raises(Exception) as err:
        driver.run(Recorder(result), case.params, pack.grader.make_inputs(case, SEED), "cpu")
    assert type(err.value).__name__ == "ContractError" and needle in str(err.value)


def test_driver_rejects_a_missing_entry_point(pack, driver):
    case = by_name(pack, "plain_bf16")
    with pytest.raises(Exception) as err:
        driver.run(object(), case.params, pack.grader.make_inputs(case, SEED), "cpu")
    assert type(err.value).__name__ == "ContractError"


def test_driver_samples_big_models(pack, driver, ctx):
    case = replace(by_name(pack, "plain_bf16"), params=dict(by_name(pack, "plain_bf16").params, param_samples=40))
    inputs = pack.grader.make_inputs(case, SEED)
    out = driver.run(ctx.reference, case.params, copy_inputs(inputs), "cpu")
    assert out["param.fc1.weight"].shape == (40,)
    assert out["param.fc2.bias"].shape == (40,)


def test_bench_call_times_the_loop_alone_and_collects_what_run_returns(pack, ctx, driver):
    case = by_name(pack, "bench_cpu")
    inputs = pack.grader.make_inputs(case, SEED)
    calls = []

    class Counting:
        @staticmethod
        def train_mixed_precision(*args, **kwargs):
            calls.append(1)
            return ctx.reference.train_mixed_precision(*args, **kwargs)

    call, collect = driver.bench_call(Counting, case.params, copy_inputs(inputs), "cpu")
    assert calls == []  # building the run calls nothing of the candidate's
    outputs = collect(call())
    assert calls == [1]
    assert pack.grader.check(case, inputs, outputs, pack.grader.expected(case, inputs, ctx), ctx).ok


# --- known solutions, in-process, on the case built to catch each ---------------------------

CATCHES = {
    "no_accum_division": "accum_2",
    "clip_before_unscale": "clip_after_unscale",
    "no_zero_grad": "plain_bf16",
    "drop_partial_group": "accum_3_partial_group",
    "partial_group_divided_by_accum_steps": "accum_3_partial_group",
    "forward_outside_autocast": "plain_bf16",
    "loss_outside_autocast": "plain_bf16",
    "autocast_spans_whole_loop": "plain_bf16",
    "model_cast_to_low_precision": "plain_bf16",
    "step_bypasses_scaler": "nonfinite_step_skipped",
    "per_microbatch_losses": "accum_2",
}


def test_every_known_bad_solution_has_a_catching_case(pack):
    assert sorted(p.stem for p in pack.solutions("wrong")) == sorted(CATCHES)


@pytest.mark.parametrize("stem", sorted(CATCHES))
def test_known_bad_solution_fails_its_case(pack, ctx, stem):
    path = next(p for p in pack.solutions("wrong") if p.stem == stem)
    module = load_solution(path)
    case = by_name(pack, CATCHES[stem])
    try:
        result = graded(pack, ctx, module, case)
    except Exception as exc:  # a ContractError or the solution's own error: a failed case
        assert type(exc).__name__ == "ContractError", exc
        return
    assert not result.ok
    # ...and the same case passes the reference, so the case is what tells them apart.
    assert graded(pack, ctx, ctx.reference, case).ok


def test_known_good_solutions_pass_every_cpu_check_case(pack, ctx):
    modules = {path.name: load_solution(path) for path in pack.solutions("correct")}
    assert len(modules) >= 2
    for case in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(case, SEED)
        want = pack.grader.expected(case, inputs, ctx)
        for name, module in modules.items():
            outputs = ctx.driver.run(module, case.params, copy_inputs(inputs), "cpu")
            result = pack.grader.check(case, inputs, outputs, want, ctx)
            assert result.ok, f"{name} / {case.name}: {result.message}"
