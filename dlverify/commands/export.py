"""`dlverify export`: grader result files as Gradescope's results.json or JUnit XML (no gradebook).

What a Gradescope autograder runs after `dlverify grade ... --json` (docs/gradescope/),
and what a CI job runs over a `grade-batch` output folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    from ..gradebook.exports.gradescope import VISIBILITIES

    p = sub.add_parser("export", help="result files as Gradescope's results.json or JUnit XML",
                       description="Convert grader result JSON (files, or folders of them: a grade-batch --out "
                                   "folder) to Gradescope's results.json (one submission: every result is "
                                   "one part of it) or JUnit XML (a testsuite per result).")
    p.add_argument("results", nargs="+", type=Path, metavar="RESULT_OR_FOLDER",
                   help="result JSON files (dlverify grade --json), or folders of them (grade-batch --out)")
    p.add_argument("--format", required=True, choices=["gradescope", "junit"],
                   help="gradescope (one submission's results.json) or junit (a testsuite per result)")
    p.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    p.add_argument("--visibility", default="visible", choices=VISIBILITIES,
                   help="gradescope: when students see each test (default: visible)")
    p.set_defaults(func=cmd_export)


def _files(env, targets: list[Path]) -> list[tuple[str, Path]]:
    """(label, file) per result: a file by its stem; a folder's results/*.json (or *.json) by theirs."""
    from ..gradebook.db import GradebookError

    found: list[tuple[str, Path]] = []
    for target in targets:
        path = target if target.is_absolute() else env.cwd / target
        if path.is_dir():
            inner = path / "results" if (path / "results").is_dir() else path
            files = sorted(p for p in inner.glob("*.json") if p.name not in ("summary.json",))
            if not files:
                raise GradebookError(f"{path}: no result files (*.json) in it")
            found += [(p.stem, p) for p in files]
        elif path.is_file():
            found.append((path.stem, path))
        else:
            raise GradebookError(f"{path}: no such file or folder")
    return found


def cmd_export(args, env) -> int:
    from ..gradebook.db import GradebookError
    from ..gradebook.exports.gradescope import gradescope_results
    from ..gradebook.exports.junit import junit_xml
    from ..gradebook.record import check_result
    from .gradebook import write_output

    results = []
    for label, path in _files(env, args.results):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise GradebookError(f"{path}: not readable as JSON ({getattr(exc, 'strerror', None) or exc})") from None
        results.append((label, check_result(data, str(path))))
    if args.format == "junit":
        data = junit_xml(results).decode("utf-8")
        return write_output(env, args.out, lambda handle: handle.write(data))
    try:
        document = gradescope_results([r for _, r in results], visibility=args.visibility)
    except ValueError as exc:
        raise GradebookError(f"--format gradescope: {exc}") from None
    return write_output(env, args.out, lambda handle: handle.write(json.dumps(document, indent=2) + "\n"))
