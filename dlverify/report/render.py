"""A graded result as the terminal shows it (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ..outcome import CaseStatus, Status
from .result import GradeResult
from .terminal_text import markup

STYLE = {
    "passed": "bold green", "failed": "bold red", "rejected": "bold magenta", "timeout": "bold yellow",
    "memory": "bold yellow", "crashed": "bold red", "error": "bold white on red", "not_run": "dim",
    "not_verified": "bold cyan",
}


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


def _last_line(message: str) -> str:
    return (message.strip().splitlines() or [""])[-1]


def _table(rows: list[tuple[str, ...]], console: Console, verbose: bool) -> None:
    """A terminal's table: the message column folds to the terminal's width."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("case", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("message", overflow="fold")
    for name, status, message in rows:
        table.add_row(markup(name), f"[{STYLE[status]}]{status}[/]", markup(message, newlines=verbose))
    console.print(table)


def _plain_rows(rows: list[tuple[str, ...]], console: Console, verbose: bool) -> None:
    """No terminal (a CI log, a pipe): one whole line per case, never wrapped to an assumed 80
    columns, never cut, so a log line can be read and grepped."""
    width = max(len(markup(row[0])) for row in rows)
    for name, status, message in rows:
        parts = [f"{markup(name):<{width}}", f"[{STYLE[status]}]{status:<12}[/]", markup(message, newlines=verbose)]
        console.print("  ".join(part for part in parts if part).rstrip(), soft_wrap=True, crop=False)


def show_result(result: GradeResult, console: Console, *, verbose: bool = False) -> None:
    status = result.status.value
    # Anything the candidate can shape (file name, messages, summary) goes through markup(): a `[/]`
    # in an exception's text is text, never rich markup (which would end the command with an
    # error), and an ESC, newline or bidi override is shown as its escape, never obeyed.
    console.print(f"[bold]{result.exercise}[/] · {markup(result.submission_file)} · "
                  f"[{STYLE[status]}]{status.upper()}[/]  {markup(result.summary)}")
    rows = []
    for case in result.cases:
        if case.status is CaseStatus.PASSED and not verbose:
            message = ""
        else:
            message = case.message if verbose else _last_line(case.message)
        # No max abs / max rel error columns: on a pass they decide nothing (a relative error where the
        # reference is near zero reads 5.59e+04), and a failed check's message already names the
        # figure that decided it, its worst element against atol and rtol. The JSON keeps both.
        rows.append((case.name, case.status.value, message))
    if rows and console.is_terminal:
        _table(rows, console, verbose)
    elif rows:
        _plain_rows(rows, console, verbose)
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
