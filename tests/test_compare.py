"""dlverify/judging/compare.py on values a candidate controls: every one is a failed Check, never an exception,
and every statistic it reports is a finite number or None (results are JSON with allow_nan=False)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from dlverify.judging.compare import Check, compare_arrays, compare_scalar
from dlverify.outcome import CaseStatus, Status
from dlverify.report.result import CaseResult, GradeResult, Throughput


def _numbers_or_none(check: Check) -> bool:
    """inf is a fair figure for an overflowed error (the result writes it as null); NaN is none."""
    return all(v is None or not math.isnan(v) for v in (check.max_abs_error, check.max_rel_error))


@pytest.mark.parametrize("got", [10**400, -10**400, True, float("nan"), float("inf"), complex(1, 2),
                                 torch.tensor(2.0), np.float64(2.0), "2.0", None, [2.0]],
                         ids=lambda v: type(v).__name__)
def test_scalar_from_a_candidate_is_a_failure_not_an_exception(got):
    check = compare_scalar("scale", got, 2.0, 0.0, 0.0)
    assert not check.ok and check.message.startswith("scale: ") and "\n" not in check.message
    assert _numbers_or_none(check)


def test_scalar_statistics_overflow_to_inf_and_stay_the_worst():
    check = compare_scalar("scale", 1e300, 0.0, 0.0, 0.0)         # relative error against an exact 0
    assert not check.ok and check.max_abs_error == 1e300 and check.max_rel_error == math.inf
    assert (check & compare_scalar("other", 1.0, 1.0, 0.0, 0.0)).max_rel_error == math.inf
    assert compare_scalar("scale", 10**300, 1.0, 0.0, 0.0).max_abs_error == pytest.approx(1e300)


@pytest.mark.parametrize("got, want", [
    (np.array([1e300, 1.0]), np.array([0.0, 1.0])),                    # rel = 1e300 / 1e-12
    (np.array([1.7e308, 0.0]), np.array([-1.7e308, 0.0])),             # the difference itself overflows
    (torch.tensor([1.7e308], dtype=torch.float64), torch.tensor([-1.7e308], dtype=torch.float64)),
])
def test_array_statistics_overflow_without_an_exception(got, want):
    check = compare_arrays("g", got, want, 1e-10, 1e-9)
    assert not check.ok and _numbers_or_none(check)
    assert check.max_abs_error is None or check.max_abs_error >= 1e300


@pytest.mark.parametrize("got", [torch.zeros(2, dtype=torch.complex128), torch.zeros((), dtype=torch.float64),
                                 torch.zeros(2, dtype=torch.bool), np.zeros(2), 10**400, True],
                         ids=lambda v: type(v).__name__)
def test_arrays_of_the_wrong_kind_fail(got):
    check = compare_arrays("g", got, torch.zeros(2, dtype=torch.float64), 0.0, 0.0)
    assert not check.ok and check.message.startswith("g: ")


def test_a_result_with_non_finite_figures_still_writes():
    """Whatever got into a result, its JSON is written: a non-finite figure is null."""
    result = GradeResult("e", "t", "s.py", "0" * 64, Status.FAILED, "",
                         cases=[CaseResult("c", CaseStatus.FAILED, "", 1e300, math.inf, math.nan)],
                         throughput=Throughput("cpu", True, gbps=math.inf, per_case=[{"gbps": -math.inf}]))
    data = json.loads(result.to_json())
    assert data["cases"][0]["max_abs_error"] == 1e300
    assert data["cases"][0]["max_rel_error"] is None and data["cases"][0]["seconds"] is None
    assert data["throughput"]["gbps"] is None and data["throughput"]["per_case"][0]["gbps"] is None


def test_exact_integers_are_compared_as_integers_not_as_float64():
    """2**61 + 1 and 2**61 are the same float64: an exact int64 comparison must still tell them
    apart (reported by the ring_allreduce and quantize helpers)."""
    import numpy as np
    import torch

    from dlverify.judging.compare import compare_arrays

    big = np.array([2 ** 61, 5], dtype=np.int64)
    off = big.copy()
    off[0] += 1
    result = compare_arrays("acc", off, big, 0.0, 0.0)
    assert not result.ok and "1 of 2" in result.message and "2305843009213693953" in result.message
    assert compare_arrays("acc", big.copy(), big, 0.0, 0.0).ok
    t = torch.tensor(big)
    assert not compare_arrays("acc", t + torch.tensor([1, 0]), t, 0.0, 0.0).ok
