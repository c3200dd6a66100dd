"""JUnit XML from grader results: one testsuite per graded submission, one testcase per hidden case.

Statuses map as a CI reader expects: the candidate's wrong answers, broken rules,
timeouts, memory kills and crashes are `failure`; the grader's own fault is
`error` (never the candidate's); a case not run here is `skipped`. Candidates'
text (messages, names) is made XML-safe first: XML 1.0 cannot carry most
control characters even escaped, and a terminal reading the log must not obey them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ...report.terminal_text import plain
from .cases import export_cases, wall_seconds

# What XML 1.0 cannot hold at all (after plain() has escaped the controls it knows).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any, *, newlines: bool = False) -> str:
    return _NOT_XML.sub("\ufffd", plain(value, newlines=newlines))


def _seconds(value: float | None) -> str:
    return f"{value:.3f}"


def _timestamp(value: Any) -> str | None:
    """The Ant/Jenkins form: ISO 8601 without a zone (UTC here)."""
    from ..record import parse_time

    when = parse_time(value)
    return when.strftime("%Y-%m-%dT%H:%M:%S") if when is not None else None


def _suite(label: str, result: dict[str, Any]) -> tuple[ET.Element, dict[str, int], float]:
    exercise = str(result.get("exercise", ""))
    cases = export_cases(result)
    counts = {"tests": len(cases), "failures": 0, "errors": 0, "skipped": 0}
    suite = ET.Element("testsuite")
    props = ET.SubElement(suite, "properties")
    device = result.get("device") or {}
    for key, value in (("exercise", exercise), ("status", result.get("status")),
                       ("submission_sha256", result.get("submission_sha256")),
                       ("device", device.get("kind")), ("dlverify", (result.get("versions") or {}).get("dlverify"))):
        if value not in (None, ""):
            ET.SubElement(props, "property", name=key, value=_text(value))
    for case in cases:
        attrs = {"name": _text(case.name), "classname": _text(f"dlverify.{exercise}")}
        if case.seconds is not None:
            attrs["time"] = _seconds(case.seconds)
        element = ET.SubElement(suite, "testcase", attrs)
        outcome = case.outcome
        first = (case.message.strip().splitlines() or [case.status])[0]
        if outcome == "failure":
            counts["failures"] += 1
            ET.SubElement(element, "failure", type=_text(case.status), message=_text(first)).text = \
                _text(case.message, newlines=True)
        elif outcome == "error":
            counts["errors"] += 1
            ET.SubElement(element, "error", type="grader-error", message=_text(first)).text = \
                _text(case.message, newlines=True)
        elif outcome == "skipped":
            counts["skipped"] += 1
            ET.SubElement(element, "skipped", message=_text(first))
    ET.SubElement(suite, "system-out").text = _text(result.get("summary", ""), newlines=True)
    seconds = wall_seconds(result)
    suite.attrib.update({"name": _text(label), **{k: str(v) for k, v in counts.items()}, "time": _seconds(seconds)})
    stamp = _timestamp(result.get("graded_at"))
    if stamp:
        suite.set("timestamp", stamp)
    if not len(props):
        suite.remove(props)
    return suite, counts, seconds


def junit_xml(suites: list[tuple[str, dict[str, Any]]], name: str = "dlverify") -> bytes:
    """A <testsuites> document: one <testsuite> per (label, result)."""
    root = ET.Element("testsuites", name=_text(name))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds = 0.0
    for label, result in suites:
        suite, counts, took = _suite(label, result)
        root.append(suite)
        seconds += took
        for key in totals:
            totals[key] += counts[key]
    root.attrib.update({k: str(v) for k, v in totals.items()})
    root.set("time", _seconds(seconds))
    ET.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n").encode("utf-8")
