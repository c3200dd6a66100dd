"""Every pack, validated as CI and pack authors run it: `dlverify validate` as a test.

The reference and every known-good solution must pass; every known-bad one and
the untouched starter must not, with the status its first line names.
"""

from __future__ import annotations

import pytest

from dlverify.packs.manifest import load_manifest
from dlverify.packs.registry import EXERCISE_IDS
from dlverify.packs.validate import WRONG_LINE, expectations, run_validate


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_pack_validates(exercise_id):
    outcomes = run_validate([exercise_id], device="cpu", jobs=2)
    bad = [f"{o.expectation.role}/{o.expectation.path.name}: got {o.status} ({o.summary})"
           for o in outcomes if not o.ok]
    assert not bad, "\n".join(bad)
    exercise = load_manifest(exercise_id)
    if not exercise.needs_gpu:
        # On CPU a CPU-capable pack is really verified, not waved through.
        assert not any(o.not_verified for o in outcomes)
        assert any(o.expectation.role == "reference" and o.status == "passed" for o in outcomes)


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_pack_has_enough_known_bad_solutions(exercise_id):
    wrong = [e for e in expectations(exercise_id) if e.role == "wrong"]
    minimum = 3 if load_manifest(exercise_id).needs_gpu else 5
    assert len(wrong) >= minimum
    assert all(e.why for e in wrong)


def test_wrong_line_format():
    assert WRONG_LINE.match("# WRONG(failed): sums instead of averaging")
    assert WRONG_LINE.match("# WRONG(timeout|crashed): spins")
    assert not WRONG_LINE.match("# wrong: lower case and no status")


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_manifest_handout_is_safe(exercise_id):
    exercise = load_manifest(exercise_id)
    for name in exercise.handout:
        path = (exercise.folder / name).resolve()
        assert path.is_relative_to(exercise.folder.resolve()), name
    assert exercise.limits.wall_seconds <= 600
