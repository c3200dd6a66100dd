"""Host-side tests of the quantize pack: its inputs, trusted answer, check and driver.

Everything runs in-process on trusted code (our reference and known solutions);
the sandboxed path is covered by tests/test_packs.py (`dlverify validate`).
The oracles here are independent of grader.py: Python floats and ints element
by element, and PyTorch's own quantisation and pruning where they apply.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest

from dlverify import paths
from dlverify.packs import registry
from dlverify.packs.cases import Case
from dlverify.gpu.workload import workload
from dlverify.packs.loading import load_pack
from dlverify.screening.static_rules import violations
from dlverify.packs.validate import WRONG_LINE

EXERCISE = "quantize"


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def of_op(pack, op: str) -> list[Case]:
    return [c for c in pack.cases if c.params["op"] == op and c.kind != "bench"]


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_quantize_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def half_fraction(v: np.ndarray) -> float:
    """The share of values exactly half-way between two integers."""
    return float(np.mean(v - np.floor(v) == 0.5))


# --- an obviously-right oracle: Python floats and ints, one element at a time, from the README ---


def rhe(v: float) -> int:
    """round half to even, written out (Python's round() is the same rule; this does not rely on it)."""
    down = math.floor(v)
    rest = v - down
    return down + 1 if rest > 0.5 or (rest == 0.5 and down % 2) else down


def clip(v, lo, hi):
    return min(max(v, lo), hi)


def oracle_weights(w):
    qw, scale = [], []
    for row in w.tolist():
        peak = max(abs(v) for v in row)
        s = peak / 127 if peak else 1.0
        scale.append(s)
        qw.append([clip(rhe(v / s), -127, 127) for v in row])
    return np.array(qw), np.array(scale)


def oracle_calibrate(calib):
    values = calib.ravel().tolist()
    lo, hi = min(min(values), 0.0), max(max(values), 0.0)
    s = (hi - lo) / 255 if hi != lo else 1.0
    return s, clip(-128 - rhe(lo / s), -128, 127)


def oracle_quantize(x, s, zp):
    return np.array([[clip(rhe(v / s) + zp, -128, 127) for v in row] for row in x.tolist()])


def oracle_matmul(qx, zp, qw):
    return np.array([[sum((a - zp) * b for a, b in zip(xr, wr)) for wr in qw.tolist()] for xr in qx.tolist()])


def oracle_requant(acc, xs, ws, os_, ozp):
    mult = [(xs * s) / os_ for s in ws.tolist()]
    return np.array([[clip(rhe(mult[n] * a) + ozp, -128, 127) for n, a in enumerate(row)] for row in acc.tolist()])


def oracle_magnitude(w, sparsity):
    flat = [abs(v) for v in w.ravel().tolist()]
    keep = len(flat) - rhe(sparsity * len(flat))
    kept = set(sorted(range(len(flat)), key=lambda i: (-flat[i], i))[:keep])
    return np.array([i in kept for i in range(len(flat))]).reshape(w.shape)


def oracle_2_4(w):
    mask = np.zeros(w.shape, dtype=bool)
    for r, row in enumerate(w.tolist()):
        for g in range(0, len(row), 4):
            for i in sorted(range(g, g + 4), key=lambda i: (-abs(row[i]), i))[:2]:
                mask[r, i] = True
    return mask


def test_the_oracles_rounding_is_the_readmes():
    table = {0.5: 0, 1.5: 2, 2.5: 2, -0.5: 0, -1.5: -2, -2.5: -2, 2.4999999999999996: 2, -3.5: -4, 126.5: 126}
    assert {v: rhe(v) for v in table} == table
    # and the README's float facts
    assert 0.29 * 100 == 28.999999999999996 and rhe(0.29 * 100) == 29
    assert 601 * 255 * 127 == 19463385 > 2**24 and 66000 * 255 * 127 < 2**31


# --- make_inputs -------------------------------------------------------------------------------


def test_inputs_have_contract_types(pack):
    for case in pack.cases:
        inputs = pack.grader.make_inputs(case, 123)
        for key, value in inputs.items():
            if key in ("x_zero_point", "out_zero_point"):
                assert type(value) is int and -128 <= value <= 127, (case.name, key)
            elif key in ("x_scale", "out_scale", "sparsity"):
                assert type(value) is float, (case.name, key)
            else:
                assert type(value) is np.ndarray, (case.name, key)
                want = {"qx": np.int8, "qw": np.int8, "acc": np.int32}.get(key, np.float64)
                assert value.dtype == want, (case.name, key, value.dtype)
        p = case.params
        if p["op"] in ("prune", "sparse24", "sparse24_bad"):
            assert inputs["w"].shape == tuple(p["shape"])
        if p["op"] == "linear":
            assert inputs["w"].shape == (p["N"], p["K"]) and inputs["x"].shape == (p["M"], p["K"])


def test_inputs_follow_the_seed(pack):
    for case in (by_name(pack, "linear_layer"), by_name(pack, "weights_half_way_ties")):
        a, b, c = (pack.grader.make_inputs(case, s) for s in (5, 5, 6))
        assert all(np.array_equal(a[k], b[k]) for k in a)
        assert not np.array_equal(a["w"], c["w"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tie_cases_really_sit_half_way(pack, seed):
    g = pack.grader
    w = g.make_inputs(by_name(pack, "weights_half_way_ties"), seed)["w"]
    _, scale = oracle_weights(w)
    assert half_fraction(w / scale[:, None]) > 0.4
    assert np.all(np.log2(scale) == np.round(np.log2(scale)))          # powers of two: exact quotients
    for name in ("activations_ties_zero_point_even", "activations_ties_zero_point_odd"):
        case = by_name(pack, name)
        inputs = g.make_inputs(case, seed)
        s, zp = oracle_calibrate(inputs["calib"])
        lo = min(inputs["calib"].min(), 0.0)
        assert s == 1 / 64 and lo / s == -case.params["zp_tie"]          # the zero point's own tie
        assert half_fraction(inputs["x"] / s) > 0.5
    r = g.make_inputs(by_name(pack, "requant_half_way_ties"), seed)
    mult = r["x_scale"] * r["w_scale"] / r["out_scale"]
    assert half_fraction(mult[None, :] * r["acc"]) > 0.5 and len(set(mult.tolist())) == 3


def test_the_cases_hold_the_edges_the_readme_names(pack):
    g = pack.grader
    w = g.make_inputs(by_name(pack, "weights_zero_and_negative_channels"), 0)["w"]
    assert (np.abs(w).max(axis=1) == 0).sum() >= 2
    assert any(row.max() < -row.min() and (row > 0).sum() == 0 for row in w)   # a negative peak, nothing positive
    peaks = np.abs(g.make_inputs(by_name(pack, "weights_per_channel_magnitudes"), 0)["w"]).max(axis=1)
    assert peaks.max() / peaks.min() > 30
    ex = g.make_inputs(by_name(pack, "matmul_extremes_past_int16_and_float32"), 0)
    acc = oracle_matmul(ex["qx"], ex["x_zero_point"], ex["qw"])
    assert np.abs(acc).max() == 19463385 and np.abs(acc).max() < 2**31
    for name, positive in (("activations_all_positive", True), ("activations_all_negative", False)):
        calib = g.make_inputs(by_name(pack, name), 0)["calib"]
        assert (calib.min() > 0) if positive else (calib.max() < 0)
    assert np.ptp(g.make_inputs(by_name(pack, "activations_constant_calibration"), 0)["calib"]) == 0
    assert not g.make_inputs(by_name(pack, "activations_all_zero_calibration"), 0)["calib"].any()
    for case in of_op(pack, "linear"):
        want = g.expected(case, g.make_inputs(case, 0), pack.context("cpu"))
        assert (want["y"] == -128).any() and (want["y"] == 127).any() or case.params.get("zero_row")
        assert (want["qx"] == 127).any()                                  # x past the calibrated range
    assert (by_name(pack, "prune_count_rounds_half_to_even").params["sparsity"] * 18) % 1 == 0.5
    assert by_name(pack, "sparse24_refuse_k_not_multiple_of_4").params["shape"][1] % 4


# --- expected ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_expected_matches_the_scalar_oracle_on_every_case(pack, ctx, seed):
    for case in pack.check_cases("cpu"):
        i = pack.grader.make_inputs(case, seed)
        want = pack.grader.expected(case, i, ctx)
        op = case.params["op"]
        got = {}
        if op in ("weights", "linear"):
            got["qw"], got["w_scale"] = oracle_weights(i["w"])
        if op in ("activations", "linear"):
            s, zp = oracle_calibrate(i["calib"])
            got["x_scale"], got["x_zero_point"], got["qx"] = s, zp, oracle_quantize(i["x"], s, zp)
        if op == "linear":
            got["acc"] = oracle_matmul(got["qx"], zp, got["qw"])
            got["y"] = oracle_requant(got["acc"], s, got["w_scale"], i["out_scale"], i["out_zero_point"])
        if op == "matmul":
            got["acc"] = oracle_matmul(i["qx"], i["x_zero_point"], i["qw"])
        if op == "requant":
            got["y"] = oracle_requant(i["acc"], i["x_scale"], i["w_scale"], i["out_scale"], i["out_zero_point"])
        if op == "prune":
            got["mask"] = oracle_magnitude(i["w"], i["sparsity"])
        if op == "sparse24":
            got["mask"] = oracle_2_4(i["w"])
        for key, value in got.items():
            assert np.array_equal(want[key], value), (case.name, key)
        dtypes = {"qw": np.int8, "qx": np.int8, "y": np.int8, "acc": np.int32, "mask": np.bool_,
                  "w_scale": np.float64, "x_scale": np.float64, "x_zero_point": np.int64, "refused": np.int64}
        assert all(want[k].dtype == dtypes[k] for k in want), case.name


def test_expected_agrees_with_torch_where_torch_is_exact(pack, ctx):
    """The premise of "round half to even" and of the formulas: PyTorch's own quantisers, observer and
    pruning give the same integers, on inputs float32 holds exactly (power-of-two scales)."""
    import torch
    from torch.ao.quantization.observer import MinMaxObserver
    from torch.nn.utils import prune

    g = pack.grader
    case = by_name(pack, "weights_half_way_ties")
    w = g.make_inputs(case, 7)["w"]
    want = g.expected(case, {"w": w}, ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                     # quantized tensors are deprecated in torch
        t = torch.quantize_per_channel(torch.from_numpy(w).float(), torch.from_numpy(want["w_scale"]),
                                       torch.zeros(w.shape[0], dtype=torch.long), 0, torch.qint8)
        assert np.array_equal(t.int_repr().numpy(), want["qw"])
        for name in ("activations_ties_zero_point_even", "activations_ties_zero_point_odd"):
            case = by_name(pack, name)
            i = g.make_inputs(case, 7)
            want = g.expected(case, i, ctx)
            observer = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_affine)
            observer(torch.from_numpy(i["calib"]).float())
            scale, zp = observer.calculate_qparams()
            assert float(scale) == float(want["x_scale"]) and int(zp) == int(want["x_zero_point"])
            t = torch.quantize_per_tensor(torch.from_numpy(i["x"]).float(), float(scale), int(zp), torch.qint8)
            assert np.array_equal(t.int_repr().numpy(), want["qx"]), name
    case = by_name(pack, "prune_random_30_percent")                    # no tied magnitudes: one answer
    i = g.make_inputs(case, 7)
    layer = torch.nn.Linear(i["w"].shape[1], i["w"].shape[0], bias=False)
    layer.weight = torch.nn.Parameter(torch.from_numpy(i["w"]))
    prune.l1_unstructured(layer, "weight", amount=i["sparsity"])
    assert np.array_equal(layer.weight_mask.bool().numpy(), g.expected(case, i, ctx)["mask"])


# --- check -------------------------------------------------------------------------------------


def answer(pack, ctx, name, seed=7):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, seed)
    return case, inputs, pack.grader.expected(case, inputs, ctx)


def run_check(pack, ctx, got, mutate=None):
    case, inputs, want = got
    outputs = {k: v.copy() for k, v in want.items()}
    if mutate:
        mutate(outputs)
    return pack.grader.check(case, inputs, outputs, want, ctx)


def test_check_accepts_the_answer(pack, ctx):
    for case in pack.check_cases("cpu"):
        assert run_check(pack, ctx, answer(pack, ctx, case.name)).ok, case.name


def _bump(key, at):
    """Change one integer element, without overflowing its dtype."""
    def mutate(o):
        o[key][at] = 1 if o[key][at] == 0 else 0
    return mutate


@pytest.mark.parametrize("mutate, words", [
    (_bump("qw", (0, 0)), "qw: 1 of"),
    (_bump("acc", (1, 1)), "acc: 1 of"),
    (lambda o: o.update(w_scale=np.nextafter(o["w_scale"], 1.0)), "w_scale"),           # one ulp off
    (lambda o: o.update(x_scale=np.array(np.nextafter(o["x_scale"], 0.0))), "x_scale"),
    (lambda o: o.update(x_zero_point=o["x_zero_point"] + 1), "x_zero_point"),
    (lambda o: o.update(x_zero_point=o["x_zero_point"].astype(np.float64)), "dtype float64, expected int64"),
    (lambda o: o.update(x_scale=o["x_scale"].astype(np.float32)), "dtype float32, expected float64"),
    (lambda o: o.update(acc=o["acc"].astype(np.int64)), "dtype int64, expected int32"),
    (lambda o: o.update(qx=o["qx"].astype(np.int16)), "dtype int16, expected int8"),
    (lambda o: o.update(y=o["y"][:, :-1]), "shape"),
    (lambda o: o.update(qw=o["qw"].tolist()), "expected a numpy.ndarray"),
    (lambda o: o.pop("y"), "missing"),
    (lambda o: o.update(extra=np.zeros(1)), "unexpected"),
])
def test_check_flags_wrong_linear_outputs(pack, ctx, mutate, words):
    result = run_check(pack, ctx, answer(pack, ctx, "linear_layer"), mutate)
    assert not result.ok and words in result.message


def test_check_names_the_first_wrong_step_of_the_pipeline(pack, ctx):
    got = answer(pack, ctx, "linear_layer")
    result = run_check(pack, ctx, got, lambda o: (_bump("qx", (0, 0))(o), _bump("y", (0, 0))(o)))
    assert not result.ok and result.message.startswith("qx:")


def test_check_holds_masks_and_refusals_exactly(pack, ctx):
    got = answer(pack, ctx, "sparse24_ties")
    assert not run_check(pack, ctx, got, lambda o: o["mask"].__setitem__((0, 0), ~o["mask"][0, 0])).ok
    assert not run_check(pack, ctx, got, lambda o: o.update(mask=o["mask"].astype(np.int8))).ok
    bad = answer(pack, ctx, "sparse24_refuse_k_not_multiple_of_4")
    assert not run_check(pack, ctx, bad, lambda o: o.update(refused=np.array([0]))).ok


def test_check_gives_a_verdict_for_any_value_a_candidate_can_send(pack, ctx, monkeypatch):
    """Every plain value in place of every output: a one-line verdict, never an exception (the grader's
    `error`); the same variants as tests/test_candidate_numbers.py gives the packs it lists."""
    from dlverify.engine import judge

    from test_candidate_numbers import _variants

    expected = pack.grader.expected
    for op in dict.fromkeys(c.params["op"] for c in pack.check_cases("cpu")):
        case = of_op(pack, op)[0]
        inputs = pack.grader.make_inputs(case, 1234)
        want = expected(case, inputs, ctx)
        monkeypatch.setattr(pack.grader, "expected", lambda *_, want=want: want)   # judge() asks again
        for key, value in want.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")                 # the helper's own casts (acc to float16)
                wrong, other = _variants(value)
            for variant in wrong + other:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", RuntimeWarning)   # an overflow in check() is our bug too
                    check = judge(pack, ctx, case, inputs, {**want, key: variant})
                assert "\n" not in check.message
                if any(variant is w for w in wrong):
                    assert not check.ok and check.message, (case.name, key, variant)


# --- driver ------------------------------------------------------------------------------------


def fake(**fns):
    return type("Submission", (), {k: staticmethod(v) for k, v in fns.items()})


def test_driver_chains_the_candidates_own_results_with_plain_scalars(pack, driver):
    case = by_name(pack, "linear_odd_sizes_zero_channel")
    inputs = pack.grader.make_inputs(case, 0)
    seen = {}
    qw, ws = np.full((9, 33), 3, np.int8), np.full(9, 0.5)
    qx, acc = np.full((7, 33), 2, np.int8), np.full((7, 9), 11, np.int32)

    def record(name, result):
        def fn(*args):
            seen[name] = args
            return result
        return fn

    sub = fake(quantize_weights=record("w", (qw, ws)), calibrate_activations=record("c", (np.float64(0.25), np.int16(-7))),
               quantize_activations=record("q", qx), int8_matmul=record("m", acc), requantize=record("r", acc))
    out = driver.run(sub, case.params, inputs, "cpu")
    assert seen["q"][1:] == (0.25, -7) and type(seen["q"][1]) is float and type(seen["q"][2]) is int
    assert seen["m"][0] is qx and seen["m"][1] == -7 and seen["m"][2] is qw
    assert seen["r"][0] is acc and seen["r"][1] == 0.25 and seen["r"][2] is ws
    assert type(seen["r"][3]) is float and type(seen["r"][4]) is int
    assert list(out) == ["w_scale", "qw", "x_scale", "x_zero_point", "qx", "acc", "y"]
    assert out["x_scale"].shape == () and out["x_zero_point"].dtype == np.int64 and out["x_zero_point"] == -7


@pytest.mark.parametrize("fns, words", [
    (dict(), "does not define a function calibrate_activations"),
    (dict(calibrate_activations=lambda c: [1.0, 0]), "2-tuple"),
    (dict(calibrate_activations=lambda c: (1.0, 0.0)), "zero_point must be an int"),
    (dict(calibrate_activations=lambda c: (1, 0)), "scale must be a float"),
    (dict(calibrate_activations=lambda c: (1.0, 2**70)), "out of range"),
    (dict(calibrate_activations=lambda c: (1.0, 0), quantize_activations=lambda *a: [0]), "numpy.ndarray"),
])
def test_driver_raises_contract_errors(pack, driver, fns, words):
    case = by_name(pack, "activations_random_saturating")
    with pytest.raises(driver.ContractError, match=words):
        driver.run(fake(**fns), case.params, pack.grader.make_inputs(case, 0), "cpu")


def test_driver_wants_a_value_error_for_k_not_a_multiple_of_4(pack, driver):
    case = by_name(pack, "sparse24_refuse_k_not_multiple_of_4")
    inputs = pack.grader.make_inputs(case, 0)

    def refuse(w):
        raise ValueError("no")

    assert driver.run(fake(mask_2_4=refuse), case.params, inputs, "cpu")["refused"].tolist() == [1]
    with pytest.raises(driver.ContractError, match="accepted a weight with K = 30"):
        driver.run(fake(mask_2_4=lambda w: np.ones(w.shape, bool)), case.params, inputs, "cpu")
    with pytest.raises(driver.ContractError, match="raised IndexError"):
        driver.run(fake(mask_2_4=lambda w: [][0]), case.params, inputs, "cpu")


def test_driver_imports_numpy_only():
    source = (paths.sandbox_dir() / "drivers" / f"{EXERCISE}.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"numpy", "contract"}


# --- the rules ---------------------------------------------------------------------------------


def test_the_libraries_that_would_do_it_are_refused(pack):
    rules = pack.exercise.rules
    for source in ("import torch\n", "from torch.ao.quantization import MinMaxObserver\n",
                   "import torch.nn.utils.prune as prune\n", "from scipy import stats\n"):
        assert violations(source, rules), source
    assert not violations("import numpy as np\nimport math\nfrom fractions import Fraction\n", rules)


# --- known solutions, in-process (they are ours: no sandbox needed) -----------------------------


def grade_in_process(pack, ctx, driver, path, secret_seed: int) -> list[str]:
    module = load_solution(path)
    failures = []
    for case in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(case, secret_seed + case.seed)
        want = pack.grader.expected(case, inputs, ctx)
        try:
            outputs = driver.run(module, case.params, {k: np.copy(v) if isinstance(v, np.ndarray) else v
                                                       for k, v in inputs.items()}, "cpu")
        except Exception as exc:  # noqa: BLE001 - a wrong solution may raise anything
            failures.append(f"{case.name}: {type(exc).__name__}: {exc}")
            continue
        result = pack.grader.check(case, inputs, outputs, want, ctx)
        if not result.ok:
            failures.append(f"{case.name}: {result.message}")
    return failures


def known(kind):
    pk = load_pack(registry.get_exercise(EXERCISE))
    return ([pk.reference_path] if kind == "correct" else []) + list(pk.solutions(kind))


@pytest.mark.parametrize("path", known("correct"), ids=lambda p: p.name)
def test_correct_solutions_pass(pack, ctx, driver, path):
    assert grade_in_process(pack, ctx, driver, path, 1000) == []


@pytest.mark.parametrize("path", known("wrong"), ids=lambda p: p.name)
def test_wrong_solutions_fail_as_labelled(pack, ctx, driver, path):
    label = WRONG_LINE.match(path.read_text().splitlines()[0])
    assert label, "first line must be '# WRONG(<status>): <what>'"
    if label["status"] != "failed":
        assert violations(path.read_text(), pack.exercise.rules)      # rejected before it runs
        return
    assert grade_in_process(pack, ctx, driver, path, 2000) != []


def test_starter_fails(pack, ctx, driver):
    failures = grade_in_process(pack, ctx, driver, pack.exercise.starter, 3000)
    assert len(failures) == len(pack.check_cases("cpu"))
    assert all("NotImplementedError" in f for f in failures)


def test_cases_and_tolerances_are_sane(pack):
    names = [c.name for c in pack.cases]
    assert len(names) == len(set(names))
    assert [c.kind for c in pack.cases].count("bench") == 1
    assert all(c.devices == ("cpu",) for c in pack.cases)
    assert set(pack.tolerances) == {"exact"} and pack.tolerances["exact"].atol == pack.tolerances["exact"].rtol == 0


def test_bench_workload_counts_the_int8_product(pack):
    bench = next(c for c in pack.cases if c.kind == "bench")
    p = bench.params
    work = workload(EXERCISE, p)
    assert work.flops == 2.0 * p["M"] * p["N"] * p["K"] and work.dtype == "int8" and work.bytes > 8 * p["N"] * p["K"]
    with pytest.raises(KeyError):
        workload(EXERCISE, {"op": "prune"})
