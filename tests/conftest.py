"""Shared fixtures: the CLI driven in-process, and small submissions written on the fly."""

from __future__ import annotations

import os
import signal

import torch

# A suite started in the background by a shell without job control (`cmd &`) inherits SIGINT
# ignored, and so would every command it starts: the tests that press Ctrl-C on `dlverify serve`,
# a batch or the questionnaire would then wait for an interrupt that never comes. Here SIGINT is
# Python's own again; a command started from here gets the default back when it execs.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Triton picks interpreter or compiler when it is first imported, so this must
# come before any test module imports it: without a GPU, kernels run in the
# interpreter (the way the grader runs them on a CPU).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import io
from pathlib import Path

import pytest

from dlverify import paths
from dlverify.cli import Env, main


class CliRun:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err


@pytest.fixture
def cli(tmp_path):
    def run(*argv: str) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(argv), Env(stdin=io.StringIO(), stdout=out, stderr=err, cwd=tmp_path))
        return CliRun(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def write(tmp_path):
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write


@pytest.fixture(scope="session")
def backprop_reference() -> str:
    return (paths.graders_dir() / "backprop_mlp" / "reference.py").read_text()


# Pack tests (tests/test_pack_<id>.py) name their exercise in a module-level EXERCISE.
@pytest.fixture(scope="module")
def pack(request):
    from dlverify.packs import registry
    from dlverify.packs.loading import load_pack

    return load_pack(registry.get_exercise(request.module.EXERCISE))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


@pytest.fixture(scope="module")
def driver(ctx):
    # In the child sandbox/ is on sys.path, which is how a driver finds contract.py.
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(paths.sandbox_dir()))
        return ctx.driver


# The gradebook's tests (tests/test_gradebook*.py) run on each backend: SQLite, and a real
# PostgreSQL server started once per session (pg_cluster.py; skipped with the reason where none
# can start).
@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A new, empty gradebook on each backend: its --db value."""
    from gradebook_helpers import backend_url

    return backend_url(request.param, tmp_path)


@pytest.fixture
def book(db_url):
    """That gradebook, open and migrated."""
    from dlverify.gradebook.db import database_url, open_gradebook

    opened = open_gradebook(database_url(db_url))
    yield opened
    opened.close()
