"""Grader of the cuda_matmul exercise (trusted, host side).

On a GPU the engine runs the submission in the sandbox and this file checks
what came back against a float64 A @ B. Without a GPU nothing of the
submission runs: `cpu_fallback` reads CUDA_SRC out of the file with `ast`
(never importing it), compiles it with nvcc for sm_90 in the sandbox, and
reports the exercise as not verified, or failed when it does not compile.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from typing import Any

import torch

from dlverify.launch import nvcc
from dlverify.packs.cases import Case
from dlverify.judging.compare import Check, compare_arrays
from dlverify.packs.loading import GraderContext
from dlverify.submission.parsing import UnparsableSource, parse_source

ARCH = "sm_90"              # Hopper: what the GPU graders run on
COMPILE_SECONDS = 120.0
MAX_CUDA_SRC_CHARS = 200_000
# What torch.utils.cpp_extension gives nvcc (COMMON_NVCC_FLAGS, -std), so that a source that
# compiles here also compiles in load_inline, and the other way round.
NVCC_FLAGS = ("-O3", "-std=c++20", "--expt-relaxed-constexpr", "-Xcompiler", "-fPIC",
              "-D__CUDA_NO_HALF_OPERATORS__", "-D__CUDA_NO_HALF_CONVERSIONS__",
              "-D__CUDA_NO_BFLOAT16_CONVERSIONS__", "-D__CUDA_NO_HALF2_OPERATORS__")
# The launcher the README's contract names, declared after the candidate's source: a different
# signature is a compile error ("declaration is incompatible"), a missing one leaves no symbol.
# Two newlines first, so that a backslash ending the source cannot splice it into a comment.
LAUNCHER = "matmul_launch"
LAUNCHER_SIGNATURE = "const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K, cudaStream_t stream"
LAUNCHER_DECLARATION = f'\n\nextern "C" void {LAUNCHER}({LAUNCHER_SIGNATURE});\n'
# A source any working nvcc compiles with these flags. When CUDA_SRC fails to compile and this
# fails too, the compiler here is broken (a host gcc this nvcc refuses, a toolkit without sm_90,
# no -std=c++20): the grader's side, never the candidate's.
CONTROL_SOURCE = r"""
extern "C" __global__ void control_kernel(float* c_ptr) { c_ptr[threadIdx.x] = 0.0f; }
extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    control_kernel<<<1, 1, 0, stream>>>(c_ptr);
}
"""
# GEMM libraries and the torch runtime: the kernel must be the candidate's own.
LIBRARY_HEADERS = re.compile(r"^(cublas|cudnn|cutlass|cute/|cusparse|cusolver|cutensor|torch/|ATen/|c10/|pybind11/)",
                             re.I)
LIBRARY_SYMBOLS = re.compile(r"cublas|cudnn|cutlass|cusparse|cutensor|\bdl(?:m?open|v?sym)\b|\bat::|\bc10::|\btorch::",
                             re.I)


# ----------------------------------------------------------------------------- inputs and answer

def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    p = case.params
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(p["M"], p["K"], generator=g, dtype=torch.float32)  # (M, K)
    b = torch.randn(p["K"], p["N"], generator=g, dtype=torch.float32)  # (K, N)
    return {"a": a, "b": b}


def expected(case: Case, inputs: dict, ctx: GraderContext) -> dict[str, Any]:
    # float64 on the GPU when there is one: 4096^3 in float64 takes seconds on a CPU, ms on an H100
    device = "cuda" if ctx.device == "cuda" and torch.cuda.is_available() else "cpu"
    a = inputs["a"].to(device, torch.float64)
    b = inputs["b"].to(device, torch.float64)
    return {"c": (a @ b).cpu()}  # (M, K) @ (K, N) -> (M, N)


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    if type(outputs) is not dict or set(outputs) != {"c"}:
        keys = sorted(outputs) if type(outputs) is dict else type(outputs).__name__
        return Check(False, f"outputs: expected exactly {{'c'}}, got {keys}")
    got = outputs["c"]
    if type(got) is not torch.Tensor:
        return Check(False, f"C: expected a torch.Tensor, got {type(got).__module__}.{type(got).__name__}")
    if got.dtype != torch.float32:
        return Check(False, f"C: dtype {str(got.dtype).replace('torch.', '')}, expected float32")
    tol = ctx.tolerances["float32"]
    atol = tol.atol * math.sqrt(max(case.params["K"], 1))  # see cases.toml: error grows like sqrt(K)
    return compare_arrays("C", got.to(torch.float64), want["c"], atol, tol.rtol)


def bench_figures(case: Case) -> dict[str, float]:
    """The work of one call, for TFLOP/s and GB/s: 2*M*N*K flops, A and B read once, C written once."""
    p = case.params
    return {"flops": 2.0 * p["M"] * p["N"] * p["K"],
            "bytes": 4.0 * (p["M"] * p["K"] + p["K"] * p["N"] + p["M"] * p["N"])}


# ----------------------------------------------------------------------------- no GPU: compile only

def module_literal(submission_source: str, name: str) -> tuple[str | None, str]:
    """A module-level string constant (CUDA_SRC, CPP_SRC) read out of the submission's syntax tree, or (None, why not). Nothing is executed.

    It must be bound exactly once in the whole file, at module level, to a string
    literal (implicit concatenation and + of literals are literals too): anything
    computed would need running the file to know.
    """
    try:
        tree = parse_source(submission_source)
    except UnparsableSource as exc:  # too deep, too large, not Python: the candidate's `failed`
        return None, f"the submission does not parse: {exc}"
    bindings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
            bindings.append(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            bindings.append(node)
        elif isinstance(node, ast.alias) and (node.asname or node.name) == name:
            bindings.append(node)
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            bindings.append(node)
    top = [s for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign))
           and any(isinstance(t, ast.Name) and t.id == name for t in _targets(s))]
    if not bindings:
        return None, f"the submission defines no {name} (a module-level string literal)"
    if len(bindings) > 1 or len(top) != 1:
        where = ", ".join(str(getattr(b, "lineno", "?")) for b in bindings)
        return None, (f"{name} must be assigned exactly once, at module level, to a string literal "
                      f"(it is bound on lines {where})")
    statement = top[0]
    if isinstance(statement, ast.Assign) and (len(statement.targets) != 1
                                              or not isinstance(statement.targets[0], ast.Name)):
        return None, f"line {statement.lineno}: assign {name} on its own ({name} = \"...\")"
    text = _literal(statement.value)
    if text is None:
        kind = type(statement.value).__name__ if statement.value is not None else "nothing"
        return None, (f"line {statement.lineno}: {name} must be a string literal, not a {kind} expression "
                      "(the grader reads it without running your file)")
    if len(text) > MAX_CUDA_SRC_CHARS:
        return None, f"{name} is longer than {MAX_CUDA_SRC_CHARS} characters"
    return text, ""


def cuda_source(submission_source: str) -> tuple[str | None, str]:
    return module_literal(submission_source, "CUDA_SRC")


# The torch binding may allocate and check tensors; the product itself must come from CUDA_SRC.
BINDING_FORBIDDEN = re.compile(
    r"cublas|cudnn|cutlass|cusparse|cutensor|dlopen|dlsym|dlmopen"
    r"|\b(?:at|torch)::(?:native::)?(?:_\w+|matmul|mm|bmm|addmm|baddbmm|addbmm|einsum|linear|tensordot|dot|vdot"
    r"|mv|addmv|outer|chain_matmul|matrix_power|conv\w*)\b"
    r"|\.(?:matmul|mm|bmm|addmm|baddbmm|addbmm|mv|dot|outer|tensordot)\s*\(", re.I)
BUILDERS = {"load_inline", "load", "compile", "CDLL", "RawKernel", "RawModule", "nvrtc", "cuModuleLoad"}


def binding_problem(submission_source: str) -> tuple[str, str] | None:
    """(status, why) when CPP_SRC or the build could put a library product where the kernel's should be."""
    cpp, why = module_literal(submission_source, "CPP_SRC")
    if cpp is None:
        return "failed", why
    hit = BINDING_FORBIDDEN.search(cpp)
    if hit:
        return "rejected", f"CPP_SRC uses {hit.group(0)!r}: the binding may check and allocate, the product is CUDA_SRC's"
    try:
        tree = parse_source(submission_source)  # module_literal() parsed it already; still never raise
    except UnparsableSource as exc:
        return "failed", f"the submission does not parse: {exc}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if func not in BUILDERS:
            continue
        if func != "load_inline":
            return "rejected", f"line {node.lineno}: build CUDA_SRC with load_inline only ({func} is not accepted)"
        given = {k.arg: k.value for k in node.keywords}
        for keyword, name in (("cuda_sources", "CUDA_SRC"), ("cpp_sources", "CPP_SRC")):
            value = given.get(keyword)
            items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]
            if not (len(items) == 1 and isinstance(items[0], ast.Name) and items[0].id == name):
                return "rejected", (f"line {node.lineno}: load_inline must get {keyword}={name}: the grader "
                                    "checks that source and no other")
    return None


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return [n for t in statement.targets for n in ast.walk(t)]
    return [statement.target]


def _literal(node: ast.expr | None) -> str | None:
    """The string a tree of literals joined by + spells, or None. Walked with a stack, not by
    recursion: `"a" + "b" + ...` two thousand times deep is a RecursionError otherwise."""
    parts: list[str] = []
    stack = [node]
    while stack:
        here = stack.pop()
        if isinstance(here, ast.Constant) and type(here.value) is str:
            parts.append(here.value)
        elif isinstance(here, ast.BinOp) and isinstance(here.op, ast.Add):
            stack += [here.right, here.left]  # left first off the stack: the text stays in order
        else:
            return None
    return "".join(parts)


def precheck(submission_source: str, ctx: GraderContext, compiler: nvcc.Nvcc | None = None, *,
             deadline: float | None = None) -> tuple[str, str, list[dict[str, str]]]:
    """Read and compile CUDA_SRC without running anything; with or without a GPU.

    `compiler` is found on this machine when not given; nvcc runs in the sandbox and stops at
    `deadline` (the grading's, time.monotonic()) or after COMPILE_SECONDS. Returns ("ok" | "failed" |
    "rejected" | "not_verified", message, notes): "ok" means it compiled, defines
    the launcher and a kernel, and calls no library GEMM.
    """
    compiler = compiler or nvcc.find_nvcc()
    source, why = cuda_source(submission_source)
    if source is None:
        return "failed", why, []
    problem = binding_problem(submission_source)
    if problem is not None:
        return problem[0], problem[1], []
    screen = nvcc.screen_source(source)
    if screen.refusal:
        return "rejected", f"CUDA_SRC is not accepted: {screen.refusal}", []
    for header in screen.includes:
        if LIBRARY_HEADERS.match(header):
            return "rejected", (f"CUDA_SRC includes <{header}>: it must be plain CUDA C++ with a kernel of "
                                "your own (no cuBLAS, CUTLASS or cuDNN; the torch binding goes in CPP_SRC)"), []
    if compiler is None:
        return "not_verified", "nvcc is not installed here: CUDA_SRC was not compiled", []
    where = f"nvcc {compiler.version}, -arch={ARCH}"
    result = nvcc.compile_object(source + LAUNCHER_DECLARATION, compiler, arch=ARCH, flags=NVCC_FLAGS,
                                 timeout=COMPILE_SECONDS, filename="CUDA_SRC.cu", deadline=deadline)
    if result.outcome is nvcc.CompileOutcome.UNAVAILABLE:
        return "not_verified", f"nvcc could not be run here ({result.diagnostics}): CUDA_SRC was not compiled", []
    if not result.ok:
        broken = compiler_problem(compiler)
        if broken:
            return "not_verified", (f"nvcc here ({where}) cannot compile a known-good kernel either, so "
                                    f"CUDA_SRC was not judged by it:\n{broken}"), []
    if result.outcome is nvcc.CompileOutcome.TIMEOUT:
        return "failed", (f"CUDA_SRC did not compile within {result.seconds:.0f} s ({where}; the compile "
                          f"counts against the run's wall time, and stops at {COMPILE_SECONDS:.0f} s)"), []
    if not result.ok:
        declared_at = source.count("\n") + 3
        hint = ("" if f"CUDA_SRC.cu({declared_at})" not in result.diagnostics else
                f"\n(line {declared_at} is the grader's declaration of the contract's launcher: "
                f"extern \"C\" void {LAUNCHER}({LAUNCHER_SIGNATURE}))")
        first = next((line.strip() for line in result.diagnostics.splitlines() if "error" in line), "")
        last = f"\nfirst error: {first}" if first else ""  # reports show a message's last line
        return "failed", f"CUDA_SRC does not compile ({where}):\n{result.diagnostics}{hint}{last}", []
    library = sorted({s for s in result.undefined_symbols if LIBRARY_SYMBOLS.search(s)})
    if library:
        return "rejected", (f"CUDA_SRC calls library code ({', '.join(library[:3])}): the matmul must be "
                            "a kernel of your own"), []
    if LAUNCHER not in result.defined_symbols:
        return "failed", f"CUDA_SRC does not define the launcher extern \"C\" void {LAUNCHER}({LAUNCHER_SIGNATURE})", []
    if not result.kernels:
        return "failed", "CUDA_SRC defines no __global__ kernel", []
    notes = [{"what": f"kernel {k.name}",
              "reason": (f"compiled for {ARCH}: {k.registers} registers, {k.shared_bytes / 1024:.1f} KiB "
                         f"static shared memory, {k.spill_bytes} bytes of spills; not run")}
             for k in result.kernels]
    return "ok", f"CUDA_SRC compiles ({where}, {result.seconds:.1f} s)", notes


@functools.lru_cache(maxsize=8)
def compiler_problem(compiler: nvcc.Nvcc) -> str | None:
    """Why this nvcc cannot build CONTROL_SOURCE with the grader's flags, or None; asked only after
    a candidate's source failed, and once per compiler. The grader's own check: its time is its
    own, not the candidate's run's."""
    result = nvcc.compile_object(CONTROL_SOURCE + LAUNCHER_DECLARATION, compiler, arch=ARCH, flags=NVCC_FLAGS,
                                 timeout=COMPILE_SECONDS, filename="control.cu")
    return None if result.ok else (result.diagnostics.strip() or f"nvcc: {result.outcome}")


def cpu_fallback(submission_source: str, ctx: GraderContext, *, deadline: float | None = None
                 ) -> tuple[str, str, list[dict[str, str]]]:
    """The engine's hook for a GPU exercise on a machine without a GPU: compile, never pass."""
    compiler = nvcc.find_nvcc()
    status, message, notes = precheck(submission_source, ctx, compiler, deadline=deadline)
    if status == "not_verified":
        return status, f"no CUDA device, and {message}", notes
    if status != "ok":
        return status, message, notes
    reason = f"no CUDA device: compiled with nvcc {compiler.version} but not run"
    notes = [{"what": "the hidden cases and the benchmark", "reason": reason}] + notes
    return "not_verified", reason, notes
