"""The HTML report: one self-contained page (inline CSS and SVG, no scripts, no
fetches), readable offline and printable. Every string from the answers or the
grader is escaped: a location of `<script>` must show as text.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .radar import radar_svg
from .report_text import ADVICE_LABELS, candidate_line, EVIDENCE_LABELS, GATE_NOTE, exercises_cell, level, model_note, salary_lines

BAND_COLOURS = {
    "QUALIFIED_NOW": "#15803d",
    "NEARLY_QUALIFIED": "#b45309",
    "SIGNIFICANT_GAPS": "#c2410c",
    "NOT_CURRENTLY_VIABLE": "#b91c1c",
}
CAL_CLASSES = {"over-claimed": "over", "under-claimed": "under", "consistent": "ok", "unverified": "none"}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1e293b;margin:0;background:#f8fafc;line-height:1.45}
main{max-width:1040px;margin:0 auto;padding:24px}
header{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:20px 24px;margin-bottom:18px}
h1{font-size:22px;margin:0 0 6px} h2{font-size:18px;margin:0 0 12px} h3{font-size:15px;margin:14px 0 6px}
.badge{display:inline-block;color:#fff;font-weight:700;padding:6px 14px;border-radius:999px;letter-spacing:.02em}
.match{font-size:28px;font-weight:700;margin-left:12px;vertical-align:middle}
.muted{color:#64748b;font-size:13px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:18px 24px;margin-bottom:18px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#f1f5f9;font-weight:600} td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.cal{font-weight:600;padding:1px 8px;border-radius:6px;white-space:nowrap}
.cal.over{background:#fee2e2;color:#991b1b}.cal.under{background:#dbeafe;color:#1e40af}
.cal.ok{background:#dcfce7;color:#166534}.cal.none{background:#f1f5f9;color:#475569}
.ev-failed{color:#b91c1c;font-weight:600}.ev-verified{color:#15803d;font-weight:600}.ev-unverified{color:#64748b}
.chart{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
ul.check{list-style:none;padding-left:0} ul.check li{margin:6px 0;padding-left:28px;position:relative}
ul.check li:before{content:"";position:absolute;left:0;top:2px;width:15px;height:15px;border:2px solid #64748b;border-radius:3px}
.next{border-left:6px solid #2563eb}
.gate{background:#fef3c7;border:1px solid #f59e0b;border-radius:8px;padding:8px 12px;margin-top:10px}
code{background:#f1f5f9;padding:1px 4px;border-radius:4px}
"""


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def _text(x: str) -> str:
    """Escape, then show `backticked` words as code (the roadmap names commands that way)."""
    parts = _e(x).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _advice(report: dict[str, Any]) -> str:
    rows = []
    for key, value in report["advice"].items():
        if isinstance(value, list):
            body = "<ul>" + "".join(f"<li>{_text(v)}</li>" for v in value) + "</ul>"
        else:
            body = _text(value)
        rows.append(f"<h3>{_e(ADVICE_LABELS[key])}</h3><div>{body}</div>")
    return "".join(rows)


def _skills_table(report: dict[str, Any]) -> str:
    head = ("<tr><th>Skill</th><th class=num>Claimed</th><th class=num>Verified</th><th class=num>Counted</th><th>Evidence</th>"
            "<th>Calibration</th><th>Exercises</th></tr>")
    rows = []
    for s in report["skills"]:
        rows.append(
            f"<tr><td>{_e(s['title'])}</td><td class=num>{level(s['claimed'])}</td>"
            f"<td class=num>{level(s['verified'])}</td><td class=num>{level(s['effective'])}</td>"
            f"<td class=ev-{_e(s['evidence'])}>{_e(EVIDENCE_LABELS[s['evidence']])}</td>"
            f"<td><span class='cal {CAL_CLASSES[s['calibration']]}'>{_e(s['calibration'])}</span></td>"
            f"<td>{_e(exercises_cell(s))}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _exercise_notes(report: dict[str, Any]) -> str:
    seen, items = set(), []
    for s in report["skills"]:
        for e in s["exercises"]:
            if e["outcome"] != "not_submitted" and e["exercise"] not in seen:
                seen.add(e["exercise"])
                items.append(f"<li><code>{_e(e['exercise'])}</code>: {_e(e['note'])}</li>")
    return f"<h3>Graded exercises</h3><ul>{''.join(items)}</ul>" if items else ""


def _criteria_table(report: dict[str, Any]) -> str:
    head = ("<tr><th>Criterion</th><th>Kind</th><th class=num>Weight</th><th class=num>Score</th>"
            "<th class=num>Points</th><th>Basis</th></tr>")
    rows = "".join(
        f"<tr><td>{_e(c['title'])}</td><td>{_e(c['kind'])}</td><td class=num>{c['weight']:g}</td>"
        f"<td class=num>{c['score'] * 100:.0f}%</td><td class=num>{c['points']:.1f}</td><td class=muted>{_e(c['basis'])}</td></tr>"
        for c in report["criteria"]
    )
    return f"<table>{head}{rows}</table>"


def _checklist(items: list[str]) -> str:
    return "<ul class=check>" + "".join(f"<li>{_text(i)}</li>" for i in items) + "</ul>"


def _resources(report: dict[str, Any]) -> str:
    items = []
    for r in report["resources"]:
        title = f"<a href=\"{_e(r['url'])}\">{_e(r['title'])}</a>" if r["url"] else _e(r["title"])
        items.append(f"<li>{title} <span class=muted>({_e(r['kind'])}; {_e(r['provider'])}; {_e(r['cost'])}) "
                     f"- for: {_e(r['gap_title'])}</span></li>")
    return "<ol>" + "".join(items) + "</ol>"


def render_html(report: dict[str, Any]) -> str:
    colour = BAND_COLOURS[report["verdict"]]
    cal = report["calibration"]
    gate = ""
    if report["gate"]["applied"]:
        gate = f"<div class=gate>{_e(GATE_NOTE.format(missing=', '.join(report['gate']['missing'])))}</div>"
    area_rows = "".join(
        f"<tr><td>{_e(a['title'])}</td><td class=num>{level(a['claimed'])}</td>"
        f"<td class=num>{level(a['evidence_weighted'])}</td><td class=num>{a['checked']}/{a['skills']}</td></tr>"
        for a in report["areas"]
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="dlverify verdict ({_e(report['schema'])})">
<title>dlverify verdict: {_e(report['verdict_title'])} ({report['match_percent']:.1f}%)</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_e(report['role_title'])}: qualification assessment</h1>
<div><span class="badge" style="background:{colour}">{_e(report['verdict_title'].upper())}</span>
<span class="match">{report['match_percent']:.1f}% match</span></div>
<p><strong>{_e(report['timeline'])}.</strong> {_e(report['summary'])}</p>
{gate}
<p class="muted">Candidate: {_e(candidate_line(report))}
Generated {_e(report['generated_at'])}.</p>
</header>

<section>
<h2>Verdict</h2>
{_advice(report)}
</section>

<section>
<h2>Claimed against verified, by skill area</h2>
<div class="chart">
{radar_svg(report['areas'])}
<div style="flex:1;min-width:260px">
<table><tr><th>Area</th><th class=num>Claimed</th><th class=num>Verified</th><th class=num>Checked</th></tr>{area_rows}</table>
<p class="muted">Levels on the questionnaire's 0-10 scale. "Verified" is what the match counts: verified
levels where an exercise was graded, discounted claims elsewhere. Checked: skills in the area with a graded exercise.</p>
</div>
</div>
</section>

<section>
<h2>Calibration: claim and evidence side by side</h2>
<p>{_e(cal['summary'])}</p>
<p class=muted>{_e(cal['rule'])}</p>
{_skills_table(report)}
{_exercise_notes(report)}
</section>

<section>
<h2>How the match was computed</h2>
{_criteria_table(report)}
<p class="muted">{_e(model_note(report))}</p>
</section>

<section>
<h2>Your roadmap</h2>
<h3>Next 30 days</h3>{_checklist(report['roadmap']['next_30_days'])}
<h3>3-6 months</h3>{_checklist(report['roadmap']['months_3_6'])}
<h3>6-12 months</h3>{_checklist(report['roadmap']['months_6_12'])}
</section>

<section>
<h2>Top 5 resources for your gaps</h2>
{_resources(report)}
</section>

<section>
<h2>Salary reality check</h2>
<ul>{''.join(f'<li>{_e(line)}</li>' for line in salary_lines(report['salary']))}</ul>
<h3>Assumptions</h3>
<ul class="muted">{''.join(f'<li>{_e(a)}</li>' for a in report['salary']['assumptions'])}</ul>
</section>

<section class="next">
<h2>Your single next action (within 7 days)</h2>
<p>{_text(report['roadmap']['next_action'])}</p>
</section>
</main>
</body>
</html>
"""
