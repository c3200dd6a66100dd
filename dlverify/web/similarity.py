"""Similar submissions within an assessment, found with copydetect (winnowed token fingerprints,
MOSS's method): each exercise's latest upload of each candidate against every other's."""

from __future__ import annotations

import html
import itertools
import os
import tempfile
from dataclasses import dataclass

from ..submission.read import SubmissionError, read_submission
from ..gradebook.models import TimedAssessment, Upload

K, WINDOW = 25, 1   # copydetect's defaults: 25-token k-grams, every fingerprint kept


@dataclass
class Pair:
    exercise: str
    first: Upload
    second: Upload
    similarity: float          # the larger of the two shares of matching code
    first_html: str            # each side's code, matching regions marked
    second_html: str


def _source(upload: Upload) -> str | None:
    """The graded text (a notebook's code cells joined), read as `grade` reads it."""
    with tempfile.TemporaryDirectory(prefix="dlverify-similar-") as folder:
        path = os.path.join(folder, f"solution{upload.suffix}")
        with open(path, "wb") as f:
            f.write(upload.content)
        try:
            return read_submission(path).source
        except SubmissionError:
            return None


def _marked(code: str, slices) -> str:
    out, at = [], 0
    for start, end in sorted(zip(slices[0], slices[1])):
        if start < at:
            continue
        out += [html.escape(code[at:start]), "<mark>", html.escape(code[start:end]), "</mark>"]
        at = end
    out.append(html.escape(code[at:]))
    return "".join(out)


def pairs(assessment: TimedAssessment, threshold: float) -> list[Pair]:
    import copydetect

    found = []
    for exercise in assessment.exercises:
        latest: dict[int, Upload] = {}
        for invite in assessment.invites:
            for upload in invite.uploads:
                if upload.exercise == exercise:
                    latest[invite.id] = upload
        prints = {}
        with tempfile.TemporaryDirectory(prefix="dlverify-similar-") as folder:
            for invite_id, upload in latest.items():
                source = _source(upload)
                if source is None:
                    continue
                path = os.path.join(folder, f"{invite_id}.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(source)
                prints[invite_id] = (upload, copydetect.CodeFingerprint(path, K, WINDOW))
        for (_, (a, fa)), (_, (b, fb)) in itertools.combinations(sorted(prints.items()), 2):
            _overlap, (sim_a, sim_b), (slices_a, slices_b) = copydetect.compare_files(fa, fb)
            score = max(sim_a, sim_b)
            if score >= threshold:
                found.append(Pair(exercise, a, b, score, _marked(fa.raw_code, slices_a),
                                  _marked(fb.raw_code, slices_b)))
    return sorted(found, key=lambda p: -p.similarity)
