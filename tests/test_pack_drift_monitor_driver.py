"""Host-side tests of drift_monitor's driver (what a submission is handed and what it may return),
its rules and its bench's workload model. The grader's answer: tests/test_pack_drift_monitor.py."""

from __future__ import annotations

import math

import pytest

from dlverify import paths
from dlverify.gpu.workload import workload
from dlverify.packs.registry import get_exercise
from dlverify.screening.static_rules import violations

EXERCISE = "drift_monitor"


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


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


def test_the_bench_workload_counts_every_value_once(pack):
    bench = next(c for c in pack.cases if c.kind == "bench")
    p = bench.params
    work = workload(EXERCISE, p)
    assert work.bytes == 8.0 * (p["n"] + sum(p["batches"]))
    assert work.dtype == "float64" and work.flops > work.bytes / 8        # a log-n search or sort per value
    with pytest.raises(KeyError):
        workload(EXERCISE, case(pack, "alerts_with_hysteresis").params)
