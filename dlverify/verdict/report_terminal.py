"""The terminal report (rich). Text objects, never markup strings, carry anything
that came from the answers or the grader, so a `[bold]` in an answer is shown
as typed rather than interpreted; and every string of the report is made plain
first (terminal_text.py), so an ESC sequence or bidi override in an answer or a
result's summary is shown as its escape, never obeyed by the terminal.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..report.terminal_text import plain_deep
from .report_text import (ADVICE_LABELS, EVIDENCE_LABELS, GATE_NOTE, candidate_line, level, salary_lines)

BAND_STYLES = {
    "QUALIFIED_NOW": "bold white on green",
    "NEARLY_QUALIFIED": "bold black on yellow",
    "SIGNIFICANT_GAPS": "bold white on dark_orange3",
    "NOT_CURRENTLY_VIABLE": "bold white on red",
}
CAL_STYLES = {"over-claimed": "red", "under-claimed": "blue", "consistent": "green", "unverified": "dim"}
EVIDENCE_STYLES = {"verified": "green", "failed": "bold red", "unverified": "dim"}


def _header(report: dict[str, Any]) -> Panel:
    parts = [
        Text.assemble((f" {report['verdict_title'].upper()} ", BAND_STYLES[report["verdict"]]),
                      ("  ", ""), (f"{report['match_percent']:.1f}% match", "bold"),
                      ("  ", ""), (report["timeline"], "italic")),
        Text(report["summary"]),
    ]
    if report["gate"]["applied"]:
        parts.append(Text(GATE_NOTE.format(missing=", ".join(report["gate"]["missing"])), style="yellow"))
    parts.append(Text(candidate_line(report), style="dim"))
    return Panel(Group(*parts), title=f"{report['role_title']}: qualification assessment", title_align="left")


def _items(marker: str, items: list[str]) -> Table:
    """A list with a hanging indent, so wrapped lines stay under their text."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for item in items:
        grid.add_row(Text(f"  {marker}"), Text(item))
    return grid


def _advice(report: dict[str, Any]) -> Group:
    rows: list[Any] = []
    for key, value in report["advice"].items():
        rows.append(Text(ADVICE_LABELS[key], style="bold"))
        rows.append(_items("-", value if isinstance(value, list) else [value]))
    return Group(*rows)


def _skills(report: dict[str, Any]) -> Table:
    table = Table(title="Claim and evidence by skill (0-10)", title_justify="left", expand=False)
    table.add_column("Skill")
    table.add_column("Claimed", justify="right")
    table.add_column("Verified", justify="right")
    table.add_column("Counted", justify="right")
    table.add_column("Evidence")
    table.add_column("Calibration")
    for s in report["skills"]:
        table.add_row(s["title"], level(s["claimed"]), level(s["verified"]), level(s["effective"]),
                      Text(EVIDENCE_LABELS[s["evidence"]], style=EVIDENCE_STYLES[s["evidence"]]),
                      Text(s["calibration"], style=CAL_STYLES[s["calibration"]]))
    return table


def _checklist(title: str, items: list[str]) -> Group:
    return Group(Text(title, style="bold"), _items("[ ]", items))


def render_terminal(report: dict[str, Any], console: Console) -> None:
    report = plain_deep(report)

    def show(*things: Any) -> None:
        # wrap to the terminal even on a soft-wrapping console: panels and grids need it
        console.print(*things, soft_wrap=False)

    show(_header(report))
    show(_advice(report))
    show()
    show(_skills(report))
    show(Text(report["calibration"]["summary"]))
    show(Text(report["calibration"]["rule"], style="dim"))
    notes: dict[str, str] = {}
    for s in report["skills"]:
        for e in s["exercises"]:
            if e["outcome"] != "not_submitted":
                notes.setdefault(e["exercise"], e["note"])
    if notes:
        show(_items("-", [f"{ex}: {note}" for ex, note in notes.items()]))
    show()
    gaps = Text("Largest gaps (match points lost): ", style="bold")
    gaps.append(", ".join(f"{g['title']} ({g['points']:.1f})" for g in report["top_gaps"][:3]) or "none", style="")
    show(gaps)
    show()
    show(_checklist("Next 30 days", report["roadmap"]["next_30_days"]))
    show(_checklist("3-6 months", report["roadmap"]["months_3_6"]))
    show(_checklist("6-12 months", report["roadmap"]["months_6_12"]))
    show()
    show(Text("Top 5 resources for your gaps", style="bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    for i, r in enumerate(report["resources"], 1):
        grid.add_row(Text(f"  {i}."), Text.assemble(r["title"], (f" ({r['kind']}; {r['provider']}; {r['cost']})"
                                                            f" - for {r['gap_title']}", "dim")))
    show(grid)
    show()
    show(Text("Salary reality check", style="bold"))
    show(_items("-", salary_lines(report["salary"])))
    show(Text("  Assumptions:", style="dim"))
    show(_items("-", [str(a) for a in report["salary"].get("assumptions", [])]))
    show()
    show(Panel(Text(report["roadmap"]["next_action"]), title="Your single next action (within 7 days)",
                        title_align="left", border_style="blue"))
