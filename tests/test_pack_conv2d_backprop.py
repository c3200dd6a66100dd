"""Host-side tests of the conv2d_backprop pack: its inputs, trusted answer, check and driver.

Everything runs in-process on trusted code (our reference and known solutions);
the sandboxed path is covered by tests/test_packs.py (`dlverify validate`).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from dlverify import paths
from dlverify.packs import registry
from dlverify.packs.cases import Case
from dlverify.gpu.workload import workload
from dlverify.packs.loading import load_pack
from dlverify.packs.validate import WRONG_LINE

EXERCISE = "conv2d_backprop"


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def load_solution(path):
    spec = importlib.util.spec_from_file_location(f"_test_conv2d_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conv_cases(pack):
    return [c for c in pack.cases if c.params["op"] == "conv"]


# --- a slow, obviously-right implementation: one scalar at a time, straight from the README ------


def loop_conv(x, w, b, dy, p):
    (sh, sw), (ph, pw), (dh, dw_), groups = _geometry(p)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    fg = f // groups
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw_ * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, f, oh, ow))
    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(f)
    for a in range(n):
        for k in range(f):
            g = k // fg
            for i in range(oh):
                for j in range(ow):
                    acc = float(b[k])
                    db[k] += dy[a, k, i, j]
                    for ch in range(cg):
                        for r in range(kh):
                            for s in range(kw):
                                hi, wi = i * sh + r * dh - ph, j * sw + s * dw_ - pw
                                if 0 <= hi < h and 0 <= wi < wd:   # outside: a zero of the padding
                                    acc += float(w[k, ch, r, s]) * float(x[a, g * cg + ch, hi, wi])
                                    dw[k, ch, r, s] += float(dy[a, k, i, j]) * float(x[a, g * cg + ch, hi, wi])
                                    dx[a, g * cg + ch, hi, wi] += float(dy[a, k, i, j]) * float(w[k, ch, r, s])
                    y[a, k, i, j] = acc
    return y, dx, dw, db


def loop_pool(x, dy):
    n, c, h, w = x.shape
    y, dx = np.zeros((n, c, h // 2, w // 2)), np.zeros(x.shape)
    for a in range(n):
        for ch in range(c):
            for i in range(h // 2):
                for j in range(w // 2):
                    cells = [(2 * i + r, 2 * j + s) for r in range(2) for s in range(2)]   # row-major
                    top = max(x[a, ch, r, s] for r, s in cells)
                    r, s = next(rc for rc in cells if x[a, ch, rc[0], rc[1]] == top)     # the first maximum
                    y[a, ch, i, j] = top
                    dx[a, ch, r, s] = dy[a, ch, i, j]
    return y, dx


def _geometry(p):
    pair = lambda v: (int(v[0]), int(v[1]))  # noqa: E731
    return pair(p["stride"]), pair(p["padding"]), pair(p["dilation"]), int(p["groups"])


# --- make_inputs -------------------------------------------------------------------------------


def test_inputs_have_contract_shapes_and_dtypes(pack):
    for case in pack.cases:
        p = case.params
        inputs = pack.grader.make_inputs(case, 123)
        dtype = np.dtype(p["dtype"])
        assert all(type(v) is np.ndarray and v.dtype == dtype for v in inputs.values()), case.name
        assert inputs["x"].shape == (p["N"], p["C"], p["H"], p["W"])
        if p["op"] == "pool":
            assert set(inputs) == {"x", "dy"}
            assert inputs["dy"].shape == (p["N"], p["C"], p["H"] // 2, p["W"] // 2)
            continue
        assert set(inputs) == {"x", "w", "b", "dy"}
        assert inputs["w"].shape == (p["F"], p["C"] // p["groups"], p["KH"], p["KW"])
        assert inputs["b"].shape == (p["F"],)
        if p["op"] == "conv":
            y = pack.grader.conv_forward64(inputs["x"], inputs["w"], inputs["b"], *pack.grader.geometry(p))
            assert inputs["dy"].shape == y.shape and y.size > 0


def test_inputs_follow_the_seed(pack):
    case = by_name(pack, "mixed_everything_float64")
    a, b, c = (pack.grader.make_inputs(case, s) for s in (5, 5, 6))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["x"], c["x"])


def test_tie_cases_have_tied_windows(pack):
    for name in ("maxpool_ties", "maxpool_odd_sizes_ties_float32"):
        x = pack.grader.make_inputs(by_name(pack, name), 0)["x"]
        h2, w2 = x.shape[2] // 2, x.shape[3] // 2
        quarters = np.stack([x[:, :, a:2 * h2:2, b:2 * w2:2] for a in (0, 1) for b in (0, 1)])
        tied = (quarters == quarters.max(axis=0)).sum(axis=0) > 1
        assert tied.mean() > 0.3, name


def test_the_cases_hold_the_traps_the_readme_names(pack):
    ps = [c.params for c in conv_cases(pack)]
    assert any(p["KH"] == p["KW"] == 1 for p in ps)
    assert any(min(p["stride"]) > max(p["KH"], p["KW"]) for p in ps)
    assert any(p["groups"] == p["C"] > 1 for p in ps)
    assert any(2 in p["dilation"] for p in ps)
    assert any(p["H"] != p["W"] and p["KH"] != p["KW"] for p in ps)
    assert any(p["N"] == 1 for p in ps)
    assert {p["dtype"] for p in ps} == {"float64", "float32"}
    # Output sizes that are not exact divisions (the floor matters), on both axes somewhere.
    def rest(p, axis):
        (s, pad, d) = (p["stride"][axis], p["padding"][axis], p["dilation"][axis])
        k, size = (p["KH"], p["H"]) if axis == 0 else (p["KW"], p["W"])
        return (size + 2 * pad - d * (k - 1) - 1) % s
    assert any(rest(p, 0) for p in ps) and any(rest(p, 1) for p in ps)
    pools = [c.params for c in pack.cases if c.params["op"] == "pool"]
    assert any(p["H"] % 2 and p["W"] % 2 for p in pools)


def test_bad_cases_really_are_bad(pack):
    kernel = by_name(pack, "refuse_kernel_larger_than_padded_input").params
    assert kernel["dilation"][0] * (kernel["KH"] - 1) + 1 > kernel["H"] + 2 * kernel["padding"][0]
    groups = by_name(pack, "refuse_channels_not_divisible_by_groups").params
    assert groups["C"] % groups["groups"] != 0


# --- expected ----------------------------------------------------------------------------------


def test_expected_matches_the_scalar_loops_on_every_conv_case(pack, ctx):
    for case in conv_cases(pack):
        if case.kind == "bench":
            continue
        inputs = pack.grader.make_inputs(case, 42)
        want = pack.grader.expected(case, inputs, ctx)
        slow = loop_conv(*(inputs[k].astype(np.float64) for k in ("x", "w", "b", "dy")), case.params)
        for key, value in zip(("y", "dx", "dw", "db"), slow):
            assert want[key].dtype == inputs["x"].dtype and want[key].shape == value.shape, (case.name, key)
            rtol = 1e-6 if want[key].dtype == np.float32 else 1e-12
            np.testing.assert_allclose(want[key], value, rtol=rtol, atol=rtol, err_msg=f"{case.name} {key}")


def test_expected_backward_is_the_adjoint_of_forward(pack, ctx):
    # <conv(x) - b, dy> = <x, dx> = <w, dw>: the backward pass is the transpose of the forward map.
    case = by_name(pack, "mixed_everything_float64")
    inputs = pack.grader.make_inputs(case, 9)
    want = pack.grader.expected(case, inputs, ctx)
    pairing = np.sum((want["y"] - inputs["b"][None, :, None, None]) * inputs["dy"])
    assert np.sum(inputs["x"] * want["dx"]) == pytest.approx(pairing, rel=1e-12)
    assert np.sum(inputs["w"] * want["dw"]) == pytest.approx(pairing, rel=1e-12)


def test_expected_pooling_matches_the_loops_and_gives_ties_to_the_first(pack, ctx):
    for name in ("maxpool_ties", "maxpool_odd_sizes_ties_float32", "maxpool_continuous"):
        case = by_name(pack, name)
        inputs = pack.grader.make_inputs(case, 7)
        want = pack.grader.expected(case, inputs, ctx)
        y, dx = loop_pool(inputs["x"].astype(np.float64), inputs["dy"].astype(np.float64))
        dtype = inputs["x"].dtype
        assert np.array_equal(want["y"], y.astype(dtype)) and np.array_equal(want["dx"], dx.astype(dtype)), name
    x = np.array([[[[1.0, 1.0], [1.0, 0.0]]]])
    _, dx = pack.grader.pool_forward_backward64(x, np.array([[[[5.0]]]]))
    assert dx.tolist() == [[[[5.0, 0.0], [0.0, 0.0]]]]


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
    for name in ("mixed_everything_float64", "batch_of_one_float32", "maxpool_ties",
                 "refuse_channels_not_divisible_by_groups"):
        assert run_check(pack, ctx, answer(pack, ctx, name)).ok, name


@pytest.mark.parametrize("mutate, words", [
    (lambda o: o["dw"].__setitem__((0, 0, 0, 0), o["dw"][0, 0, 0, 0] + 1e-6), "dw"),
    (lambda o: o.update(dx=o["dx"].astype(np.float32).astype(np.float64)), "dx"),
    (lambda o: o.update(db=o["db"].astype(np.float32)), "dtype"),
    (lambda o: o.update(y=o["y"][:, :, :-1]), "shape"),
    (lambda o: o.pop("db"), "missing"),
    (lambda o: o.update(extra=np.zeros(1)), "unexpected"),
    (lambda o: o.update(dw=o["dw"].tolist()), "expected a numpy.ndarray"),
    (lambda o: o["y"].__setitem__((0, 0, 0, 0), np.nan), "NaN"),
])
def test_check_flags_wrong_float64_outputs(pack, ctx, mutate, words):
    result = run_check(pack, ctx, answer(pack, ctx, "mixed_everything_float64"), mutate)
    assert not result.ok and words in result.message


def test_check_holds_float32_cases_to_float32_outputs(pack, ctx):
    got = answer(pack, ctx, "batch_of_one_float32")
    assert not run_check(pack, ctx, got, lambda o: o.update(y=o["y"].astype(np.float64))).ok
    assert not run_check(pack, ctx, got, lambda o: o["dw"].__setitem__((0, 0, 0, 0), o["dw"][0, 0, 0, 0] + 1e-2)).ok


def test_check_flags_a_pooling_tie_sent_elsewhere(pack, ctx):
    got = answer(pack, ctx, "maxpool_ties")
    result = run_check(pack, ctx, got, lambda o: o.update(dx=np.roll(o["dx"], 1, axis=-1)))
    assert not result.ok and "dx" in result.message


def test_check_of_a_bad_case_wants_both_refusals(pack, ctx):
    got = answer(pack, ctx, "refuse_kernel_larger_than_padded_input")
    assert not run_check(pack, ctx, got, lambda o: o.update(refused=np.array([1, 0]))).ok
    assert not run_check(pack, ctx, got, lambda o: o.update(refused=[1, 1])).ok


# --- driver ------------------------------------------------------------------------------------


def fake(**fns):
    return type("Submission", (), {k: staticmethod(v) for k, v in fns.items()})


def test_driver_passes_int_pairs_and_returns_the_four_outputs(pack, driver):
    case = by_name(pack, "non_square_kernel_and_padding")
    inputs = pack.grader.make_inputs(case, 0)
    seen = []

    def fwd(x, w, b, stride, padding, dilation, groups):
        seen.append((stride, padding, dilation, groups))
        return np.zeros(1)

    def bwd(dy, x, w, stride, padding, dilation, groups):
        seen.append((stride, padding, dilation, groups))
        return np.zeros(1), np.zeros(2), np.zeros(3)

    out = driver.run(fake(conv2d_forward=fwd, conv2d_backward=bwd), case.params, inputs, "cpu")
    assert seen == [((1, 2), (1, 2), (1, 1), 1)] * 2
    assert all(type(v) is int for args in seen for pair in args[:3] for v in pair)
    assert list(out) == ["y", "dx", "dw", "db"] and out["db"].shape == (3,)


@pytest.mark.parametrize("fns, words", [
    (dict(conv2d_backward=lambda *a: None), "conv2d_forward"),
    (dict(conv2d_forward=lambda *a: np.zeros(1), conv2d_backward=lambda *a: [np.zeros(1)] * 3), "3-tuple"),
    (dict(conv2d_forward=lambda *a: [0.0], conv2d_backward=lambda *a: (np.zeros(1),) * 3), "numpy.ndarray"),
    (dict(conv2d_forward=lambda *a: np.zeros(1), conv2d_backward=lambda *a: (np.zeros(1), 0.0, np.zeros(1))), "dw"),
])
def test_driver_raises_contract_errors(pack, driver, fns, words):
    case = by_name(pack, "basic_3x3_same_padding")
    with pytest.raises(driver.ContractError, match=words):
        driver.run(fake(**fns), case.params, pack.grader.make_inputs(case, 0), "cpu")


def test_driver_wants_a_value_error_on_a_bad_configuration(pack, driver):
    case = by_name(pack, "refuse_kernel_larger_than_padded_input")
    inputs = pack.grader.make_inputs(case, 0)

    def refuse(*args):
        raise ValueError("no")

    out = driver.run(fake(conv2d_forward=refuse, conv2d_backward=refuse), case.params, inputs, "cpu")
    assert out["refused"].tolist() == [1, 1]
    with pytest.raises(driver.ContractError, match="conv2d_backward accepted a bad configuration .the dilated kernel"):
        driver.run(fake(conv2d_forward=refuse, conv2d_backward=lambda *a: (np.zeros(1),) * 3),
                   case.params, inputs, "cpu")

    def index_error(*args):
        raise IndexError("oops")

    with pytest.raises(driver.ContractError, match="raised IndexError"):
        driver.run(fake(conv2d_forward=index_error, conv2d_backward=refuse), case.params, inputs, "cpu")
    groups = by_name(pack, "refuse_channels_not_divisible_by_groups")
    with pytest.raises(driver.ContractError, match="not divisible by groups = 3"):
        driver.run(fake(conv2d_forward=lambda *a: np.zeros(1), conv2d_backward=refuse), groups.params,
                   pack.grader.make_inputs(groups, 0), "cpu")


def test_driver_calls_the_pooling_pair(pack, driver):
    case = by_name(pack, "maxpool_continuous")
    inputs = pack.grader.make_inputs(case, 0)
    sub = fake(maxpool2x2_forward=lambda x: x[:, :, ::2, ::2].copy(),
               maxpool2x2_backward=lambda dy, x: np.zeros_like(x))
    out = driver.run(sub, case.params, inputs, "cpu")
    assert list(out) == ["y", "dx"] and out["dx"].shape == inputs["x"].shape
    with pytest.raises(driver.ContractError, match="maxpool2x2_backward"):
        driver.run(fake(maxpool2x2_forward=lambda x: x), case.params, inputs, "cpu")


def test_driver_imports_numpy_only():
    source = (paths.sandbox_dir() / "drivers" / f"{EXERCISE}.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines()
               if line.startswith(("import ", "from "))}
    assert imports <= {"numpy", "contract"}


# --- known solutions, in-process (they are ours: no sandbox needed) -----------------------------


def grade_in_process(pack, ctx, driver, path, secret_seed: int) -> list[str]:
    module = load_solution(path)
    failures = []
    for case in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(case, secret_seed + case.seed)
        want = pack.grader.expected(case, inputs, ctx)
        try:
            outputs = driver.run(module, case.params, {k: v.copy() for k, v in inputs.items()}, "cpu")
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
        pytest.skip(f"{label['status']} comes from the sandbox's rules, not from the check")
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
    assert {c.params["dtype"] for c in pack.cases} == set(pack.tolerances) == {"float64", "float32"}
    assert pack.tolerances["float64"].rtol < 1e-8 < pack.tolerances["float32"].rtol


def test_bench_workload_counts_forward_dx_and_dw(pack):
    bench = next(c for c in pack.cases if c.kind == "bench")
    work = workload(EXERCISE, bench.params)
    p = bench.params
    assert work.flops == 3 * 2.0 * p["N"] * p["F"] * p["H"] * p["W"] * p["C"] * 9   # padding 1 keeps H x W
    assert work.bound == "compute" and work.dtype == p["dtype"] and work.bytes > 0
