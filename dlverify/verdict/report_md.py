"""The Markdown report: the same content as the HTML page, for a repository or a ticket."""

from __future__ import annotations

from typing import Any

from .report_text import (ADVICE_LABELS, EVIDENCE_LABELS, GATE_NOTE, candidate_line, exercises_cell, level,
                          model_note, salary_lines)


def _cell(text: Any) -> str:
    """A table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _line(text: Any) -> str:
    """Free text from answers or results on one line, so it cannot start a heading or a list."""
    return " ".join(str(text).split())


def render_markdown(report: dict[str, Any]) -> str:
    out: list[str] = []
    add = out.append
    add(f"# {report['role_title']}: qualification assessment")
    add("")
    add(f"**{report['verdict_title'].upper()}** - **{report['match_percent']:.1f}% match** - "
        f"**{report['timeline']}**")
    add("")
    add(report["summary"])
    if report["gate"]["applied"]:
        add("")
        add("> " + GATE_NOTE.format(missing=", ".join(report["gate"]["missing"])))
    add("")
    add(f"Candidate: {_line(candidate_line(report))}  ")
    add(f"Generated: {report['generated_at']}")
    add("")
    add("## Verdict")
    for key, value in report["advice"].items():
        add("")
        add(f"**{ADVICE_LABELS[key]}:**" + ("" if isinstance(value, list) else f" {_line(value)}"))
        if isinstance(value, list):
            add("")
            out.extend(f"- {_line(v)}" for v in value)
    add("")
    add("## Claimed against verified, by skill area")
    add("")
    add("| Area | Claimed | Verified | Checked |")
    add("|---|---:|---:|---:|")
    for a in report["areas"]:
        add(f"| {_cell(a['title'])} | {level(a['claimed'])} | {level(a['evidence_weighted'])} | "
            f"{a['checked']}/{a['skills']} |")
    add("")
    add("Levels on the questionnaire's 0-10 scale. Verified: what the match counts (verified levels where an "
        "exercise was graded, discounted claims elsewhere). The HTML report draws this as a radar chart.")
    add("")
    add("## Calibration: claim and evidence side by side")
    add("")
    add(report["calibration"]["summary"])
    add("")
    add(f"*{report['calibration']['rule']}*")
    add("")
    add("| Skill | Claimed | Verified | Counted | Evidence | Calibration | Exercises |")
    add("|---|---:|---:|---:|---|---|---|")
    for s in report["skills"]:
        add(f"| {_cell(s['title'])} | {level(s['claimed'])} | {level(s['verified'])} | {level(s['effective'])} | "
            f"{EVIDENCE_LABELS[s['evidence']]} | {s['calibration']} | {_cell(exercises_cell(s))} |")
    notes = {}
    for s in report["skills"]:
        for e in s["exercises"]:
            if e["outcome"] != "not_submitted":
                notes.setdefault(e["exercise"], e["note"])
    if notes:
        add("")
        add("Graded exercises:")
        add("")
        out.extend(f"- `{ex}`: {_line(note)}" for ex, note in notes.items())
    add("")
    add("## How the match was computed")
    add("")
    add("| Criterion | Kind | Weight | Score | Points | Basis |")
    add("|---|---|---:|---:|---:|---|")
    for c in report["criteria"]:
        add(f"| {_cell(c['title'])} | {c['kind']} | {c['weight']:g} | {c['score'] * 100:.0f}% | {c['points']:.1f} | "
            f"{_cell(c['basis'])} |")
    add("")
    add(model_note(report))
    add("")
    add("## Your roadmap")
    for title, key in (("Next 30 days", "next_30_days"), ("3-6 months", "months_3_6"), ("6-12 months", "months_6_12")):
        add("")
        add(f"### {title}")
        add("")
        out.extend(f"- [ ] {_line(item)}" for item in report["roadmap"][key])
    add("")
    add("## Top 5 resources for your gaps")
    add("")
    for i, r in enumerate(report["resources"], 1):
        title = f"[{r['title']}]({r['url']})" if r["url"] else r["title"]
        add(f"{i}. {title} ({r['kind']}; {r['provider']}; {r['cost']}) - for: {r['gap_title']}")
    add("")
    add("## Salary reality check")
    add("")
    out.extend(f"- {_line(line)}" for line in salary_lines(report["salary"]))
    add("")
    add("Assumptions:")
    add("")
    out.extend(f"- {a}" for a in report["salary"]["assumptions"])
    add("")
    add("## Your single next action (within 7 days)")
    add("")
    add(f"**{_line(report['roadmap']['next_action'])}**")
    add("")
    return "\n".join(out)
