"""Every module imports cleanly with warnings as errors (pytest's testing/test_meta.py)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import dlverify


def _modules():
    yield "dlverify"
    for info in pkgutil.walk_packages(dlverify.__path__, "dlverify."):
        yield info.name


def test_every_module_imports_without_warnings():
    names = sorted(set(_modules()))
    code = "import importlib\n" + "".join(f"importlib.import_module({n!r})\n" for n in names)
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(names) > 10


def test_one_top_level_import_name():
    import importlib.metadata as md

    files = md.files("dlverify") or []
    tops = {str(f).split("/")[0] for f in files if str(f).endswith(".py")}
    tops.discard("__editable__")
    assert tops <= {"dlverify"} or not tops, tops
