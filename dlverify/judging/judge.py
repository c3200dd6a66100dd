"""The trusted comparison of one case: the pack's expected answer against what came back."""

from __future__ import annotations

from .compare import Check
from ..errors import GraderFault
from ..packs.loading import GraderContext, Pack


def judge(pack: Pack, ctx: GraderContext, case, inputs, outputs) -> Check:
    """The trusted comparison. check() must validate whatever came back, so an
    exception from it (or from expected()) is our bug: reported as such, never
    blamed on the candidate."""
    try:
        want = pack.grader.expected(case, inputs, ctx)
        # Shared for every pack: whatever came back must at least have every output.
        if not isinstance(outputs, dict):
            return Check(False, f"outputs: expected a dict, got {type(outputs).__name__}")
        missing = [str(k) for k in want if k not in outputs]
        if missing:
            return Check(False, f"missing output(s): {', '.join(missing[:5])}")
        return pack.grader.check(case, inputs, outputs, want, ctx)
    except Exception as exc:  # noqa: BLE001
        raise GraderFault(f"{pack.exercise.id}/{case.name}: {type(exc).__name__}: {str(exc)[:300]}") from exc
