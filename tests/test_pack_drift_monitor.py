"""Host-side tests of the drift_monitor pack: the trusted answer against independent oracles
(scipy's KS, the README's PSI as a loop, hand-worked windows), the hidden cases' claims about
their data, the check, the driver, the rules and the bench's workload model.
Sandboxed path (every known solution graded once): tests/test_packs.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlverify import paths
from dlverify.gpu.workload import workload
from dlverify.packs.registry import get_exercise
from dlverify.screening.static_rules import violations

EXERCISE = "drift_monitor"
SEED = 21


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


def checked_cases(pack, op):
    return [c for c in pack.cases if c.kind != "bench" and c.params["op"] == op]


def present(a):
    return a[~np.isnan(a)]


# --- expected() against independent oracles ---------------------------------------------------


@pytest.mark.parametrize("name", ["ks_with_ties_and_missing", "ks_heavy_ties", "ks_live_drifts_below"])
def test_ks_matches_scipy(pack, ctx, name):
    stats = pytest.importorskip("scipy.stats")
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)["values"]
    ref = present(inputs["reference"])
    checked = 0
    for b in range(len(c.params["batches"])):
        live = present(inputs[f"live{b}"])
        if len(live) == 0:
            assert math.isnan(want[b])                            # no value left: None
            continue
        # the README's "exact up to one rounding": D is a ratio of integers
        assert want[b] == pytest.approx(stats.ks_2samp(ref, live, method="exact").statistic, abs=1e-12)
        checked += 1
    assert checked >= 2


def readme_psi(ref: list, live: list, edges: list | None) -> float:
    """PSI straight from the README, one bin at a time: no numpy, no sorting, no searching.
    edges None: categorical (one bin per reference category, other, missing)."""
    if edges is not None:
        keys = list(range(len(edges) + 1)) + ["missing"]

        def key(v):                                           # the bin above an edge value
            return "missing" if v is None else sum(1 for e in edges if v >= e)
    else:
        cats = {v for v in ref if v is not None}
        keys = sorted(cats) + ["other", "missing"]

        def key(v):
            return "missing" if v is None else v if v in cats else "other"

    total = 0.0
    for k in keys:
        p = max(sum(1 for v in ref if key(v) == k) / len(ref), 1e-4)
        q = max(sum(1 for v in live if key(v) == k) / len(live), 1e-4)
        total += (q - p) * math.log(q / p)
    return total


def as_values(a: np.ndarray) -> list:
    """The driver's conversion, written again: NaN (numeric) or -1 (categorical) is None."""
    if a.dtype.kind == "f":
        return [None if math.isnan(v) else v for v in a.tolist()]
    return [None if v < 0 else v for v in a.tolist()]


def test_psi_matches_the_readmes_formula_on_every_batch(pack, ctx):
    checked = 0
    for c in checked_cases(pack, "psi") + checked_cases(pack, "psi_cat"):
        inputs = pack.grader.make_inputs(c, SEED)
        want = pack.grader.expected(c, inputs, ctx)["values"]
        edges = inputs["edges"].tolist() if c.params["op"] == "psi" else None
        ref = as_values(inputs["reference"])
        for b in range(len(c.params["batches"])):
            live = as_values(inputs[f"live{b}"])
            if not live:
                assert math.isnan(want[b])                        # an empty batch: None
                continue
            assert want[b] == pytest.approx(readme_psi(ref, live, edges), rel=1e-12, abs=1e-15), (c.name, b)
            checked += 1
    assert checked >= 8


def test_expected_on_hand_worked_windows(pack):
    g = pack.grader
    # edge 3: bins (-inf, 3), [3, inf), missing. ref 1 2 3 4 -> 2 2 0; live 3 3 NaN -> 0 2 1
    want = ((1e-4 - 0.5) * math.log(1e-4 / 0.5) + (2 / 3 - 0.5) * math.log((2 / 3) / 0.5)
            + (1 / 3 - 1e-4) * math.log((1 / 3) / 1e-4))
    assert g.psi64(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 3.0, np.nan]), np.array([3.0])) == \
        pytest.approx(want, rel=1e-14)
    # categories 0 and 1, then other (7 and 8 together), then missing: ref 2 1 0 1, live 0 1 3 2
    p, q = [0.5, 0.25, 1e-4, 0.25], [1e-4, 1 / 6, 0.5, 1 / 3]
    want = sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q))
    assert g.psi_cat64(np.array([0, 0, 1, -1]), np.array([1, 7, 8, 8, -1, -1])) == pytest.approx(want, rel=1e-14)
    # ties: F(1) = 2/3 against G(1) = 1/3; stepping one value at a time would see 2/3 - 0
    assert g.ks64(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.0])) == 1 / 3
    assert g.ks64(np.array([2.5] * 4), np.array([2.5, 2.5, np.nan])) == 0.0
    # the largest gap at a live value: G(0.5) = 1/2, F(0.5) = 0
    assert g.ks64(np.array([1.0, 2.0]), np.array([0.5, 3.0])) == 0.5
    assert math.isnan(g.ks64(np.array([1.0]), np.array([np.nan])))


def alerts_with(values, high, low, k_on, m_off, *, inclusive=False, none_restarts=False, consecutive=True,
                keep_count_on_change=False):
    """The alert rule with one of the README's details changed (values: None for no data)."""
    on, run, out = False, 0, []
    for v in values:
        if v is None:
            run = 0 if none_restarts else run
        else:
            if inclusive:
                crossing = v <= low if on else v >= high
            else:
                crossing = v < low if on else v > high
            run = run + 1 if crossing else (0 if consecutive else run)
            if run >= (m_off if on else k_on):
                on, run = not on, (run if keep_count_on_change else 0)
        out.append(on)
    return out


def test_alert_rule_details_by_hand(pack):
    def alerts(values, *args):
        nan = np.array([np.nan if v is None else v for v in values])
        return pack.grader.alerts64(nan, *args).tolist()
    # k_on = 2 in a row: a breach, a calm batch, a breach is not two in a row
    assert alerts([0.3, 0.0, 0.3, 0.3], 0.25, 0.1, 2, 1) == [False, False, False, True]
    # None neither breaks nor extends a run
    assert alerts([0.3, None, 0.3, None, 0.05], 0.25, 0.1, 2, 1) == [False, False, True, True, False]
    # equal to a threshold is neither a breach nor calm
    assert alerts([0.25, 0.25, 0.3, 0.3, 0.1, 0.1], 0.25, 0.1, 2, 2) == [False, False, False, True, True, True]
    # a value between the thresholds restarts the calm run
    assert alerts([0.3, 0.05, 0.2, 0.05, 0.05], 0.25, 0.1, 1, 2) == [True, True, True, True, False]


def test_hysteresis_states_of_the_cases_by_hand(pack, ctx):
    c = case(pack, "alerts_with_hysteresis")
    states = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)["states"].tolist()
    # 0.3 0.4 0.05 | 0.3 0.3 none 0.3 -> on | 0.2 0.05 0.2 (run broken) 0.05 0.05 -> off | 0.3
    assert states == [False] * 6 + [True] * 5 + [False, False]
    c = case(pack, "alerts_at_the_thresholds")
    states = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)["states"].tolist()
    assert states == [False, False, True, True, True, True, True, False, False]


# --- the hidden cases hold the traps the README names --------------------------------------------


@pytest.mark.parametrize("variant", ["inclusive", "none_restarts", "consecutive", "keep_count_on_change"])
def test_each_alert_detail_decides_a_hidden_case(pack, ctx, variant):
    differs = False
    for c in checked_cases(pack, "alerts"):
        p = c.params
        values = [None if v == "none" else v for v in p["values"]]
        args = (p["high"], p["low"], p["k_on"], p["m_off"])
        want = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)["states"].tolist()
        assert alerts_with(values, *args) == want                # the plain rule: the oracle agrees
        changed = {variant: variant != "consecutive"}            # consecutive=False is the variant
        differs |= alerts_with(values, *args, **changed) != want
    assert differs, variant


def test_the_numeric_cases_hold_missing_empty_and_zero_values(pack):
    for op in ("psi", "ks"):
        kinds = set()
        for c in checked_cases(pack, op):
            inputs = pack.grader.make_inputs(c, SEED)
            lives = [inputs[f"live{b}"] for b in range(len(c.params["batches"]))]
            kinds |= {"empty" for v in lives if len(v) == 0}
            kinds |= {"all missing" for v in lives if len(v) and np.isnan(v).all()}
            kinds |= {"missing" for v in lives if 0 < np.isnan(v).sum() < len(v)}
            if np.isnan(inputs["reference"]).any():
                kinds.add("ref missing")
            kinds |= {"zero" for v in lives if (v == 0.0).any()}     # 0.0 is a value, not a missing one
        assert kinds == {"empty", "all missing", "missing", "ref missing", "zero"}, op


def test_values_sit_on_the_edges(pack):
    inputs = pack.grader.make_inputs(case(pack, "psi_values_on_the_edges"), SEED)
    for key in ("reference", "live0", "live1"):
        assert np.isin(inputs[key], inputs["edges"]).sum() >= 10, key


def test_the_categorical_case_has_unseen_categories_and_missing(pack):
    inputs = pack.grader.make_inputs(case(pack, "psi_categorical_unseen_and_missing"), SEED)
    seen = set(inputs["reference"].tolist())
    assert len(set(inputs["live1"].tolist()) - seen - {-1}) >= 2     # two of them: one other bin, not two
    assert (inputs["live1"] == -1).any() and (inputs["reference"] == -1).any()
    assert (inputs["reference"] == 0).any()                          # category 0 is a category
    assert len(inputs["live2"]) == 0


def test_the_ks_cases_have_ties_and_a_gap_only_a_live_value_reaches(pack, ctx):
    """A KS evaluated at the reference's values only misses the largest gap when the live sample is
    ahead of the reference there: a hidden case must catch it (on every seed)."""
    for seed in (SEED, SEED + 1, SEED + 2):
        reached_only_by_live = False
        for c in checked_cases(pack, "ks"):
            inputs = pack.grader.make_inputs(c, seed)
            want = pack.grader.expected(c, inputs, ctx)["values"]
            a = np.sort(present(inputs["reference"]))
            for b in range(len(c.params["batches"])):
                live = np.sort(present(inputs[f"live{b}"]))
                if not len(live):
                    continue
                at_ref = np.max(np.abs(np.searchsorted(a, a, "right") / len(a)
                                       - np.searchsorted(live, a, "right") / len(live)))
                reached_only_by_live |= want[b] - at_ref > 1e-9
        assert reached_only_by_live, seed
    heavy = pack.grader.make_inputs(case(pack, "ks_heavy_ties"), SEED)["live1"]
    assert np.unique(heavy).size < len(heavy) / 20                   # runs of ties


def test_inputs_follow_the_seed(pack):
    c = case(pack, "psi_numeric_drift_and_missing")
    a, b, other = (pack.grader.make_inputs(c, s) for s in (5, 5, 6))
    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert not np.array_equal(a["live1"], other["live1"], equal_nan=True)


def test_inputs_have_the_layout_the_driver_reads(pack):
    """reference, live0..live(B-1) (+ edges for psi, values for alerts): float64 with NaN missing,
    int64 with -1 missing for categories; edges strictly increasing, as the README's bins need."""
    for c in pack.cases:
        p, inputs = c.params, pack.grader.make_inputs(c, 5)
        if p["op"] == "alerts":
            assert set(inputs) == {"values"} and inputs["values"].dtype == np.float64
            assert len(inputs["values"]) == len(p["values"]), c.name
            continue
        lives = {f"live{b}" for b in range(len(p["batches"]))}
        assert set(inputs) == {"reference"} | lives | ({"edges"} if p["op"] == "psi" else set()), c.name
        dtype = np.int64 if p["op"] == "psi_cat" else np.float64
        assert all(inputs[k].dtype == dtype for k in inputs), c.name
        assert len(inputs["reference"]) == p["n"] and [len(inputs[f"live{b}"]) for b in range(len(lives))] == p["batches"]
        if p["op"] == "psi":
            assert len(inputs["edges"]) >= 2 and (np.diff(inputs["edges"]) > 0).all(), c.name
        if p["op"] == "psi_cat":
            assert all((inputs[k] >= -1).all() for k in inputs), c.name


def test_tolerances_and_cases_keep_the_readmes_promises(pack):
    tol = pack.tolerances
    assert set(tol) == {"psi", "psi_cat", "ks"}
    for op in ("psi", "psi_cat"):                              # "atol = 1e-12, rtol = 1e-9 for PSI"
        assert (tol[op].atol, tol[op].rtol) == (1e-12, 1e-9), op
    assert (tol["ks"].atol, tol["ks"].rtol) == (1e-12, 1e-12)  # "and 1e-12 for KS"
    checked = [c for c in pack.cases if c.kind != "bench"]
    assert len(checked) == 8 and len({c.name for c in pack.cases}) == len(pack.cases)   # "Eight hidden cases"
    bench = [c for c in pack.cases if c.kind == "bench"]
    assert len(bench) == 1 and bench[0].params["op"] == "ks"                  # "20,000-value samples"
    assert bench[0].params["n"] == 20000 and set(bench[0].params["batches"]) == {20000}
    assert all(c.devices == ("cpu",) for c in pack.cases)


# --- check() -------------------------------------------------------------------------------------


def _set(key, index, value):
    def mutate(out):
        out[key][index] = value
    return mutate


@pytest.mark.parametrize("name, mutate", [
    ("ks_with_ties_and_missing", lambda o: o.clear()),
    ("ks_with_ties_and_missing", lambda o: "x"),                      # not a dict at all
    ("ks_with_ties_and_missing", lambda o: o.update(extra=np.zeros(1))),
    ("ks_with_ties_and_missing", lambda o: o.update(values=o["values"].astype(np.float32))),
    ("ks_with_ties_and_missing", lambda o: o.update(values=o["values"][:1])),
    ("ks_with_ties_and_missing", lambda o: o.update(values=o["values"].tolist())),
    ("ks_with_ties_and_missing", lambda o: o["values"].__iadd__(np.where(np.isnan(o["values"]), 0, 1e-10))),
    ("ks_with_ties_and_missing", _set("values", 0, np.nan)),          # None where there is a value
    ("ks_with_ties_and_missing", _set("values", 2, 0.0)),             # a value for an empty batch
    ("psi_numeric_drift_and_missing", lambda o: o["values"].__imul__(1 + 1e-7)),
    ("alerts_at_the_thresholds", lambda o: o["states"].__setitem__(0, True)),
    ("alerts_at_the_thresholds", lambda o: o.update(states=o["states"].astype(np.int64))),
])
def test_check_fails_wrong_or_malformed_outputs(pack, ctx, name, mutate):
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    outputs = {k: v.copy() for k, v in want.items()}
    assert pack.grader.check(c, inputs, outputs, want, ctx).ok
    replaced = mutate(outputs)                                 # edits in place, or returns outputs of another type
    outputs = replaced if isinstance(replaced, str) else outputs
    result = pack.grader.check(c, inputs, outputs, want, ctx)
    assert not result.ok and result.message


# --- the driver, the rules, the bench --------------------------------------------------------------


def fake(**functions):
    return type("Submission", (), {k: staticmethod(v) for k, v in functions.items()})


def run(pack, driver, name, module):
    c = case(pack, name)
    return driver.run(module, c.params, pack.grader.make_inputs(c, 3), "cpu")


def test_the_driver_hands_over_plain_python_as_the_readme_says(pack, driver):
    seen = []

    def record(*args):
        seen.append(args)
        return 0.0

    run(pack, driver, "psi_numeric_drift_and_missing", fake(psi=record))
    ref, live, edges = seen[1]                                # the batch with drift and missing values
    assert type(ref) is list and {type(v) for v in ref} == {float, type(None)}
    assert {type(v) for v in live} == {float, type(None)}
    assert type(edges) is list and edges and {type(e) for e in edges} == {float} and edges == sorted(edges)
    assert seen[3][1] == [] and set(seen[4][1]) == {None}     # an empty batch; an all-missing one

    seen.clear()
    run(pack, driver, "psi_categorical_unseen_and_missing", fake(psi_categorical=record))
    assert {type(v) for v in seen[1][0] + seen[1][1]} == {int, type(None)}
    assert 0 in seen[1][0]                                    # category 0 is a value, not a missing one

    def alerts(values, high, low, k_on, m_off):
        seen.append((values, high, low, k_on, m_off))
        return [False] * len(values)
    seen.clear()
    out = run(pack, driver, "alerts_with_hysteresis", fake(alerts=alerts))
    values, *rest = seen[0]
    assert None in values and {type(v) for v in values} == {float, type(None)}
    assert [type(x) for x in rest] == [float, float, int, int] and out["states"].dtype == bool


@pytest.mark.parametrize("name, module, words", [
    ("ks_heavy_ties", fake(), "does not define ks_statistic"),
    ("ks_heavy_ties", fake(ks_statistic=lambda a, b: True), "float or None"),
    ("ks_heavy_ties", fake(ks_statistic=lambda a, b: "0.1"), "float or None"),
    ("ks_heavy_ties", fake(ks_statistic=lambda a, b: [0.1]), "float or None"),
    ("ks_heavy_ties", fake(ks_statistic=lambda a, b: math.nan), "NaN"),       # no value is None
    ("psi_values_on_the_edges", fake(psi=lambda a, b, e: float("nan")), "NaN"),
    ("alerts_at_the_thresholds", fake(alerts=lambda v, *a: [False] * (len(v) - 1)), "list of 9 bools"),
    ("alerts_at_the_thresholds", fake(alerts=lambda v, *a: [0] * len(v)), "list of 9 bools"),
    ("alerts_at_the_thresholds", fake(alerts=lambda v, *a: tuple([False] * len(v))), "list of 9 bools"),
])
def test_the_driver_refuses_returns_that_break_the_contract(pack, driver, name, module, words):
    with pytest.raises(driver.ContractError, match=words):
        run(pack, driver, name, module)


def test_the_driver_imports_numpy_and_the_standard_library_only():
    source = (paths.sandbox_dir() / "drivers" / f"{EXERCISE}.py").read_text()
    imports = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"numpy", "contract", "math"}


@pytest.mark.parametrize("line", ["import numpy as np", "from scipy.stats import ks_2samp", "import pandas",
                                  "import sklearn.metrics", "from numpy import histogram"])
def test_libraries_that_make_it_trivial_are_rejected(line):
    rules = get_exercise(EXERCISE).rules
    assert [rule for rule, _ in violations(line + "\n", rules)] == ["forbidden-import"]


def test_the_standard_library_is_allowed():
    source = "import math, bisect, statistics, fractions, heapq\nfrom collections import Counter\n"
    assert violations(source, get_exercise(EXERCISE).rules) == []


def test_an_empty_allow_list_reads_as_the_standard_library_only(pack, tmp_path):
    """The first pack with allowed_imports = []: neither the handout nor the run-time message may
    read 'the standard library and ' with nothing after it."""
    import sys

    from dlverify.packs.handout import render_readme

    text = render_readme(pack.exercise)
    assert "**Imports allowed** the Python standard library only;" in text and "library): ;" not in text
    sys.path.insert(0, str(paths.sandbox_dir()))
    try:
        from import_guard import ImportGuard
    finally:
        sys.path.remove(str(paths.sandbox_dir()))
    guard = ImportGuard()
    guard.allowed_imports, guard.forbidden_imports = set(sys.stdlib_module_names), ()
    assert guard._import_allowed("numpy", ()) == "importing 'numpy' is not allowed (allowed: the standard library only)"


def test_the_bench_workload_counts_every_value_once(pack):
    bench = next(c for c in pack.cases if c.kind == "bench")
    p = bench.params
    work = workload(EXERCISE, p)
    assert work.bytes == 8.0 * (p["n"] + sum(p["batches"]))
    assert work.dtype == "float64" and work.flops > work.bytes / 8        # a log-n search or sort per value
    with pytest.raises(KeyError):
        workload(EXERCISE, case(pack, "alerts_with_hysteresis").params)
