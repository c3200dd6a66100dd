"""Host-side tests of the backprop_mlp pack: its inputs, trusted answer, check and driver.

Everything runs in-process on trusted code (our reference and known solutions);
the sandboxed path is covered by the engine's own pack tests.
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

from dlverify import paths
from dlverify.packs import registry
from dlverify.packs.cases import Case
from dlverify.packs.loading import load_pack
from dlverify.packs.validate import WRONG_LINE

EXERCISE = "backprop_mlp"


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_backprop_mlp_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def loss_only(inputs: dict, n_layers: int) -> float:
    """An independent loss: np.logaddexp.reduce instead of a shifted exp."""
    h = inputs["x"]
    for i in range(1, n_layers + 1):
        h = h @ inputs[f"W{i}"] + inputs[f"b{i}"]
        if i < n_layers:
            h = np.maximum(h, 0.0)
    y = inputs["y"]
    return float(np.mean(np.logaddexp.reduce(h, axis=1) - h[np.arange(len(y)), y]))


# --- make_inputs -------------------------------------------------------------------------------


def test_inputs_have_contract_shapes_and_dtypes(pack):
    for case in pack.cases:
        inputs = pack.grader.make_inputs(case, 123)
        widths, n = case.params["widths"], case.params["N"]
        n_layers = len(widths) - 1
        assert set(inputs) == {*pack.grader.param_keys(n_layers), "x", "y"}
        for i in range(1, n_layers + 1):
            assert inputs[f"W{i}"].shape == (widths[i - 1], widths[i])
            assert inputs[f"b{i}"].shape == (widths[i],)
            assert inputs[f"W{i}"].dtype == np.float64 and inputs[f"b{i}"].dtype == np.float64
        assert inputs["x"].shape == (n, widths[0]) and inputs["x"].dtype == np.float64
        assert inputs["y"].shape == (n,) and inputs["y"].dtype == np.int64
        assert 0 <= inputs["y"].min() and inputs["y"].max() < widths[-1]


def test_inputs_follow_the_seed(pack):
    case = by_name(pack, "odd_widths")
    a, b, c = (pack.grader.make_inputs(case, s) for s in (5, 5, 6))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["W1"], c["W1"])


def test_dead_units_have_exactly_zero_preactivations(pack):
    case = by_name(pack, "dead_units_exact_zero")
    for seed in range(5):
        inputs = pack.grader.make_inputs(case, seed)
        zs = pack.grader._forward(inputs, inputs["x"], len(case.params["widths"]) - 1)
        for z in zs[:-1]:  # every hidden layer has units that are 0 for every sample
            assert (z == 0.0).all(axis=0).any()


def test_zero_rows_give_exactly_zero_first_layer(pack):
    case = by_name(pack, "zero_input_rows")
    inputs = pack.grader.make_inputs(case, 0)
    z1 = pack.grader._forward(inputs, inputs["x"], len(case.params["widths"]) - 1)[0]
    assert (z1 == 0.0).all(axis=1).any()


def test_large_logits_overflow_a_naive_exp(pack):
    case = by_name(pack, "large_logits")
    inputs = pack.grader.make_inputs(case, 0)
    logits = pack.grader._forward(inputs, inputs["x"], len(case.params["widths"]) - 1)[-1]
    assert np.abs(logits).max() > 1000.0
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.exp(logits)).all()


def test_same_label_case_has_one_class(pack):
    inputs = pack.grader.make_inputs(by_name(pack, "all_labels_same_class"), 0)
    assert len(np.unique(inputs["y"])) == 1


# --- expected ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["softmax_regression", "batch_of_one", "odd_widths", "deep_four_layers",
                                  "one_unit_bottleneck"])
def test_expected_matches_finite_differences(pack, ctx, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, 42)
    n_layers = len(case.params["widths"]) - 1
    want = pack.grader.expected(case, inputs, ctx)
    assert float(want["loss"]) == pytest.approx(loss_only(inputs, n_layers), rel=1e-12)
    eps = 1e-6
    rng = np.random.default_rng(0)
    for key in pack.grader.param_keys(n_layers):
        grad = want[f"grad_{key}"]
        assert grad.shape == inputs[key].shape and grad.dtype == np.float64
        # A few entries per parameter, central differences (O(eps^2) error away from ReLU kinks).
        for flat in rng.choice(grad.size, size=min(grad.size, 6), replace=False):
            idx = np.unravel_index(flat, grad.shape)
            plus = {k: v.copy() for k, v in inputs.items()}
            minus = {k: v.copy() for k, v in inputs.items()}
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric = (loss_only(plus, n_layers) - loss_only(minus, n_layers)) / (2 * eps)
            assert grad[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (key, idx)


def test_expected_is_finite_and_exact_at_large_logits(pack, ctx):
    case = by_name(pack, "large_logits")
    inputs = pack.grader.make_inputs(case, 1)
    want = pack.grader.expected(case, inputs, ctx)
    assert all(np.isfinite(v).all() for v in want.values())
    assert float(want["loss"]) > 100.0
    assert float(want["loss"]) == pytest.approx(loss_only(inputs, 2), rel=1e-12)


def test_expected_relu_derivative_is_zero_at_zero(pack, ctx):
    # A dead unit (weight column and bias 0) can get no gradient through it.
    case = by_name(pack, "dead_units_exact_zero")
    inputs = pack.grader.make_inputs(case, 3)
    want = pack.grader.expected(case, inputs, ctx)
    dead = np.flatnonzero((inputs["W1"] == 0.0).all(axis=0) & (inputs["b1"] == 0.0))
    assert dead.size > 0
    assert (want["grad_W1"][:, dead] == 0.0).all() and (want["grad_b1"][dead] == 0.0).all()


def test_expected_outputs_are_float64_arrays(pack, ctx):
    case = by_name(pack, "deep_four_layers")
    want = pack.grader.expected(case, pack.grader.make_inputs(case, 0), ctx)
    assert list(want) == pack.grader.output_keys(4)
    assert want["loss"].shape == () and all(type(v) is np.ndarray and v.dtype == np.float64 for v in want.values())


# --- check -------------------------------------------------------------------------------------


@pytest.fixture()
def deep(pack, ctx):
    case = by_name(pack, "deep_four_layers")
    inputs = pack.grader.make_inputs(case, 7)
    want = pack.grader.expected(case, inputs, ctx)
    return case, inputs, want


def run_check(pack, ctx, deep, outputs):
    case, inputs, want = deep
    return pack.grader.check(case, inputs, outputs, want, ctx)


def test_check_accepts_the_answer(pack, ctx, deep):
    outputs = {k: v.copy() for k, v in deep[2].items()}
    assert run_check(pack, ctx, deep, outputs).ok


def test_check_flags_a_perturbed_gradient(pack, ctx, deep):
    outputs = {k: v.copy() for k, v in deep[2].items()}
    outputs["grad_W3"][1, 2] += 1e-6
    result = run_check(pack, ctx, deep, outputs)
    assert not result.ok and "grad_W3" in result.message


def test_check_flags_a_float32_rounding_of_the_gradients(pack, ctx, deep):
    outputs = {k: v.astype(np.float32).astype(np.float64) for k, v in deep[2].items()}
    assert not run_check(pack, ctx, deep, outputs).ok


def test_check_flags_a_wrong_loss(pack, ctx, deep):
    outputs = {k: v.copy() for k, v in deep[2].items()}
    outputs["loss"] = outputs["loss"] * (1 + 1e-5)
    result = run_check(pack, ctx, deep, outputs)
    assert not result.ok and "loss" in result.message


@pytest.mark.parametrize("mutate, words", [
    (lambda o: o.update(grad_b2=o["grad_b2"].astype(np.float32)), "dtype"),
    (lambda o: o.update(loss=o["loss"].astype(np.float32)), "dtype"),
    (lambda o: o.update(grad_W1=o["grad_W1"].T.copy()), "shape"),
    (lambda o: o.update(grad_b1=o["grad_b1"][None, :]), "shape"),
    (lambda o: o.pop("grad_W4"), "missing"),
    (lambda o: o.update(grad_W5=np.zeros(3)), "unexpected"),
    (lambda o: o.update(loss=float(o["loss"])), "expected a numpy.ndarray"),
    (lambda o: o.update(grad_W2=o["grad_W2"].tolist()), "expected a numpy.ndarray"),
    (lambda o: o["grad_W2"].__setitem__((0, 0), np.nan), "NaN"),
])
def test_check_flags_contract_breaks(pack, ctx, deep, mutate, words):
    outputs = {k: v.copy() for k, v in deep[2].items()}
    mutate(outputs)
    result = run_check(pack, ctx, deep, outputs)
    assert not result.ok and words in result.message


# --- driver ------------------------------------------------------------------------------------


def fake(fn):
    return type("Submission", (), {"mlp_loss_and_grads": staticmethod(fn)})


def test_driver_rebuilds_params_and_returns_flat_float64(pack, driver, deep):
    case, inputs, want = deep
    seen = {}

    def spy(params, x, y):
        seen.update(keys=list(params), x=x, y=y)
        return 1.5, {k: np.zeros_like(v) for k, v in params.items()}

    out = driver.run(fake(spy), case.params, inputs, "cpu")
    assert seen["keys"] == pack.grader.param_keys(4)
    assert seen["x"] is inputs["x"] and seen["y"] is inputs["y"]
    assert set(out) == set(want)
    assert type(out["loss"]) is np.ndarray and out["loss"].shape == () and out["loss"].dtype == np.float64


def test_driver_keeps_a_float32_loss_for_the_host_to_reject(pack, ctx, driver, deep):
    case, inputs, want = deep
    sub = fake(lambda p, x, y: (np.float32(1.0), {k: np.zeros_like(v) for k, v in p.items()}))
    out = driver.run(sub, case.params, inputs, "cpu")
    assert out["loss"].dtype == np.float32
    assert "dtype float32" in pack.grader.check(case, inputs, out, want, ctx).message


@pytest.mark.parametrize("returns", [
    lambda p: [0.0, {k: np.zeros_like(v) for k, v in p.items()}],                   # list, not tuple
    lambda p: (0.0, {k: np.zeros_like(v) for k, v in p.items()}, None),             # 3-tuple
    lambda p: (1, {k: np.zeros_like(v) for k, v in p.items()}),                     # int loss
    lambda p: (np.zeros(1), {k: np.zeros_like(v) for k, v in p.items()}),           # (1,) loss
    lambda p: (0.0, [np.zeros_like(v) for v in p.values()]),                        # list of grads
    lambda p: (0.0, {k: np.zeros_like(v) for k, v in p.items() if k != "b3"}),      # missing key
    lambda p: (0.0, {**{k: np.zeros_like(v) for k, v in p.items()}, "W0": 0}),      # extra key
    lambda p: (0.0, {k: np.zeros_like(v).T for k, v in p.items()}),                 # transposed
    lambda p: (0.0, {k: np.zeros_like(v).tolist() for k, v in p.items()}),          # lists
])
def test_driver_raises_contract_error(driver, deep, returns):
    case, inputs, _ = deep
    with pytest.raises(driver.ContractError):
        driver.run(fake(lambda p, x, y: returns(p)), case.params, inputs, "cpu")


def test_driver_needs_the_entry_point(driver, deep):
    case, inputs, _ = deep
    with pytest.raises(driver.ContractError, match="mlp_loss_and_grads"):
        driver.run(type("Empty", (), {}), case.params, inputs, "cpu")


def test_driver_imports_numpy_only(driver):
    source = (paths.sandbox_dir() / "drivers" / f"{EXERCISE}.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"re", "numpy", "contract"}


# --- known solutions, in-process (they are ours: no sandbox needed) -----------------------------


def grade_in_process(pack, ctx, driver, path, secret_seed: int) -> list[str]:
    module = load_solution(path)
    failures = []
    for case in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(case, secret_seed + case.seed)
        want = pack.grader.expected(case, inputs, ctx)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # naive exp overflow warns
                outputs = driver.run(module, case.params, {k: v.copy() for k, v in inputs.items()}, "cpu")
        except Exception as exc:  # noqa: BLE001 - a wrong solution may raise anything
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        result = pack.grader.check(case, inputs, outputs, want, ctx)
        if not result.ok:
            failures.append(f"{case.name}: {result.message}")
    return failures


def known(kind):
    """Our known solutions. The hostile attack_*.py files in wrong/ are not ours to
    run in-process: they are meant for the sandbox only (tests/test_hostile.py)."""
    pk = load_pack(registry.get_exercise(EXERCISE))
    paths_ = [pk.reference_path] if kind == "correct" else []
    return paths_ + [p for p in pk.solutions(kind) if not p.name.startswith("attack_")]


@pytest.mark.parametrize("path", known("correct"), ids=lambda p: p.name)
def test_correct_solutions_pass(pack, ctx, driver, path):
    assert grade_in_process(pack, ctx, driver, path, 1000) == []


@pytest.mark.parametrize("path", known("wrong"), ids=lambda p: p.name)
def test_wrong_solutions_fail_as_labelled(pack, ctx, driver, path):
    label = WRONG_LINE.match(path.read_text().splitlines()[0])
    assert label, "first line must be '# WRONG(<status>): <what>'"
    if label["status"] != "failed":
        pytest.skip(f"{label['status']} comes from the sandbox's rules, not from the check")
    assert grade_in_process(pack, ctx, driver, path, 2000) != []


def test_starter_fails(pack, ctx, driver):
    failures = grade_in_process(pack, ctx, driver, pack.exercise.starter, 3000)
    assert len(failures) == len(pack.check_cases("cpu"))
    assert all("NotImplementedError" in f for f in failures)


def test_cases_and_tolerance_are_sane(pack):
    names = [c.name for c in pack.cases]
    assert len(names) == len(set(names))
    assert [c.kind for c in pack.cases].count("bench") == 1
    assert all(c.devices == ("cpu",) for c in pack.cases)
    rows = {c.params.get("tolerance", "float64") for c in pack.cases}
    assert rows == set(pack.tolerances) == {"float64", "float64_large_logits"}
    # Only the 1e4-logit cases get the looser row.
    assert all(("logit_scale" in c.params) == (c.params.get("tolerance") == "float64_large_logits")
               for c in pack.cases)
