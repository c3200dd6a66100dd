"""A candidate's verdict from what the web app holds: their answers and their latest graded
uploads, through the same verdict engine as `dlverify verdict`."""

from __future__ import annotations

from typing import Any

from ..verdict.answers import Answers, AnswersError
from ..verdict.results import ResultsError, results_from_dicts
from .models import Invite, Upload


def latest_uploads(invite: Invite) -> dict[str, Upload]:
    """The newest upload of each exercise, graded or not (what a dashboard shows)."""
    return {upload.exercise: upload for upload in invite.uploads}   # ordered by id: the last one wins


def latest_graded(invite: Invite) -> dict[str, Upload]:
    """The last upload of each exercise that was graded (a grader `error` is nobody's answer)."""
    latest: dict[str, Upload] = {}
    for upload in invite.uploads:
        if upload.state == "done" and upload.result is not None:
            latest[upload.exercise] = upload
    return latest


def build(invite: Invite) -> tuple[dict[str, Any] | None, str | None]:
    """(report, None), or (None, why there is no verdict yet)."""
    from ..verdict.engine import build_report

    if not invite.answered:
        return None, "the questionnaire is not finished"
    try:
        answers = Answers.from_dict(invite.answers)
    except AnswersError as exc:
        return None, f"the answers are incomplete ({exc})"
    try:
        results = results_from_dicts((f"upload {u.id}", u.result) for u in latest_graded(invite).values())
    except ResultsError as exc:
        return None, f"a graded result could not be read ({exc})"
    return build_report(answers, results, invite.assessment.role), None
