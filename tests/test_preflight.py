"""The sandbox's own checks before candidate code: a machine that cannot grade is `error`, never `failed`.

On the first real GPU every submission, correct ones included, was failed
because CUDA could not start inside the sandbox. Each way the machine can fail
is simulated here on a CPU: the worker's preflight names it, and the host
turns it into the grader's `error` with a hint.
"""

from __future__ import annotations

import os
import sys
import types

import pytest

from dlverify import engine, paths
from dlverify.outcome import Status

sys.path.insert(0, str(paths.sandbox_dir()))
import preflight  # noqa: E402  (sandbox/preflight.py, as the worker imports it)

sys.path.remove(str(paths.sandbox_dir()))


def fake_torch(monkeypatch, *, count=1, ones=None):
    cuda = types.SimpleNamespace(device_count=lambda: count, synchronize=lambda: None)
    torch = types.SimpleNamespace(cuda=cuda, ones=ones or (lambda *a, **k: object()),
                                  arange=lambda *a, **k: None, int32="int32")
    monkeypatch.setitem(sys.modules, "torch", torch)
    return torch


def test_a_cpu_grading_checks_nothing():
    assert preflight.problems("cpu", "triton", triton_digest=True) == []


def test_no_device_inside_the_sandbox_is_named(monkeypatch):
    fake_torch(monkeypatch, count=0)
    found = preflight.problems("cuda", "torch", triton_digest=False)
    assert len(found) == 1 and "sees no device" in found[0]


def test_the_driver_s_own_error_is_passed_on(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("Unexpected error from cudaGetDeviceCount(). Error 304: OS call failed\nmore")

    fake_torch(monkeypatch, ones=refuse)
    found = preflight.problems("cuda", "triton", triton_digest=True)
    assert found == ["CUDA could not start inside the sandbox: RuntimeError: Unexpected error from "
                     "cudaGetDeviceCount(). Error 304: OS call failed more"]  # one line, and nothing after it


def test_an_unwritable_triton_cache_is_named(monkeypatch, tmp_path):
    fake_torch(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("TRITON_CACHE_DIR", str(locked / "cache"))
    if os.geteuid() == 0:  # root writes anywhere: make the folder a file instead
        locked.rmdir()
        locked.write_text("")
    found = preflight.problems("cuda", "triton", triton_digest=False)
    assert len(found) == 1 and "cache folder" in found[0] and "not writable" in found[0]


def test_a_triton_kernel_that_cannot_compile_is_named(monkeypatch, tmp_path):
    fake_torch(monkeypatch)
    monkeypatch.setenv("TRITON_CACHE_DIR", str(tmp_path / "cache"))
    gpu_digest = types.ModuleType("gpu_digest")

    def broken(words):
        raise RuntimeError("PTXAS error: Internal Triton PTX codegen error")

    gpu_digest._triton_partials = broken
    monkeypatch.setitem(sys.modules, "gpu_digest", gpu_digest)
    found = preflight.problems("cuda", "torch", triton_digest=True)
    assert len(found) == 1 and "could not compile and run a kernel" in found[0] and "PTXAS" in found[0]
    assert preflight.problems("cuda", "torch", triton_digest=False) == []  # no Triton needed: not checked


def test_missing_or_broken_nvcc_and_ninja_are_named(monkeypatch, tmp_path):
    fake_torch(monkeypatch)
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "no-cuda"))
    monkeypatch.setenv("PATH", str(tmp_path))
    found = preflight.problems("cuda", "cuda", triton_digest=False)
    assert [p.split(" ")[0] for p in found] == ["nvcc", "ninja"] and all("not on the sandbox's PATH" in p for p in found)

    for name, code in (("nvcc", 0), ("ninja", 3)):
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\necho 'broken {name}' >&2\nexit {code}\n")
        tool.chmod(0o755)
    found = preflight.problems("cuda", "cuda", triton_digest=False)
    assert found == [f"ninja ({tmp_path}/ninja) --version exited 3 inside the sandbox: broken ninja"]


def test_a_machine_fault_in_the_sandbox_is_the_grader_s_error(monkeypatch):
    # A real sandbox run asked for CUDA on this CPU machine: the worker finds no device before the
    # submission loads, and the correct reference is `error`, not `failed`.
    monkeypatch.setattr(engine, "resolve_device", lambda requested, exercise: "cuda")
    monkeypatch.setattr(engine, "physical_gpu", lambda gpu: None)
    monkeypatch.setattr(engine, "device_info", lambda device, gpu: {"kind": device})
    reference = paths.graders_dir() / "attention" / "reference.py"
    result = engine.grade("attention", reference, device="cuda", throughput=False)
    assert result.status is Status.ERROR, result.summary
    assert "CUDA sees no device inside the sandbox" in result.summary
    assert "dlverify doctor --device cuda" in result.summary
    assert result.cases == []
