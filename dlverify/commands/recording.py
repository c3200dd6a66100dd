"""Recording into the gradebook from `grade`, `grade-batch` and `verdict`: their options
(`--record COHORT`, `--candidate NAME`, `--db URL`) and the batch's recorder.

Recording happens only when asked, and the gradebook is opened, and the cohort
checked, before anything is graded: a bad URL or a misspelt cohort is one line
at once, never after an hour of grading.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..report.terminal_text import markup


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, metavar="URL",
                   help="the gradebook: an SQLite file's path, sqlite:///PATH or postgresql://USER@HOST/DB "
                        "(default: $DLVERIFY_DB, else ~/.local/share/dlverify/gradebook.db)")


def add_record_options(p: argparse.ArgumentParser, *, candidate: bool) -> None:
    p.add_argument("--record", default=None, metavar="COHORT",
                   help="record into this cohort of the gradebook (`dlverify gradebook add-cohort` makes one)")
    if candidate:
        p.add_argument("--candidate", default=None, metavar="NAME",
                       help="the candidate to record under (grade: default the file's stem, or its folder's "
                            "name for solution.py/.ipynb)")
    add_db_option(p)


def open_book(args, env):
    """The gradebook named by --db / DLVERIFY_DB / the default; a GradebookError is one line."""
    from ..gradebook.db import database_url, open_gradebook

    return open_gradebook(database_url(getattr(args, "db", None), cwd=env.cwd))


def recording(args, env):
    """For --record: the open gradebook, after checking the cohort exists (before any grading)."""
    from ..gradebook.record import find_cohort

    book = open_book(args, env)
    try:
        with book.reading() as session:
            find_cohort(session, args.record)
    except BaseException:
        book.close()
        raise
    return book


class BatchRecorder:
    """grade-batch --record: each row into the cohort as the batch shows it.

    Rows arrive one at a time on the batch's own thread, so the batch's --jobs never write at
    once from one process; other processes may (the database's locks and transactions keep
    every row). The result files stay the record of truth: a row the database refused is
    named at the end, and `dlverify gradebook import` takes the folder whenever it answers again.
    """

    def __init__(self, book, cohort: str, out: Path, env):
        self.book, self.cohort, self.out, self.env = book, cohort, out, env
        self.recorded = self.already = 0
        self.failed: list[str] = []

    def row(self, row) -> None:
        from ..gradebook.db import GradebookError
        from ..gradebook.record import candidate, find_cohort, record_attempt

        try:
            with self.book.writing() as session:
                cohort = find_cohort(session, self.cohort)
                if not row.result:   # unreadable, or a grader fault with no result: listed, no attempt
                    candidate(session, cohort, row.name)
                    return
                data = json.loads((self.out / row.result).read_text(encoding="utf-8"))
                done = record_attempt(session, cohort, row.name, data, source="grade-batch", runner=row.runner)
        except (GradebookError, OSError, ValueError) as exc:
            if not self.failed:
                self.env.err_console.print(f"[yellow]not recorded[/] {markup(row.name)}: {markup(str(exc))}")
            self.failed.append(row.name)
            return
        if done.created:
            self.recorded += 1
        else:
            self.already += 1

    def finish(self, skipped) -> None:
        from ..gradebook.db import GradebookError
        from ..gradebook.record import candidate, find_cohort

        try:
            if skipped:
                with self.book.writing() as session:
                    cohort = find_cohort(session, self.cohort)
                    for note in skipped:
                        candidate(session, cohort, note.name or note.path.name)
        except GradebookError as exc:
            self.env.err_console.print(f"[yellow]not recorded[/] the candidates without a submission: {markup(str(exc))}")
        self.env.console.print(f"recorded into cohort {markup(self.cohort)}: {self.recorded} new attempt(s)"
                               + (f", {self.already} already there" if self.already else ""))
        if self.failed:
            self.env.err_console.print(f"[yellow]{len(self.failed)} row(s) not recorded[/]; when the gradebook "
                                       f"answers: dlverify gradebook import {markup(self.cohort)} {markup(str(self.out))}")
        self.close()

    def close(self) -> None:
        self.book.close()
