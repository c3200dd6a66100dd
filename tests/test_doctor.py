"""`dlverify doctor`: one honest line per check, through the same sandbox a grading uses."""

from __future__ import annotations

import shutil

from dlverify import doctor


def lines_by_name(out: str) -> dict[str, str]:
    """{check name: state} from doctor's lines: the state in 9 columns, then the name."""
    return {line[10:].split("  ")[0].strip(): line[:9].strip()
            for line in out.splitlines() if not line.startswith("doctor:")}


def test_a_cpu_runner_reports_each_layer_and_says_gpu_checks_are_not_here(cli):
    run = cli("doctor")
    assert run.code == 0, run.out + run.err
    rows = lines_by_name(run.out)
    assert rows["worker confinement"] == "ok"
    assert rows["layer: seccomp"] == "ok"
    assert rows["layer: bubblewrap"] == ("ok" if shutil.which("bwrap") else "not here")
    for name in ("CUDA inside the sandbox", "Triton kernel inside the sandbox",
                 "load_inline extension inside the sandbox", "speed of light"):
        assert rows[name] == "not here"
    assert run.out.strip().splitlines()[-1].startswith(f"doctor: {len(rows)} of {len(rows)} checks not failed")


def test_cuda_on_a_machine_without_one_is_a_usage_error(cli, monkeypatch):
    monkeypatch.setattr("dlverify.launch.environment.cuda_available", lambda: False)
    run = cli("doctor", "--device", "cuda")
    assert run.code == 2 and run.out == ""
    assert run.err == "dlverify: --device cuda: no CUDA device is visible on this machine\n"


def test_cuda_checks_inside_a_real_sandbox_fail_honestly_without_a_gpu():
    # The probe runs in a real sandbox asked for CUDA on this CPU machine: the worker's own
    # preflight finds no device, and every GPU check says so instead of passing.
    checks = {c.name: c for c in doctor._local_sandbox("cuda", None, progress=lambda msg: None)}
    assert checks["CUDA inside the sandbox"].state == "failed"
    assert "sees no device" in checks["CUDA inside the sandbox"].detail
    assert checks["Triton kernel inside the sandbox"].detail == "not tried: CUDA did not start"
    assert checks["load_inline extension inside the sandbox"].state == "failed"


def test_a_failed_check_makes_the_exit_code_non_zero(cli, monkeypatch):
    monkeypatch.setattr(doctor, "_local_sandbox", lambda device, gpu, progress: [
        doctor.Check("layer: seccomp", "ok", "fine"),
        doctor.Check("CUDA inside the sandbox", "failed", "Error 304: OS call failed")])
    run = cli("doctor", "--sandbox", "local")
    assert run.code == 1
    assert "failed    CUDA inside the sandbox" in run.out and "Error 304: OS call failed" in run.out
    assert run.out.strip().splitlines()[-1] == "doctor: 3 of 4 checks not failed; failed: CUDA inside the sandbox"
