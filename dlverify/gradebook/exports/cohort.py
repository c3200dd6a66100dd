"""A cohort (or one candidate of it) in an export format, from the database: what
`dlverify gradebook export` writes and the web app's export links download."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import queries
from ..errors import GradebookError
from ..models import Cohort

MEDIA = {"csv": "text/csv", "junit": "application/xml", "gradescope": "application/json"}
SUFFIX = {"csv": ".csv", "junit": ".xml", "gradescope": ".json"}


@dataclass(frozen=True)
class Export:
    format: str          # csv | junit | gradescope
    policy: str = "latest"
    candidate: str | None = None
    exercise: str | None = None
    exercises: tuple[str, ...] | None = None   # csv: these columns (default: every exercise with an attempt)
    with_status: bool = False          # csv: a status column after each exercise
    visibility: str = "visible"        # gradescope: when students see each test


def export_text(session: Session, cohort: Cohort, spec: Export) -> str:
    """The export as text, or a GradebookError saying in one line why there is nothing to export."""
    from .gradescope import gradescope_results
    from .junit import junit_xml
    from .table import cohort_rows, write_csv

    if spec.format not in MEDIA:
        raise GradebookError(f"unknown export format {spec.format!r} (one of {', '.join(MEDIA)})")
    if spec.format == "gradescope" and spec.candidate is None:
        raise GradebookError("a Gradescope results.json is one candidate's: name them")
    if spec.candidate is not None:
        queries.find_candidate(session, cohort, spec.candidate)
    if spec.format == "csv":
        exercises = ([spec.exercise] if spec.exercise else list(spec.exercises) if spec.exercises
                     else queries.exercises(session, cohort))
        people = [p for p in queries.candidates(session, cohort, spec.policy)
                  if spec.candidate is None or p.name == spec.candidate]
        header, rows = cohort_rows(people, exercises, with_status=spec.with_status)
        out = io.StringIO(newline="")
        write_csv(out, header, rows)
        return out.getvalue()
    counted = queries.counted_attempts(session, cohort, spec.policy, candidate=spec.candidate,
                                       exercise=spec.exercise)
    pairs = [(f"{a.candidate.name}/{a.assessment.exercise}", a.result) for a in counted]
    if not pairs:
        raise GradebookError(f"nothing to export: no attempt in cohort {cohort.name!r}"
                             + (f" for {spec.candidate!r}" if spec.candidate else "")
                             + (f" on {spec.exercise}" if spec.exercise else ""))
    if spec.format == "junit":
        return junit_xml(pairs, name=cohort.name).decode("utf-8")
    return json.dumps(gradescope_results([result for _, result in pairs], visibility=spec.visibility),
                      indent=2) + "\n"
