"""Host-side tests of the drift_monitor pack: the KS statistic against scipy, PSI against a
plain loop, the cases' claims about their data, the check. Sandboxed path: tests/test_packs.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlverify.packs import registry
from dlverify.packs.loading import load_pack

SEED = 21


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("drift_monitor"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def case(pack, name):
    return next(c for c in pack.cases if c.name == name)


@pytest.mark.parametrize("name", ["ks_with_ties_and_missing", "ks_heavy_ties"])
def test_ks_matches_scipy(pack, ctx, name):
    stats = pytest.importorskip("scipy.stats")
    c = case(pack, name)
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)["values"]
    ref = inputs["reference"][~np.isnan(inputs["reference"])]
    checked = 0
    for b in range(len(c.params["batches"])):
        live = inputs[f"live{b}"][~np.isnan(inputs[f"live{b}"])]
        if len(live) == 0:
            assert math.isnan(want[b])
            continue
        assert want[b] == pytest.approx(stats.ks_2samp(ref, live, method="exact").statistic, abs=1e-12)
        checked += 1
    assert checked >= 2


def test_psi_matches_the_readmes_formula_by_hand(pack, ctx):
    c = case(pack, "psi_values_on_the_edges")
    inputs = pack.grader.make_inputs(c, SEED)
    edges = list(inputs["edges"])
    ref, live = inputs["reference"], inputs["live1"]
    on_edge = np.isin(ref, inputs["edges"]).sum()
    assert on_edge > 0                                      # values really sit on edges

    def bins(values):
        counts = [0] * (len(edges) + 2)
        for v in values:
            if math.isnan(v):
                counts[-1] += 1
            else:
                counts[sum(1 for e in edges if v >= e)] += 1   # the bin above an edge value
        return [max(k / len(values), 1e-4) for k in counts]

    p, q = bins(ref), bins(live)
    by_hand = sum((qi - pi) * math.log(qi / pi) for pi, qi in zip(p, q))
    assert pack.grader.expected(c, inputs, ctx)["values"][1] == pytest.approx(by_hand, rel=1e-12)


def test_the_categorical_case_has_unseen_categories_and_missing(pack):
    c = case(pack, "psi_categorical_unseen_and_missing")
    inputs = pack.grader.make_inputs(c, SEED)
    seen = set(inputs["reference"].tolist())
    assert set(inputs["live1"].tolist()) - seen - {-1} and (inputs["live1"] == -1).any()
    assert len(inputs["live2"]) == 0


def test_hysteresis_states_by_hand(pack, ctx):
    c = case(pack, "alerts_with_hysteresis")
    states = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)["states"].tolist()
    # 0.3 0.4 0.05 | 0.3 0.3 none 0.3 -> on | 0.2 0.05 0.2 (run broken) 0.05 0.05 -> off | 0.3
    assert states == [False] * 6 + [True] * 5 + [False, False]
    c = case(pack, "alerts_at_the_thresholds")
    states = pack.grader.expected(c, pack.grader.make_inputs(c, SEED), ctx)["states"].tolist()
    assert states == [False, False, True, True, True, True, True, False, False]


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = case(pack, "ks_heavy_ties")
    inputs = pack.grader.make_inputs(c, SEED)
    want = pack.grader.expected(c, inputs, ctx)
    for outputs in ({}, "x", {"values": want["values"].astype(np.float32)}, {"values": want["values"][:1]},
                    {"values": want["values"].tolist()}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message


def test_an_empty_allow_list_reads_as_the_standard_library_only(pack, tmp_path):
    """The first pack with allowed_imports = []: neither the handout nor the run-time message may
    read 'the standard library and ' with nothing after it."""
    import sys

    from dlverify import paths
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
