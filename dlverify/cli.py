"""The `dlverify` command. Streams and working folder are passed in (httpie's Environment),
so tests drive every command in-process and read its output and exit code."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.console import Console

from . import __version__
from .packs.manifest import ManifestError
from .outcome import ExitCode
from .packs.registry import UnknownExercise
from .submission.read import SubmissionError
from .report.terminal_text import plain


@dataclass
class Env:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    cwd: Path = field(default_factory=Path.cwd)
    console: Console | None = None

    def __post_init__(self) -> None:
        if self.console is None:
            self.console = Console(file=self.stdout, highlight=False, soft_wrap=True)
        self.err_console = Console(file=self.stderr, highlight=False, soft_wrap=True)


class UsageFailure(Exception):
    """Raised by argparse instead of exiting, so main() can print one line and return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # noqa: D401 - argparse's hook
        raise UsageFailure(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from .commands import batch, doctor, export, gradebook, grading, serve

    parser = _Parser(prog="dlverify", description="Hands-on skills verifier for deep-learning engineers.")
    parser.add_argument("--version", action="version", version=f"dlverify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    grading.register(sub)
    batch.register(sub)
    doctor.register(sub)
    serve.register(sub)
    gradebook.register(sub)
    export.register(sub)
    try:
        from .verdict import cli as verdict_cli
    except ImportError:
        verdict_cli = None
    if verdict_cli is not None:
        verdict_cli.register(sub)
    return parser


def main(argv: list[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageFailure as exc:
        env.stderr.write(f"{plain(exc)}\n")
        return ExitCode.USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(env.stdout)
        return ExitCode.USAGE
    try:
        return int(args.func(args, env))
    except (UnknownExercise, SubmissionError, ManifestError, UsageFailure) as exc:
        # Messages name files and quote arguments: a candidate's file name is text, never a
        # terminal command (terminal_text.py).
        env.stderr.write(f"dlverify: {plain(exc)}\n")
        return ExitCode.USAGE
    except KeyboardInterrupt:
        env.stderr.write("dlverify: interrupted\n")
        return 130
    except Exception as exc:  # a usage error from deeper down, or our own bug
        from .errors import UsageError

        if isinstance(exc, UsageError):
            env.stderr.write(f"dlverify: {plain(exc)}\n")
            return ExitCode.USAGE
        if os.environ.get("DLVERIFY_DEBUG"):
            raise
        env.stderr.write(f"dlverify: internal error ({type(exc).__name__}: {plain(exc)}); "
                         "set DLVERIFY_DEBUG=1 for the traceback\n")
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())
