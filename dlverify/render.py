"""A graded result as the terminal shows it (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .outcome import CaseStatus, Status
from .result import GradeResult
from .terminal_text import markup

STYLE = {
    "passed": "bold green", "failed": "bold red", "rejected": "bold magenta", "timeout": "bold yellow",
    "memory": "bold yellow", "crashed": "bold red", "error": "bold white on red", "not_run": "dim",
    "not_verified": "bold cyan",
}


def _error(value: float | None) -> str:
    return "" if value is None else f"{value:.2e}"


def _gpu_figures(tp) -> str:
    if tp.indicative:
        return ""
    parts = []
    if tp.gbps is not None:
        parts.append(f"{tp.gbps:.0f} GB/s")
    if tp.tflops is not None:
        parts.append(f"{tp.tflops:.1f} TFLOP/s")
    if tp.sol_fraction is not None:
        parts.append(f"{tp.sol_fraction:.2f} of speed of light")
    if tp.vs_torch is not None:
        parts.append(f"{tp.vs_torch:.2f}x torch")
    return "; " + ", ".join(parts) if parts else ""


def show_result(result: GradeResult, console: Console, *, verbose: bool = False) -> None:
    status = result.status.value
    # Anything the candidate can shape (file name, messages, summary) goes through markup(): a `[/]`
    # in an exception's text is text, never rich markup (which would end the command with an
    # error), and an ESC, newline or bidi override is shown as its escape, never obeyed.
    console.print(f"[bold]{result.exercise}[/] · {markup(result.submission_file)} · "
                  f"[{STYLE[status]}]{status.upper()}[/]  {markup(result.summary)}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("case", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for column in ("max abs err", "max rel err", "message"):
        table.add_column(column, overflow="fold")
    for case in result.cases:
        if case.status is CaseStatus.PASSED and not verbose:
            table.add_row(markup(case.name), f"[{STYLE['passed']}]passed[/]", _error(case.max_abs_error),
                          _error(case.max_rel_error), "")
            continue
        message = case.message if verbose else (case.message.strip().splitlines() or [""])[-1][:160]
        table.add_row(markup(case.name), f"[{STYLE[case.status.value]}]{case.status.value}[/]",
                      _error(case.max_abs_error), _error(case.max_rel_error), markup(message, newlines=verbose))
    if result.cases:
        console.print(table)
    tp = result.throughput
    if tp is not None:
        if tp.speedup is not None:
            console.print(f"throughput ({tp.device}{', indicative' if tp.indicative else ''}): "
                          f"{tp.submission_seconds * 1e3:.2f} ms per call vs reference "
                          f"{tp.reference_seconds * 1e3:.2f} ms → {tp.speedup:.2f}x, score {tp.score:.2f}"
                          + _gpu_figures(tp))
        else:
            console.print(f"throughput: {markup(tp.note)}")
    for item in result.not_verified:
        if not item.what.startswith("case "):
            console.print(f"[cyan]not verified[/]: {markup(item.what)}: {markup(item.reason)}")
    for layer in result.sandbox.get("layers", []):
        if not layer["applied"] and layer["name"] != "landlock":
            console.print(f"[yellow]sandbox layer missing[/]: {layer['name']}: {markup(layer['detail'])}")
    if result.status is Status.ERROR:
        console.print("[bold]This is the grader's fault, not the submission's.[/]")
