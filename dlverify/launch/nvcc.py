"""Compiling a candidate's CUDA source with nvcc, in the sandbox, without running it.

A CUDA exercise graded on a machine with no GPU can still be compiled: nvcc
turns the source into an object file and nothing of it ever runs. The source
is hostile, though: a compiler reads whatever files the source names and
prints them back in its diagnostics (`#include "/etc/passwd"`, or a hidden
cases file, comes back as "error: ..." with the lines quoted), and an
assembler reads, repeats and prints without bound (`asm(".incbin ...")`,
`.rept`, `.print`). So:

1. `screen_source` reads the source first and refuses anything that makes the
   compiler open a file of the candidate's choosing: only `#include <name>` of
   plain header names, no quoted or computed includes, no `#line` or
   linemarkers, no `_Pragma`, no `__has_include`; inline assembly holds plain
   PTX instructions only (asm_screen.py).
2. nvcc runs inside the sandbox (isolation/tools.py: the launcher's layers, the
   system folders and the toolkit read-only, a scratch folder, a clean
   environment), with its output capped and the grading's deadline over it.
3. Diagnostics that name any file outside the source and the system headers
   are withheld, as a third layer.
"""

from __future__ import annotations

import enum
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..screening.cuda_screen import Screen, screen_source  # noqa: F401  (part of this module's interface)
from ..isolation import launcher, tools
from ..isolation.bwrap import SYSTEM_READ

DIAGNOSTIC_LINES = 30      # what a report shows of nvcc's output: its first errors matter
DIAGNOSTIC_CHARS = 3000
OUTPUT_CAP = tools.OUTPUT_CAP  # bytes of nvcc's output kept at all; the rest is counted, not stored
NM_SECONDS = 30.0


class CompileOutcome(str, enum.Enum):
    OK = "ok"                     # an object file came out
    REFUSED = "refused"           # the screen refused the source; nvcc never ran
    ERRORS = "errors"             # nvcc ran and rejected the source (the candidate's fault)
    TIMEOUT = "timeout"           # nvcc ran past the time limit (a template bomb, say)
    UNAVAILABLE = "unavailable"   # nvcc could not be started (our fault, never the candidate's)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Nvcc:
    path: str
    version: str          # "13.0"
    root: str             # the toolkit folder, whose headers diagnostics may name


@dataclass(frozen=True)
class KernelInfo:
    """What ptxas said about one __global__ function (`--resource-usage`)."""

    name: str
    registers: int | None = None
    shared_bytes: int = 0
    spill_bytes: int = 0  # spill stores + loads: registers that did not fit


@dataclass
class CompileResult:
    outcome: CompileOutcome
    diagnostics: str = ""             # trimmed; file names relative to the source's name
    seconds: float = 0.0
    kernels: list[KernelInfo] = field(default_factory=list)
    defined_symbols: list[str] = field(default_factory=list)     # demangled, from `nm`
    undefined_symbols: list[str] = field(default_factory=list)   # what it needs from elsewhere
    includes: tuple[str, ...] = ()    # the headers the source includes, as written
    output_bytes: int = 0             # all that nvcc printed, of which OUTPUT_CAP bytes were kept

    @property
    def ok(self) -> bool:
        return self.outcome is CompileOutcome.OK


# ---------------------------------------------------------------- finding nvcc

def find_nvcc(environ: dict[str, str] | None = None) -> Nvcc | None:
    """nvcc from DLVERIFY_NVCC, PATH, CUDA_HOME / CUDA_PATH or /usr/local/cuda, with its version."""
    environ = dict(os.environ if environ is None else environ)
    candidates = [environ.get("DLVERIFY_NVCC"), shutil.which("nvcc", path=environ.get("PATH", os.defpath))]
    candidates += [str(Path(environ[v]) / "bin" / "nvcc") for v in ("CUDA_HOME", "CUDA_PATH") if environ.get(v)]
    candidates.append("/usr/local/cuda/bin/nvcc")
    for path in candidates:
        if not path or not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30,
                                 env=_clean_env(path, tempfile.gettempdir())).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.search(r"release (\d+\.\d+)", out)
        if match:
            return Nvcc(path, match.group(1), str(_toolkit_root(path)))
    return None


def _toolkit_root(path: str) -> Path:
    """The CUDA toolkit folder, where include/cuda_runtime.h lives (/usr/local/bin/nvcc may be a wrapper)."""
    for root in (Path(os.path.realpath(path)).parent.parent, Path("/usr/local/cuda")):
        if (root / "include" / "cuda_runtime.h").is_file():
            return Path(os.path.realpath(root))
    return Path(os.path.realpath(path)).parent.parent


def _clean_env(nvcc_path: str, tmp: str) -> dict[str, str]:
    """Nothing of the grader's environment: no secrets, no LD_PRELOAD, no CUDA_* overrides."""
    bin_dir = os.path.dirname(os.path.abspath(nvcc_path))
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": tmp,
        "TMPDIR": tmp,
        "LANG": "C",
        "LC_ALL": "C",
    }


# ---------------------------------------------------------------- the screen

def _kernels(output: str) -> list[KernelInfo]:
    """Parse ptxas's resource report: one 'Compiling entry function' block per __global__ function."""
    kernels: list[KernelInfo] = []
    current: dict | None = None
    for line in output.splitlines():
        entry = re.search(r"Compiling entry function '([^']+)'", line)
        if entry:
            current = {"name": entry.group(1)}
            kernels.append(KernelInfo(**current))
            continue
        if current is None:
            continue
        spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if spills:
            current["spill_bytes"] = int(spills.group(1)) + int(spills.group(2))
        used = re.search(r"Used (\d+) registers", line)
        if used:
            current["registers"] = int(used.group(1))
            smem = re.search(r"(\d+) bytes smem", line)
            current["shared_bytes"] = int(smem.group(1)) if smem else 0
            kernels[-1] = KernelInfo(**current)
            current = None
    return kernels


def _nm_table(text: str) -> list[tuple[str, str]]:
    """(type letter, name) per symbol line of `nm` output."""
    rows = []
    for line in text.splitlines():
        match = re.match(r"\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z?])\s+(.+)$", line)
        if match:
            rows.append((match.group(1), match.group(2)))
    return rows


def _symbols(mangled: str, demangled: str) -> tuple[list[str], list[str], dict[str, str]]:
    """(defined, undefined) symbols, demangled, and each mangled name's demangled one, from the
    object file's `nm` and `nm -C` (the same lines in the same order)."""
    plain, named = _nm_table(mangled), _nm_table(demangled)
    names = {m: d for (_, m), (_, d) in zip(plain, named)} if len(plain) == len(named) else {}
    defined = [name for kind, name in named if kind not in "Uvw"]
    undefined = [name for kind, name in named if kind in "Uvw"]
    return defined, undefined, names


def toolchain_paths(nvcc: Nvcc) -> list[Path]:
    """What the compile reads beyond the sandbox's system folders: the toolkit, nvcc and the host
    compiler wherever they are installed (a toolkit under /opt), never a top-level folder whole."""
    wanted = {Path(nvcc.root), Path(os.path.realpath(nvcc.path)).parent.parent}
    for name in ("gcc", "g++", "cc", "c++"):
        found = shutil.which(name)
        if found:
            wanted.add(Path(os.path.realpath(found)).parent.parent)
    system = [str(p) for p in SYSTEM_READ]
    return sorted(p for p in wanted if len(p.parts) >= 3 and p.is_dir()
                  and not any(str(p) == root or str(p).startswith(root + os.sep) for root in system))


_LOCATION = re.compile(r"(?:In file included from |\s*from )?([^\s(:][^(:\n]*?)(?:\(\d+\)|:\d+(?::\d+)?)[:,]")


def _diagnostics(output: str, tmp: str, filename: str, allowed_roots: list[str]) -> str:
    """nvcc's messages, ptxas's resource report dropped, temp paths gone, trimmed to the first errors."""
    text = output.replace(tmp + os.sep, "").replace(tmp, "")
    lines = [line for line in text.splitlines()
             if not line.startswith("ptxas info") and not re.match(r"\s+\d+ bytes stack frame", line)]
    # Second layer behind the screen: when a message is located in a file other than the
    # source or a system header, the compiler may be quoting that file, so nothing is shown.
    for line in lines:
        where = _LOCATION.match(line)
        if where and where.group(1) != filename and not any(
                os.path.realpath(where.group(1)).startswith(root + os.sep) for root in allowed_roots):
            return f"(nvcc's messages quote a file other than {filename} and the system headers: not shown)"
    kept = lines[:DIAGNOSTIC_LINES]
    more = len(lines) - len(kept)
    text = "\n".join(kept)[:DIAGNOSTIC_CHARS]
    return text + (f"\n... ({more} more lines)" if more > 0 else "")


def compile_object(source: str, nvcc: Nvcc, *, arch: str = "sm_90", flags: tuple[str, ...] = (),
                   timeout: float = 120.0, filename: str = "source.cu", deadline: float | None = None
                   ) -> CompileResult:
    """`nvcc -c -arch=<arch>` of a screened source, in the sandbox; nothing it produces is run.

    The compile ends by `timeout` seconds, and by `deadline` (time.monotonic()) when given: the
    grading's own, so that the compile counts against the exercise's wall time.
    """
    started = time.monotonic()
    screen = screen_source(source)
    if screen.refusal:
        return CompileResult(CompileOutcome.REFUSED, screen.refusal)
    filename = re.sub(r"[^A-Za-z0-9_.]", "_", filename).lstrip(".") or "source.cu"
    end = started + timeout if deadline is None else min(deadline, started + timeout)
    # the same line ends the screen read: a lone \r is a line end to gcc and to the screen alike
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    steps = [tools.Step([nvcc.path, "-c", f"-arch={arch}", "--resource-usage", *flags, filename, "-o", "out.o"],
                        timeout),
             tools.Step(["nm", "out.o"], NM_SECONDS, needs_ok=True),
             tools.Step(["nm", "-C", "out.o"], NM_SECONDS, needs_ok=True)]
    try:
        run = tools.run_tools({filename: text}, steps, env=_clean_env(nvcc.path, "/tmp"), deadline=end,
                              readable=toolchain_paths(nvcc))
    except launcher.SandboxUnavailable as exc:
        return CompileResult(CompileOutcome.UNAVAILABLE, f"the compile's sandbox could not start: {exc}",
                             time.monotonic() - started)

    def result(outcome: CompileOutcome, diagnostics: str, **more) -> CompileResult:
        return CompileResult(outcome, diagnostics, time.monotonic() - started, includes=screen.includes,
                             output_bytes=run.steps[0].output_bytes if run.steps else 0, **more)

    if not run.steps:
        if run.timed_out:
            return result(CompileOutcome.TIMEOUT, "")
        if run.out_of_memory:
            return result(CompileOutcome.ERRORS, f"nvcc ran out of memory ({tools.LIMITS.memory_mb} MiB)")
        return result(CompileOutcome.UNAVAILABLE, f"the compile's sandbox reported nothing: {run.problem}")
    compiled = run.steps[0]
    if not compiled.started:
        return result(CompileOutcome.UNAVAILABLE, compiled.output)
    roots = [run.build, nvcc.root, "/usr/include", "/usr/lib/gcc", "/usr/local/include"]
    diagnostics = _diagnostics(compiled.output, run.build, filename, [os.path.realpath(r) for r in roots if r])
    if compiled.output_bytes > len(compiled.output.encode("utf-8", errors="replace")):
        diagnostics += f"\n... (nvcc printed {compiled.output_bytes} bytes in all)"
    if compiled.timed_out or (compiled.returncode != 0 and run.timed_out):
        return result(CompileOutcome.TIMEOUT, diagnostics)
    if compiled.returncode != 0:
        if run.out_of_memory:
            diagnostics = f"nvcc ran out of memory ({tools.LIMITS.memory_mb} MiB)\n{diagnostics}"
        return result(CompileOutcome.ERRORS, diagnostics)
    if len(run.steps) < 3 or any(s.returncode != 0 for s in run.steps[1:]):
        if run.timed_out:
            return result(CompileOutcome.TIMEOUT, diagnostics)
        why = next((s.output.strip()[:300] for s in run.steps[1:] if s.returncode != 0), run.problem)
        return result(CompileOutcome.UNAVAILABLE, f"nm could not list the object file: {why}")
    defined, undefined, names = _symbols(run.steps[1].output, run.steps[2].output)
    kernels = [KernelInfo(names.get(k.name, k.name), k.registers, k.shared_bytes, k.spill_bytes)
               for k in _kernels(compiled.output)]
    return result(CompileOutcome.OK, diagnostics, kernels=kernels, defined_symbols=defined,
                  undefined_symbols=undefined)
