"""Host-side tests of the layernorm_backward pack's check and driver, and that each numerical trap
is caught by the case built for it (known solutions run in-process: they are ours). The inputs and
the oracles are in test_pack_layernorm_backward.py; the sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from dlverify import paths

EXERCISE = "layernorm_backward"


def answer(pack, ctx, name, seed=7):
    c = next(c for c in pack.cases if c.name == name)
    inputs = pack.grader.make_inputs(c, seed)
    return c, inputs, pack.grader.expected(c, inputs, ctx)


def run_check(pack, ctx, got, mutate=None):
    c, inputs, want = got
    outputs = {k: v.copy() for k, v in want.items()}
    if mutate:
        mutate(outputs)
    return pack.grader.check(c, inputs, outputs, want, ctx)


def nudge(key, amount):
    """Add `amount` to the output's first element."""
    def mutate(o):
        o[key].flat[0] += amount
    return mutate


# --- check -------------------------------------------------------------------------------------


def test_check_accepts_the_answer_in_every_case(pack, ctx):
    for c in pack.check_cases("cpu"):
        assert run_check(pack, ctx, answer(pack, ctx, c.name)).ok, c.name


@pytest.mark.parametrize("mutate, words", [
    (nudge("dx", 1e-6), "dx"),
    (lambda o: o.update(y=o["y"].astype(np.float32).astype(np.float64)), "y"),
    (lambda o: o.update(dx=o["dx"].astype(np.float32)), "dtype"),
    (lambda o: o.update(y=o["y"][:1]), "shape"),
    (lambda o: o.update(dgamma=o["dgamma"].sum(axis=0)), "shape"),
    (lambda o: o.pop("dbeta"), "missing"),
    (lambda o: o.update(cache=np.zeros(1)), "unexpected"),
    (lambda o: o.update(dgamma=o["dgamma"].tolist()), "expected a numpy.ndarray"),
    (lambda o: o["y"].__setitem__((0, 0, 0, 0), np.nan), "NaN"),
])
def test_check_fails_malformed_or_wrong_outputs_with_a_reason(pack, ctx, mutate, words):
    result = run_check(pack, ctx, answer(pack, ctx, "three_trailing_dims"), mutate)
    assert not result.ok and words in result.message


def test_check_is_not_a_dict_the_candidates_failure(pack, ctx):
    c, inputs, want = answer(pack, ctx, "last_dim")
    for outputs in ({}, 3, None):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message


def test_check_holds_float32_cases_to_float32_outputs_and_the_float32_row(pack, ctx):
    got = answer(pack, ctx, "float32")
    assert not run_check(pack, ctx, got, lambda o: o.update(y=o["y"].astype(np.float64))).ok
    assert not run_check(pack, ctx, got, nudge("dx", 1e-2)).ok
    assert run_check(pack, ctx, got, nudge("dx", 1e-5)).ok


def test_a_zero_dx_fails_where_dx_is_tiny(pack, ctx):
    # values around 1e6 make dx ~1e-6: the float64 row's atol (1e-9) is still 1000-fold below it
    huge = answer(pack, ctx, "huge_values")
    assert 1e-8 < np.abs(huge[2]["dx"]).max() < 1e-4
    assert not run_check(pack, ctx, huge, lambda o: o.update(dx=np.zeros_like(o["dx"]))).ok


# --- driver ------------------------------------------------------------------------------------


def fake(**fns):
    return type("Submission", (), {k: staticmethod(v) for k, v in fns.items()})


def test_driver_passes_eps_as_a_float_and_the_cache_untouched(pack, driver):
    c = next(x for x in pack.cases if x.name == "two_trailing_dims")
    inputs = pack.grader.make_inputs(c, 0)
    token, seen = object(), []

    def fwd(x, gamma, beta, eps):
        seen.append(eps)
        return np.ones(x.shape), token

    def bwd(dy, cache):
        seen.append(cache)
        return np.zeros(dy.shape), np.zeros((5, 6)), np.zeros((5, 6))

    out = driver.run(fake(layernorm_forward=fwd, layernorm_backward=bwd), c.params, inputs, "cpu")
    assert seen == [1e-5, token] and type(seen[0]) is float
    assert list(out) == ["y", "dx", "dgamma", "dbeta"]


def test_driver_keeps_y_as_the_forward_returned_it(pack, driver):
    c = next(x for x in pack.cases if x.name == "last_dim")

    def fwd(x, gamma, beta, eps):
        y = np.ones(x.shape)
        return y, y

    def bwd(dy, cache):
        cache[...] = -7.0                                # reuses y's memory
        return np.zeros(dy.shape), np.zeros(10), np.zeros(10)

    out = driver.run(fake(layernorm_forward=fwd, layernorm_backward=bwd), c.params, pack.grader.make_inputs(c, 0), "cpu")
    assert np.all(out["y"] == 1.0)


@pytest.mark.parametrize("fns, words", [
    (dict(layernorm_backward=lambda dy, c: None), "does not define a function layernorm_forward"),
    (dict(layernorm_forward=lambda *a: (np.zeros(1), None)), "layernorm_backward"),
    (dict(layernorm_forward=lambda *a: np.zeros(1), layernorm_backward=lambda dy, c: None), "2-tuple"),
    (dict(layernorm_forward=lambda *a: ([0.0], None), layernorm_backward=lambda dy, c: None), "numpy.ndarray"),
    (dict(layernorm_forward=lambda *a: (np.zeros(1, dtype=int), None), layernorm_backward=lambda dy, c: None),
     "non-float"),
    (dict(layernorm_forward=lambda *a: (np.zeros(1), None),
          layernorm_backward=lambda dy, c: [np.zeros(1)] * 3), "3-tuple"),
    (dict(layernorm_forward=lambda *a: (np.zeros(1), None),
          layernorm_backward=lambda dy, c: (np.zeros(1), 0.0, np.zeros(1))), "dgamma"),
])
def test_driver_raises_contract_errors(pack, driver, fns, words):
    c = next(x for x in pack.cases if x.name == "last_dim")
    with pytest.raises(driver.ContractError, match=words):
        driver.run(fake(**fns), c.params, pack.grader.make_inputs(c, 0), "cpu")


def test_driver_imports_numpy_only():
    source = (paths.sandbox_dir() / "drivers" / f"{EXERCISE}.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"numpy", "contract"}


# --- each numerical trap is caught by its own case ---------------------------------------------


def failing_cases(pack, ctx, driver, path, secret_seed: int) -> set[str]:
    """Grade a known solution in-process (it is ours): the names of the cases it fails."""
    spec = importlib.util.spec_from_file_location(f"_layernorm_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    failed = set()
    for c in pack.check_cases("cpu"):
        inputs = pack.grader.make_inputs(c, secret_seed + c.seed)
        want = pack.grader.expected(c, inputs, ctx)
        with np.errstate(all="ignore"):
            outputs = driver.run(module, c.params, {k: v.copy() for k, v in inputs.items()}, "cpu")
        if not pack.grader.check(c, inputs, outputs, want, ctx).ok:
            failed.add(c.name)
    return failed


@pytest.mark.parametrize("wrong, caught_by", [
    ("naive_variance.py", {"large_offset_tiny_spread"}),
    ("float32_statistics.py", {"float32_offset"}),
    ("constant_groups_get_no_gradient.py", {"constant_groups"}),
])
def test_each_numerical_trap_is_caught_by_the_case_built_for_it(pack, ctx, driver, wrong, caught_by):
    assert failing_cases(pack, ctx, driver, pack.folder / "solutions" / "wrong" / wrong, 4000) == caught_by
