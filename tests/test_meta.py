"""Every module imports cleanly with warnings as errors (pytest's testing/test_meta.py)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_the_wheel_has_one_import_name_and_carries_the_packs(tmp_path):
    """`pip install .` must find the packs, and only `dlverify` may become importable."""
    import zipfile
    from pathlib import Path

    import pytest

    pytest.importorskip("hatchling")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
                          cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"dlverify"}, tops
    for folder in ("exercises", "graders", "kernels", "sandbox"):
        assert any(n.startswith(f"dlverify/_data/{folder}/") for n in names), folder
    assert "dlverify/_data/sandbox/child.py" in names
    assert "dlverify/_data/exercises/attention/exercise.toml" in names
    # The gradebook's migrations run from the installed package (no alembic.ini anywhere).
    assert {"dlverify/gradebook/migrations/env.py", "dlverify/gradebook/migrations/script.py.mako",
            "dlverify/gradebook/migrations/versions/0001_initial.py"} <= set(names)


def test_the_gpu_acceptance_script_parses_and_refuses_a_machine_without_a_gpu():
    import torch

    script = Path(__file__).parent.parent / "benchmarks" / "gpu_acceptance.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the script would run every GPU check")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert done.returncode == 2 and done.stderr.strip().endswith("run this on a GPU runner")


def _imports_between_modules(package: Path) -> dict[str, set[str]]:
    """module -> the package's modules it imports, lazy imports inside functions included."""
    import ast

    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        home = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = home.split(".")[: len(home.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                found = [target] + [f"{target}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            else:
                continue
            graph[name] |= {f for f in found if f in modules and f != name}
    return graph


def test_no_import_circles_in_the_host_package():
    """Every arrow points down (STYLE.md): no module of dlverify/ reaches itself through its imports."""
    graph = _imports_between_modules(Path(__file__).resolve().parent.parent / "dlverify")
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(" -> ".join(trail + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    assert not circles, circles[:5]


def test_no_source_file_of_ours_outgrows_a_reader():
    """One concept per file, a few hundred lines at most (docs: ../shared/STYLE.md): a file past
    this has become two concepts and should be split where they part."""
    root = Path(__file__).resolve().parent.parent
    limit = 420
    long = [f"{p.relative_to(root)} ({n} lines)" for folder in ("dlverify", "sandbox", "kernels")
            for p in sorted((root / folder).rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > limit]
    assert long == [], f"over {limit} lines: " + ", ".join(long)
