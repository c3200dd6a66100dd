"""nvcc on a candidate's source runs inside the sandbox (issue 11): what the compiler reads and
prints cannot reach the host's files or the grader's memory, and the compile counts against the
grading's one deadline.

The screen (nvcc.screen_source) would refuse most of these sources before nvcc runs; tests that
are about the sandbox switch it off, so that they show the fence itself holds.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pytest

from dlverify.launch import nvcc
from dlverify.launch.environment import child_env
from dlverify.isolation import launcher, tools
from dlverify.packs.registry import get_exercise

EXERCISE = "cuda_matmul"
NVCC = nvcc.find_nvcc()
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

KERNEL = """
extern "C" __global__ void k(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < M * N) c_ptr[i] = a_ptr[0] * b_ptr[0] * K;
}
extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    k<<<(M * N + 255) / 256, 256, 0, stream>>>(a_ptr, b_ptr, c_ptr, M, N, K);
}
"""


def submission(cuda_src: str) -> str:
    return f"CUDA_SRC = {cuda_src!r}\nCPP_SRC = '// the binding'\n\ndef matmul(a, b):\n    raise NotImplementedError\n"


def incbin(path: str) -> str:
    return f'void host_side() {{ asm(".incbin \\"{path}\\""); }}\n' + KERNEL


@pytest.fixture
def unscreened(monkeypatch):
    """The static screen off: what is left to stop the compiler is the sandbox."""
    monkeypatch.setattr(nvcc, "screen_source", lambda source: nvcc.Screen(None))


# ----------------------------------------------------------------------------- through the grader

@needs_nvcc
def test_an_incbin_of_a_host_file_is_rejected_and_says_nothing_of_it(pack, ctx):
    shadow = pack.grader.cpu_fallback(submission(incbin("/etc/shadow")), ctx)
    missing = pack.grader.cpu_fallback(submission(incbin("/etc/dlverify-no-such-file")), ctx)
    assert shadow[0] == "rejected", shadow[1]
    assert ".incbin" in shadow[1]
    # whether the file exists, and its size, make no difference to what the candidate reads
    assert shadow[1].replace("/etc/shadow", "X") == missing[1].replace("/etc/dlverify-no-such-file", "X")
    assert "shadow" not in shadow[1] + repr(shadow[2])


@needs_nvcc
@pytest.mark.parametrize("directive", [".rept 100000000\\n.byte 0\\n.endr", ".include \\\"/etc/passwd\\\"",
                                       ".macro m\\n.endm", ".irp x,1,2\\n.endr", ".print \\\"x\\\"", ".file \\\"a\\\""])
def test_assembler_directives_in_asm_are_the_candidates_rejection(pack, ctx, directive):
    source = f'__global__ void k2(float* c) {{ asm volatile("{directive}"); }}\n' + KERNEL
    status, message, _ = pack.grader.cpu_fallback(submission(source), ctx)
    assert status == "rejected", message
    assert "asm" in message


# ----------------------------------------------------------------------------- the sandbox itself

@needs_nvcc
@needs_bwrap
def test_the_compile_cannot_read_a_host_file(unscreened):
    # world-readable, outside every folder the sandbox binds: only the sandbox keeps nvcc from it
    folder = Path(tempfile.mkdtemp(prefix="dlverify-test-secret-", dir="/var/tmp"))
    try:
        os.chmod(folder, 0o755)
        secret = folder / "secret.h"
        secret.write_text("int dlverify_secret_7f3a = 1;\n")
        os.chmod(secret, 0o644)
        result = nvcc.compile_object(f'#include "{secret}"\n' + KERNEL, NVCC, timeout=120)
        assert result.outcome is nvcc.CompileOutcome.ERRORS, result
        text = result.diagnostics + repr(result.defined_symbols)
        assert "dlverify_secret_7f3a" not in text
        assert "No such file" in result.diagnostics or "cannot open source file" in result.diagnostics
        # an .incbin of a host file: whether it exists makes no difference
        shadow = nvcc.compile_object(incbin("/etc/shadow"), NVCC, timeout=120)
        missing = nvcc.compile_object(incbin("/etc/dlverify-no-such-file"), NVCC, timeout=120)
        assert shadow.outcome is missing.outcome is nvcc.CompileOutcome.ERRORS, shadow
        assert (shadow.diagnostics.replace("/etc/shadow", "X")
                == missing.diagnostics.replace("/etc/dlverify-no-such-file", "X"))
    finally:
        shutil.rmtree(folder)


@needs_nvcc
def test_an_assembler_flood_is_bounded_and_the_candidates(unscreened):
    # 10^8 lines from the assembler: the old compile kept every byte of them in the grader
    flood = ('void host_side() { asm(".rept 10000\\n.rept 10000\\n.print \\"xxxxxxxxxxxxxxxxxxxxxxxx\\"\\n'
             '.endr\\n.endr"); }\n') + KERNEL
    started = time.monotonic()
    result = nvcc.compile_object(flood, NVCC, timeout=8)
    assert time.monotonic() - started < 30
    assert result.outcome is nvcc.CompileOutcome.TIMEOUT, result.outcome
    assert result.output_bytes > nvcc.OUTPUT_CAP       # it did flood ...
    assert len(result.diagnostics) <= nvcc.DIAGNOSTIC_CHARS + 200  # ... and only a little was kept


@needs_nvcc
def test_an_assembler_memory_bomb_is_bounded_and_the_candidates(unscreened, monkeypatch):
    # .rept 10^8 makes the assembler hold the whole expansion in memory: 4 GB and rising on the host
    monkeypatch.setattr(tools, "LIMITS", dataclasses.replace(tools.LIMITS, memory_mb=768))  # sooner, same fence
    bomb = 'void host_side() { asm(".rept 100000000\\n.byte 0\\n.endr"); }\n' + KERNEL
    started = time.monotonic()
    result = nvcc.compile_object(bomb, NVCC, timeout=90)
    assert result.outcome is nvcc.CompileOutcome.ERRORS, result
    assert time.monotonic() - started < 60
    assert "memory" in result.diagnostics or "Killed" in result.diagnostics


@needs_nvcc
def test_the_compile_counts_against_the_grading_deadline():
    started = time.monotonic()
    result = nvcc.compile_object(KERNEL, NVCC, timeout=120, deadline=started + 0.5)
    assert result.outcome is nvcc.CompileOutcome.TIMEOUT
    assert time.monotonic() - started < 15


def test_the_engine_gives_the_compile_the_grading_deadline(monkeypatch, tmp_path):
    from dlverify import engine

    seen = []

    def compile_object(source, compiler, *, filename="source.cu", deadline=None, **kwargs):
        if filename == "control.cu":  # the grader's own check of the compiler: it works
            return nvcc.CompileResult(nvcc.CompileOutcome.OK)
        seen.append(deadline)
        return nvcc.CompileResult(nvcc.CompileOutcome.ERRORS, "CUDA_SRC.cu(1): error: stop here")

    compiler = nvcc.Nvcc("/x/nvcc", "13.0-deadline-test", "/x")  # its own compiler_problem cache entry
    monkeypatch.setattr(nvcc, "find_nvcc", lambda environ=None: compiler)
    monkeypatch.setattr(nvcc, "compile_object", compile_object)
    file = tmp_path / "submission.py"
    file.write_text(submission(KERNEL))
    started = time.monotonic()
    result = engine.grade("cuda_matmul", file, device="cpu", throughput=False)
    assert result.status.value == "failed", result.summary
    assert seen and seen[0] is not None
    assert started < seen[0] <= time.monotonic() + get_exercise("cuda_matmul").limits.wall_seconds


def test_a_sandbox_that_cannot_start_is_not_the_candidates(monkeypatch, pack, ctx):
    def refuse(spec, **kwargs):
        raise launcher.SandboxUnavailable("no isolation here")

    monkeypatch.setattr(launcher, "launch", refuse)
    monkeypatch.setattr(nvcc, "find_nvcc", lambda environ=None: nvcc.Nvcc("/x/nvcc", "13.0", "/x"))
    status, message, _ = pack.grader.cpu_fallback(submission(KERNEL), ctx)
    assert status == "not_verified", message
    assert "no isolation here" in message


# ----------------------------------------------------------------------------- the child's PATH

@needs_bwrap
def test_the_sandbox_path_has_the_interpreters_bin(tmp_path):
    """load_inline runs `ninja` from PATH: a pip-installed ninja sits beside the interpreter."""
    env = child_env(get_exercise("cuda_matmul"), "cuda")
    bin_dir = os.path.dirname(sys.executable)
    assert env["PATH"].split(os.pathsep)[0] == bin_dir
    name = os.path.basename(sys.executable)
    steps = [tools.Step(["/bin/sh", "-c", 'command -v "$0"', name], 30)]
    if shutil.which("ninja", path=bin_dir):  # where ninja is installed, it runs in there too
        steps.append(tools.Step(["ninja", "--version"], 30))
    run = tools.run_tools({}, steps, env=env, deadline=time.monotonic() + 60, readable=[])
    assert [s.returncode for s in run.steps] == [0] * len(steps), run
    assert run.steps[0].output.strip() == os.path.join(bin_dir, name)
