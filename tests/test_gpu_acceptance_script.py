"""benchmarks/gpu_acceptance.sh's own logic, on a CPU: which steps run (ONLY), and that a spent
time budget leaves the rest listed as not run with exit 3, never passed. A stand-in interpreter
answers every check and step, so no GPU is needed to test the script itself."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STUB = """#!/usr/bin/env bash
case "$1" in
  -c) exit 0 ;;
  -) cat >/dev/null; echo "stand-in versions"; exit 0 ;;
esac
echo "ran: $*"
sleep "${STUB_SLEEP:-0}"
[ -n "${STUB_FAIL:-}" ] && [[ "$*" == *"$STUB_FAIL"* ]] && exit 7
exit 0
"""


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    stub = tmp_path / "python"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    environ = {k: v for k, v in os.environ.items() if k not in ("ONLY", "BUDGET_S", "OFFLINE")}
    environ.update(PYTHON=str(stub), OFFLINE=str(tmp_path / "no-offline"), **env)
    return subprocess.run(["bash", "benchmarks/gpu_acceptance.sh", str(tmp_path / "out")], cwd=ROOT,
                          env=environ, capture_output=True, text=True, timeout=120)


def _steps(run) -> list[str]:
    return [line.split(":")[0][3:] for line in run.stdout.splitlines()
            if line.startswith("== ") and "not run" not in line and not line.startswith("== docker")]


def test_only_runs_the_named_steps_the_runner_check_and_first_gradings_first(tmp_path):
    run = _run(tmp_path, ONLY="doctor grade-")
    assert run.returncode == 0, run.stdout + run.stderr
    steps = _steps(run)
    assert steps[0] == "doctor" and all(s.startswith("grade-") for s in steps[1:])
    assert "grade-triton_softmax" in steps and "grade-cuda_matmul" in steps
    assert not any(s.startswith("repeat-") for s in steps)


def test_a_spent_budget_lists_the_rest_as_not_run_and_exits_3(tmp_path):
    run = _run(tmp_path, BUDGET_S="1", STUB_SLEEP="1.2")
    assert run.returncode == 3, run.stdout + run.stderr
    assert _steps(run) == ["doctor"]
    assert "not run (budget): grade-triton_softmax" in run.stdout
    assert (tmp_path / "out" / "benchmarks.rc").read_text().strip() == "not run"


@pytest.mark.parametrize("budget", ["", "600"])
def test_a_failed_step_fails_the_run_whatever_the_budget(tmp_path, budget):
    run = _run(tmp_path, BUDGET_S=budget, ONLY="doctor grade-", STUB_FAIL="grade attention")
    assert run.returncode == 1 and "failed: grade-attention (exit 7)" in run.stdout
    assert (tmp_path / "out" / "grade-attention.rc").read_text().strip() == "7"
