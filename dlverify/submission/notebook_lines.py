"""Lines of a notebook's joined source, mapped back to the code cell and the line within it.

A notebook is graded as one file: its code cells joined, each under a header line
(submission.notebook_source). A message about line 49 of that file means nothing to a
candidate who sees cells; these helpers rewrite the line numbers we produce (syntax errors,
rule violations, traceback frames of the submission) as `code cell 4, line 3`.
Only those patterns are rewritten: a candidate's own message that says "line 5" is left as is.
"""

from __future__ import annotations

import re

# The header above each code cell in the joined source; `n` counts code cells from 1, in notebook
# order, skipped ones included (the candidate sees them).
CELL_HEADER = "# --- code cell {n} ---"
_HEADER = re.compile(r"# --- code cell (\d+) ---")

_PATTERNS = (
    # a traceback frame of the submission (worker.trimmed_traceback keeps only those)
    re.compile(r'File "[^"\n]*submission\.py", line (\d+)'),
    # our own messages: a syntax error, a rule broken (`line 3: importing ...`)
    re.compile(r"(?<=syntax error at )line (\d+)"),
    re.compile(r"(?<=rule broken: )line (\d+)(?=:)"),
    re.compile(r"^line (\d+)(?=:)", re.MULTILINE),
)


def cell_lines(source: str) -> dict[int, tuple[int, int]]:
    """Joined line number (from 1) -> (code cell, line within the cell), for every line of a cell."""
    mapping, cell, first = {}, None, 0
    for number, line in enumerate(source.splitlines(), start=1):
        header = _HEADER.fullmatch(line)
        if header:
            cell, first = int(header.group(1)), number + 1
        elif cell is not None:
            mapping[number] = (cell, number - first + 1)
    return mapping


def to_cells(text: str, mapping: dict[int, tuple[int, int]]) -> str:
    """`text` with the joined source's line numbers written as `code cell N, line M`."""
    def where(match: re.Match) -> str:
        spot = mapping.get(int(match.group(1)))
        if spot is None:
            return match.group(0)
        cell_line = f"code cell {spot[0]}, line {spot[1]}"
        return f'File "notebook", {cell_line}' if match.group(0).startswith("File") else cell_line

    for pattern in _PATTERNS:
        text = pattern.sub(where, text)
    return text


def result_to_cells(result, source: str) -> None:
    """Rewrite a notebook's GradeResult in place: summary, case messages, rule violations."""
    mapping = cell_lines(source)
    result.summary = to_cells(result.summary, mapping)
    for case in result.cases:
        case.message = to_cells(case.message, mapping)
    for violation in result.violations:
        violation["detail"] = to_cells(str(violation.get("detail", "")), mapping)
