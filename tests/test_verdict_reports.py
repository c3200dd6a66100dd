"""The four reports: same inputs give the same bytes (but for the timestamp),
hostile answer text stays text, and the radar chart's geometry follows the data."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from rich.console import Console

from dlverify.verdict.answers import Answers
from dlverify.verdict.engine import build_report, report_json
from dlverify.verdict.radar import CLAIMED, VERIFIED, radar_svg
from dlverify.verdict.report_html import render_html
from dlverify.verdict.report_md import render_markdown
from dlverify.verdict.report_terminal import render_terminal
from dlverify.verdict.results import results_from_dicts

from verdict_helpers import answers_dict, result_doc

T1 = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
T2 = datetime(2026, 7, 9, 8, 30, tzinfo=timezone.utc)
DOCS = [result_doc("backprop_mlp"), result_doc("attention"), result_doc("mixed_precision", "failed", passed=2)]


def report_at(now, docs=DOCS, **overrides):
    answers = Answers.from_dict(answers_dict(**overrides))
    return build_report(answers, results_from_dicts([(d["exercise"], d) for d in docs]), "engineer", now=now)


def terminal(report) -> str:
    out = io.StringIO()
    render_terminal(report, Console(file=out, width=100, color_system=None, force_terminal=False))
    return out.getvalue()


RENDERERS = {"json": report_json, "md": render_markdown, "html": render_html, "terminal": terminal}


@pytest.mark.parametrize("kind", RENDERERS)
def test_same_inputs_same_bytes_apart_from_the_timestamp(kind):
    render = RENDERERS[kind]
    a = render(report_at(T1))
    b = render(report_at(T1, docs=list(reversed(DOCS))))       # result order does not matter
    c = render(report_at(T2))
    assert a == b
    if kind == "terminal":   # the terminal report shows no timestamp
        assert a == c
    else:
        assert a != c
        assert a.replace("2025-03-01T12:00:00Z", "T") == c.replace("2026-07-09T08:30:00Z", "T")


def test_json_report_has_the_issue_fields():
    data = json.loads(report_json(report_at(T1)))
    assert data["schema"] == "dlverify.verdict/1" and data["generated_at"] == "2025-03-01T12:00:00Z"
    assert data["verdict"] in ("QUALIFIED_NOW", "NEARLY_QUALIFIED", "SIGNIFICANT_GAPS", "NOT_CURRENTLY_VIABLE")
    assert isinstance(data["match_percent"], float) and data["role"] == "engineer"
    for skill in data["skills"]:
        assert {"id", "claimed", "verified", "evidence", "calibration", "exercises"} <= set(skill)
        assert 0 <= skill["claimed"] <= 1 and (skill["verified"] is None or 0 <= skill["verified"] <= 1)
        assert skill["evidence"] in ("verified", "failed", "unverified")
        assert skill["calibration"] in ("over-claimed", "under-claimed", "consistent", "unverified")
    mp = next(s for s in data["skills"] if s["id"] == "mixed-precision")
    assert mp["evidence"] == "failed" and mp["exercises"][0]["exercise"] == "mixed_precision"


HOSTILE = "<script>alert(1)</script> [bold red]| # x"


def test_hostile_answer_text_is_shown_as_text_everywhere():
    report = report_at(T1, goals={"location": HOSTILE, "current_role": HOSTILE})
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = render_markdown(report)
    assert HOSTILE in md           # free text stays on its line, verbatim
    term = terminal(report)
    assert "[bold red]|" in term   # not interpreted as rich markup


def test_html_is_self_contained():
    html = render_html(report_at(T1))
    lowered = html.lower()
    for needle in ("<script", "<link", "@import", "src=", "url("):
        assert needle not in lowered, needle
    assert lowered.count("<svg") == 1 and "calibration: claim and evidence side by side" in lowered
    ET.fromstring(html[html.index("<svg"):html.index("</svg>") + 6])   # the inline SVG is well-formed XML


def test_markdown_has_every_section_and_checkboxes():
    md = render_markdown(report_at(T1))
    for heading in ("## Verdict", "## Claimed against verified, by skill area", "## Calibration",
                    "## Your roadmap", "### Next 30 days", "### 3-6 months", "### 6-12 months",
                    "## Top 5 resources for your gaps", "## Salary reality check",
                    "## Your single next action (within 7 days)"):
        assert heading in md
    assert md.count("- [ ] ") == 9
    assert "**NEARLY QUALIFIED**" in md


def test_terminal_report_names_verdict_and_next_action():
    text = terminal(report_at(T1))
    assert "NEARLY QUALIFIED" in text and "Your single next action" in text and "[ ]" in text
    assert "over-claimed" in text and "Seattle (+25%)" in text


def _points(attr: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in attr.split()]


def test_radar_vertices_sit_at_the_levels():
    areas = [{"id": f"a{i}", "title": f"Area {i}", "claimed": c, "evidence_weighted": v, "checked": i % 2}
             for i, (c, v) in enumerate([(1.0, 0.5), (0.5, 0.25), (0.0, 0.0), (0.8, 0.8), (0.3, 0.9)])]
    root = ET.fromstring(radar_svg(areas))
    ns = "{http://www.w3.org/2000/svg}"
    polys = {p.get("stroke"): p for p in root.iter(f"{ns}polygon") if p.get("stroke") in (CLAIMED, VERIFIED)}
    claimed, verified = _points(polys[CLAIMED].get("points")), _points(polys[VERIFIED].get("points"))
    grid = [p for p in root.iter(f"{ns}polygon") if p.get("fill") == "none"]
    outer = _points(grid[-1].get("points"))       # the 10/10 ring
    centre = (float(root.find(f"{ns}line").get("x1")), float(root.find(f"{ns}line").get("y1")))
    full = math.dist(centre, outer[0])
    for i, a in enumerate(areas):
        assert math.dist(centre, claimed[i]) == pytest.approx(full * a["claimed"], abs=0.2)
        assert math.dist(centre, verified[i]) == pytest.approx(full * a["evidence_weighted"], abs=0.2)
    assert claimed[0][1] < centre[1] and claimed[0][0] == pytest.approx(centre[0], abs=0.1)   # axis 0 points up
    hollow = [c for c in root.iter(f"{ns}circle") if c.get("fill") == "#ffffff"]
    assert len(hollow) == sum(1 for a in areas if not a["checked"])
    with pytest.raises(ValueError):
        radar_svg(areas[:2])


def test_two_processes_write_identical_files(tmp_path):
    """Across processes (different hash seeds) and with SOURCE_DATE_EPOCH pinning the clock: byte-identical."""
    import os
    import subprocess
    import sys

    from verdict_helpers import SAMPLE_ANSWERS

    results = tmp_path / "results"
    results.mkdir()
    for doc in DOCS:
        (results / f"{doc['exercise']}.json").write_text(json.dumps(doc))
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1700000000"}
        done = subprocess.run([sys.executable, "-m", "dlverify.cli", "verdict", "--answers", str(SAMPLE_ANSWERS),
                               "--results", str(results), "--json", str(out / "r.json"), "--md", str(out / "r.md"),
                               "--html", str(out / "r.html")], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.append([(out / name).read_bytes() for name in ("r.json", "r.md", "r.html")])
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0][0])["generated_at"] == "2023-11-14T22:13:20Z"


def test_html_table_headers_line_up_with_their_numbers():
    """A right-aligned number under a left-aligned header sits under the next column's title."""
    from html.parser import HTMLParser

    class Tables(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows: list[list[tuple[str, bool]]] = []

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag in ("th", "td") and self.rows:
                self.rows[-1].append((tag, "num" in (dict(attrs).get("class") or "").split()))

    parser = Tables()
    parser.feed(render_html(report_at(T1)))
    header = None
    checked = 0
    for row in parser.rows:
        if row and all(tag == "th" for tag, _ in row):
            header = [numeric for _, numeric in row]
        elif header is not None and len(row) == len(header):
            assert [numeric for _, numeric in row] == header, (header, row)
            checked += 1
    assert checked >= 10
    css = render_html(report_at(T1))
    assert "th.num" in css and "text-align:right" in css


def test_the_salary_check_says_its_assumptions_where_it_is_read_and_assumes_no_degree():
    report = report_at(T1)
    text = terminal(report)
    assert "Markdown, HTML and JSON reports" not in text            # no pointer to files nobody wrote
    assert "set by experience, not by degree" in " ".join(text.split())
    from dlverify.verdict.catalogue import load_catalogue

    titles = [level["title"] for level in load_catalogue().salary["levels"]]
    assert titles[0] == "Entry level (0-2 years)"      # the band is by experience, whatever the degree
    assert not any("MS" in t or "degree" in t for t in titles)
