"""Host-side tests of the cuda_matmul pack: reading CUDA_SRC without running it, the source
screen, the nvcc compile check (cpu_fallback), the kernels' arithmetic under a CPU emulation,
the trusted answer and tolerance, the driver's NaN padding, and the reference kernel's files.

Nothing here needs a GPU. The pack's own known solutions are compiled with nvcc (skipped
without it) and, as plain C++, run on the CPU (skipped without a C++20 g++); the grader
itself never runs a submission. test_packs.py grades every solution through the engine too.
"""

from __future__ import annotations

import ast
import math
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from dlverify.launch import nvcc
from dlverify import paths
from dlverify.packs.cases import Case
from dlverify.packs.loading import load_module_from_path

EXERCISE = "cuda_matmul"
NVCC = nvcc.find_nvcc()
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc is not installed on this machine")
KERNEL_CU = paths.kernels_dir() / "cuda_matmul.cu"

# A minimal source that meets the contract, for tests that change one thing about it.
KERNEL = """
extern "C" __global__ void k(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < M * N) c_ptr[i] = a_ptr[0] * b_ptr[0] * K;
}
"""
LAUNCHER = """
extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,
                              cudaStream_t stream) {
    k<<<(M * N + 255) / 256, 256, 0, stream>>>(a_ptr, b_ptr, c_ptr, M, N, K);
}
"""


def submission(cuda_src: str, cpp_src: str = "// the binding") -> str:
    return (f"CUDA_SRC = {cuda_src!r}\nCPP_SRC = {cpp_src!r}\n\n"
            "def matmul(a, b):\n    raise NotImplementedError\n")


def literal(path: Path, name: str) -> str:
    """A module-level string literal read from a file's syntax tree (nothing is run)."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no {name}")


def all_solution_files(pack) -> list[Path]:
    return [pack.reference_path, pack.exercise.starter] + pack.solutions("correct") + pack.solutions("wrong")


# ----------------------------------------------------------------------------- CUDA_SRC, read not run

@pytest.mark.parametrize("source, want", [
    ('CUDA_SRC = "a"', "a"),
    ('CUDA_SRC = ("a"\n            "b")', "ab"),
    ('CUDA_SRC = "a" + "b" + "c"', "abc"),
    ('CUDA_SRC: str = r"x\\y"', "x\\y"),
])
def test_cuda_source_reads_literals(pack, source, want):
    assert pack.grader.cuda_source(source) == (want, "")


@pytest.mark.parametrize("source, why", [
    ("def matmul(a, b): pass", "defines no CUDA_SRC"),
    ('TILE = 32\nCUDA_SRC = f"#define TILE {TILE}"', "not a JoinedStr"),
    ('CUDA_SRC = open("k.cu").read()', "not a Call"),
    ('CUDA_SRC = "a"\nCUDA_SRC = "b"', "exactly once"),
    ('CUDA_SRC = "a"\nCUDA_SRC += "b"', "exactly once"),
    ('CUDA_SRC = "a"\ndef f():\n    global CUDA_SRC\n    CUDA_SRC = "b"', "exactly once"),
    ("from kernels import CUDA_SRC", "exactly once"),
    ('if True:\n    CUDA_SRC = "a"', "at module level"),
    ('CUDA_SRC = OTHER = "a"', "on its own"),
    ('CUDA_SRC, OTHER = "a", "b"', "on its own"),
    ('CUDA_SRC = "a" +', "does not parse"),
])
def test_cuda_source_refuses_what_needs_running(pack, source, why):
    text, message = pack.grader.cuda_source(source)
    assert text is None
    assert why in message


def test_cuda_source_never_runs_the_file(pack, tmp_path):
    marker = tmp_path / "ran"
    source = f'import pathlib\npathlib.Path({str(marker)!r}).touch()\nCUDA_SRC = __import__("os").getcwd()\n'
    text, message = pack.grader.cuda_source(source)
    assert text is None and "not a Call" in message
    assert not marker.exists()


# ----------------------------------------------------------------------------- the source screen

@pytest.mark.parametrize("name, source", [
    ("absolute", '#include "/etc/hostname"\n'),
    ("absolute_angle", "#include </etc/hostname>\n"),
    ("dot_dot", "#include <../../etc/hostname>\n"),
    ("quoted_plain", '#include "x.h"\n'),
    ("computed", '#define P "/etc/hostname"\n#include P\n'),
    ("digraph", '%:include "/etc/hostname"\n'),
    ("line", '#line 1 "/etc/hostname"\nint x = y;\n'),
    ("linemarker", '# 1 "/etc/hostname"\nint x = y;\n'),
    ("comments_around", '/* a */ # /* b */ include "/etc/hostname"\n'),
    ("comment_across_lines", '#include /*\n*/ "/etc/hostname"\n'),
    ("spliced", '#inc\\\nlude "/etc/hostname"\n'),
    ("spliced_with_space", '#inc\\  \nlude "/etc/hostname"\n'),
    ("lone_cr", 'int x;\r#include "/etc/hostname"\n'),
    ("trigraph", '??=include "/etc/hostname"\n'),
    ("ucn_directive", '#\\u0069nclude "/etc/hostname"\n'),
    ("include_next", "#include_next <stdio.h>\n"),
    ("embed", '#embed "/etc/hostname"\n'),
    ("pragma_operator", '_Pragma("GCC dependency \\"/etc/hostname\\"")\n'),
    ("pragma_dependency", '#pragma GCC dependency "/etc/hostname"\n'),
    ("has_include", '#if __has_include("/etc/hostname")\n#endif\n'),
    ("raw_string", 'const char* s = R"(x)";\n'),
    ("unclosed_comment", "/* never closed\n"),
    # a digit separator read as a quote would hide the next line inside a "comment"
    ("digit_separator_then_quote", "int a = 1'0; int c = '/*';\n#include \"/etc/hostname\"\n*/\n"),
    ("separator_then_char", "int a = 1'a'/*';\n#include \"/etc/hostname\"\n*/\n"),
])
def test_screen_refuses_what_opens_other_files(name, source):
    assert nvcc.screen_source(source).refusal


def test_screen_accepts_ordinary_cuda():
    source = ("#include <cuda_runtime.h>\n#include <cstdint>\n#include <cuda/std/cstdint>\n"
              "#pragma once\n#pragma unroll\n#define X 1\n#if X\n#endif\n#\n"
              '// #include "/etc/hostname" in a comment\n/* #include "/etc/x" */\n'
              "int s = 1'000'000; char q = '\"'; const char* t = \"/* not a comment\";\n")
    screen = nvcc.screen_source(source)
    assert screen.refusal is None
    assert screen.includes == ("cuda_runtime.h", "cstdint", "cuda/std/cstdint")


def test_screen_names_the_right_line():
    source = 'int a;\n/* one\ntwo */ int b;\n#define A \\\n  1\n#include "q"\n'
    assert nvcc.screen_source(source).refusal.startswith("line 6:")


def test_diagnostics_quoting_other_files_are_withheld(tmp_path):
    roots = [str(tmp_path)]
    kept = nvcc._diagnostics('CUDA_SRC.cu(3): error: x\n  x = 1;\n', "/no-such-dir", "CUDA_SRC.cu", roots)
    assert "error: x" in kept
    header = tmp_path / "h.h"
    ok = nvcc._diagnostics(f"{header}(2): error: in a system header\n", "/no-such-dir", "CUDA_SRC.cu", roots)
    assert "in a system header" in ok
    leak = nvcc._diagnostics("/etc/hostname(1): error: this declaration has no storage class\n  secret\n",
                             "/no-such-dir", "CUDA_SRC.cu", roots)
    assert "secret" not in leak and "not shown" in leak
    gcc_style = nvcc._diagnostics("In file included from /srv/hidden.toml:1:\nsecret\n", "/no-such-dir",
                                  "CUDA_SRC.cu", roots)
    assert "secret" not in gcc_style


# ----------------------------------------------------------------------------- compiling with nvcc

@needs_nvcc
def test_reference_kernel_compiles_for_sm_90(pack):
    result = nvcc.compile_object(KERNEL_CU.read_text(encoding="utf-8"), NVCC, arch="sm_90",
                                 flags=pack.grader.NVCC_FLAGS, filename="cuda_matmul.cu")
    assert result.ok, result.diagnostics
    assert [k.name for k in result.kernels] == ["matmul_kernel"]
    kernel = result.kernels[0]
    # 128 registers a thread at most: two blocks of 256 threads then share an SM's 64K registers
    assert kernel.spill_bytes == 0 and kernel.registers <= 128
    assert kernel.shared_bytes == 2 * (4 * 16 * (128 + 4) + 4 * 16 * 128)  # 2 buffers: As (BK, BM + A_PAD), Bs (BK, BN)
    assert "matmul_launch" in result.defined_symbols


@needs_nvcc
@pytest.mark.parametrize("role", ["reference", "starter", "correct"])
def test_known_good_sources_compile_and_are_not_verified(pack, ctx, role):
    files = {"reference": [pack.reference_path], "starter": [pack.exercise.starter],
             "correct": pack.solutions("correct")}[role]
    assert files
    for path in files:
        status, message, notes = pack.grader.cpu_fallback(path.read_text(encoding="utf-8"), ctx)
        want = f"no CUDA device: compiled with nvcc {NVCC.version} but not run"
        assert (status, message) == ("not_verified", want), f"{path.name}: {message}"
        assert notes[0] == {"what": "the hidden cases and the benchmark", "reason": message}
        kernels = [n for n in notes if n["what"].startswith("kernel ")]
        assert kernels and all("sm_90" in n["reason"] and "not run" in n["reason"] for n in kernels)


def wrong_expectation(path: Path) -> tuple[str, bool]:
    """(status its first line names, whether its second line says only a GPU shows it)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    status = re.match(r"# WRONG\((\w+)\):", lines[0]).group(1)
    return status, lines[1].startswith("# ONLY-ON-GPU:")


@needs_nvcc
def test_wrong_solutions_without_a_gpu(pack, ctx):
    seen = {}
    for path in pack.solutions("wrong"):
        status, gpu_only = wrong_expectation(path)
        got, message, _ = pack.grader.cpu_fallback(path.read_text(encoding="utf-8"), ctx)
        seen[path.stem] = got
        assert got == ("not_verified" if gpu_only else status), f"{path.name}: {got}: {message}"
    assert {"compile_error", "cublas_launcher", "includes_hidden_cases", "cuda_src_computed"} <= set(seen)
    assert sum(s == "not_verified" for s in seen.values()) >= 3  # the bugs only a run can show


@needs_nvcc
def test_compile_errors_fail_with_nvcc_diagnostics(pack, ctx):
    source = (pack.folder / "solutions" / "wrong" / "compile_error.py").read_text(encoding="utf-8")
    status, message, notes = pack.grader.cpu_fallback(source, ctx)
    assert status == "failed" and notes == []
    cuda_src = pack.grader.cuda_source(source)[0]
    line = next(i for i, text in enumerate(cuda_src.splitlines(), 1) if "__syncthread()" in text)
    assert f'CUDA_SRC.cu({line}): error: identifier "__syncthread" is undefined' in message
    assert message.splitlines()[-1].startswith("first error: CUDA_SRC.cu(")
    assert "dlverify-nvcc-" not in message and "/tmp" not in message  # no temp paths


@needs_nvcc
def test_hidden_cases_never_reach_a_message(pack, ctx):
    names = [c.name for c in pack.cases]
    sources = [
        (pack.folder / "solutions" / "wrong" / "includes_hidden_cases.py").read_text(encoding="utf-8"),
        submission(f'#include "{pack.folder / "cases.toml"}"\n' + KERNEL + LAUNCHER),
        submission(f'#line 1 "{pack.folder / "cases.toml"}"\nint x = undefined_here;\n' + KERNEL + LAUNCHER),
    ]
    for source in sources:
        status, message, notes = pack.grader.cpu_fallback(source, ctx)
        assert status == "rejected"
        text = message + repr(notes)
        assert not any(name in text for name in names), message


@needs_nvcc
@pytest.mark.parametrize("cuda_src, status, why", [
    (KERNEL + LAUNCHER, "not_verified", "compiled with nvcc"),
    (KERNEL + re.sub(r",\s*cudaStream_t stream", "", LAUNCHER).replace(", 0, stream", ""), "failed",
     "the grader's declaration of the contract's launcher"),
    (KERNEL + LAUNCHER.replace("matmul_launch", "launch"), "failed", "does not define the launcher"),
    ('extern "C" void matmul_launch(const float* a_ptr, const float* b_ptr, float* c_ptr, int M, int N, int K,\n'
     '                              cudaStream_t stream) { cudaMemsetAsync(c_ptr, 0, 4 * M * N, stream); }\n',
     "failed", "defines no __global__ kernel"),
    ("#include <torch/extension.h>\n" + KERNEL + LAUNCHER, "rejected", "plain CUDA C++"),
    ("#include <cublas_v2.h>\n" + KERNEL + LAUNCHER, "rejected", "cuBLAS"),
    (KERNEL + LAUNCHER + "\n// a trailing comment ending in a backslash \\", "not_verified", "compiled with nvcc"),
])
def test_contract_checks_of_the_compiled_source(pack, ctx, cuda_src, status, why):
    got, message, _ = pack.grader.cpu_fallback(submission(cuda_src), ctx)
    assert (got, why in message) == (status, True), message


@needs_nvcc
def test_nvcc_past_its_time_limit_is_stopped():
    result = nvcc.compile_object(KERNEL + LAUNCHER, NVCC, timeout=0.2)
    assert result.outcome is nvcc.CompileOutcome.TIMEOUT
    assert result.seconds < 10


@pytest.mark.parametrize("control_compiles, status", [(False, "not_verified"), (True, "failed")])
def test_a_compiler_that_builds_nothing_fails_no_candidate(pack, ctx, monkeypatch, control_compiles, status):
    """A host nvcc that rejects every source (a gcc it does not support, a toolkit without sm_90)
    is the grader's problem: checked against a known-good control before blaming CUDA_SRC."""
    broken = nvcc.Nvcc("/nowhere/nvcc", f"12.{int(control_compiles)}-test", "/nowhere")  # its own cache entry
    seen = []

    def compile_object(source, compiler, *, filename="source.cu", **kwargs):
        seen.append(filename)
        if control_compiles and filename == "control.cu":
            return nvcc.CompileResult(nvcc.CompileOutcome.OK)
        return nvcc.CompileResult(nvcc.CompileOutcome.ERRORS, "error -- unsupported GNU version! gcc versions "
                                                              "later than 12 are not supported!")

    monkeypatch.setattr(nvcc, "compile_object", compile_object)
    got, message, _ = pack.grader.precheck(pack.reference_path.read_text(encoding="utf-8"), ctx, broken)
    assert (got, seen) == (status, ["CUDA_SRC.cu", "control.cu"]), message
    assert "unsupported GNU version" in message
    assert ("known-good" in message) == (status == "not_verified")


@needs_nvcc
def test_the_control_source_compiles_here(pack):
    assert pack.grader.compiler_problem(NVCC) is None


def test_without_nvcc_nothing_is_compiled_and_nothing_passes(pack, ctx, monkeypatch):
    monkeypatch.setattr(nvcc, "find_nvcc", lambda environ=None: None)
    status, message, _ = pack.grader.cpu_fallback(pack.reference_path.read_text(encoding="utf-8"), ctx)
    assert status == "not_verified"
    assert message == "no CUDA device, and nvcc is not installed here: CUDA_SRC was not compiled"
    # what needs no compiler is still caught
    computed = (pack.folder / "solutions" / "wrong" / "cuda_src_computed.py").read_text(encoding="utf-8")
    assert pack.grader.cpu_fallback(computed, ctx)[0] == "failed"


# ----------------------------------------------------------------------------- kernels run on the CPU
# No GPU here, so the kernels' arithmetic is checked by compiling CUDA_SRC as plain C++ with a few
# definitions (one std::thread per CUDA thread, a std::barrier for __syncthreads, one block at a
# time) and running it on small odd shapes, A and B inside NaN as the driver places them. It is no
# GPU (no warps, no races), but wrong indexing, missing bounds checks and lost precision show.

EMULATION = r"""
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>
struct uint3 { unsigned x = 0, y = 0, z = 0; };
struct dim3 { unsigned x, y, z; dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {} };
struct __half { _Float16 v; };
struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
typedef void* cudaStream_t;
thread_local uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;
static std::barrier<>* emu_barrier;
inline void __syncthreads() { emu_barrier->arrive_and_wait(); }
inline __half __float2half_rn(float x) { return __half{(_Float16)x}; }
inline float __half2float(__half h) { return (float)h.v; }
#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static  /* one block runs at a time: its threads share the function's statics */
#define __align__(n) __attribute__((aligned(n)))
template <class F> void emu_launch(dim3 grid, dim3 block, F kernel) {
    gridDim = grid; blockDim = block;
    const unsigned n = block.x * block.y * block.z;
    std::barrier<> bar(n); emu_barrier = &bar;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < n; ++t) threads.emplace_back([&, t] {
        threadIdx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
        for (unsigned z = 0; z < grid.z; ++z)
            for (unsigned y = 0; y < grid.y; ++y)
                for (unsigned x = 0; x < grid.x; ++x) {
                    blockIdx = {x, y, z};
                    kernel();
                    bar.arrive_and_wait();  // the whole block is done before the next one starts
                }
    });
    for (auto& t : threads) t.join();
}
"""
EMULATION_MAIN = r"""
int main(int argc, char** argv) {
    const int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]);
    // argv[4], when given, shifts every matrix by that many floats: 16-byte loads must then not be used
    const size_t pad = 256 * (size_t)std::max({M, N, K}) + (argc > 4 ? atoi(argv[4]) : 0);
    std::mt19937 g(M + 7 * N + 13 * K);
    std::normal_distribution<float> d;
    std::vector<float> a(pad + (size_t)M * K + pad, NAN), b(pad + (size_t)K * N + pad, NAN);
    std::vector<float> c(pad + (size_t)M * N + pad, NAN);
    float *A = a.data() + pad, *B = b.data() + pad, *C = c.data() + pad;
    for (size_t i = 0; i < (size_t)M * K; ++i) A[i] = d(g);
    for (size_t i = 0; i < (size_t)K * N; ++i) B[i] = d(g);
    matmul_launch(A, B, C, M, N, K, nullptr);
    long bad = 0;
    for (int i = 0; i < M; ++i) for (int j = 0; j < N; ++j) {
        double want = 0;
        for (int k = 0; k < K; ++k) want += (double)A[(size_t)i * K + k] * B[(size_t)k * N + j];
        if (!(std::fabs(C[(size_t)i * N + j] - want) <= 1e-4 * std::sqrt((double)K) + 1e-4 * std::fabs(want))) ++bad;
    }
    printf("%ld\n", bad);
}
"""
# (M, N, K[, shift]); (130, 300, 9) spans 2 x 3 tiles of 128, so that blockIdx.x > 0 (col0) is
# exercised too; K and N multiples of 4 take a kernel's 16-byte loads and stores (several steps of
# K: double buffering), and the same shifted by one float must not (misaligned rows).
EMULATED_SHAPES = [(1, 1, 1), (17, 65, 33), (40, 30, 1), (129, 127, 255), (130, 300, 9),
                   (131, 260, 68), (131, 260, 68, 1), (4, 8, 4)]


def _launches_as_calls(source: str) -> str:
    """kernel<<<grid, block[, smem, stream]>>>(args); -> emu_launch(dim3(grid), dim3(block), [&] { kernel(args); });"""
    def call(match):
        config, depth, parts = match.group(2), 0, [""]
        for ch in config:
            depth += ch in "([{"
            depth -= ch in ")]}"
            parts[-1:] = [parts[-1], ""] if ch == "," and depth == 0 else [parts[-1] + ch]
        return f"emu_launch(dim3({parts[0]}), dim3({parts[1]}), [&] {{ {match.group(1)}({match.group(3)}); }});"
    return re.sub(r"(\w+)\s*<<<(.*?)>>>\s*\((.*?)\);", call, source, flags=re.S)


def emulate(cxx: str, cuda_src: str, folder: Path) -> list[int]:
    """Elements outside the tolerance, per shape of EMULATED_SHAPES."""
    folder.mkdir(exist_ok=True)
    body = _launches_as_calls(cuda_src.replace("#include <cuda_fp16.h>", ""))
    (folder / "emulated.cpp").write_text(EMULATION + body + EMULATION_MAIN, encoding="utf-8")
    # -fsanitize=alignment: a 16-byte load from a misaligned address aborts here as it would fault on a GPU
    built = subprocess.run([cxx, "-std=c++20", "-O1", "-pthread", "-w", "-fsanitize=alignment",
                            "-fno-sanitize-recover=alignment", "emulated.cpp", "-o", "emulated"],
                           cwd=folder, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    return [int(subprocess.run([str(folder / "emulated"), *map(str, shape)], capture_output=True,
                               text=True, timeout=300, check=True).stdout) for shape in EMULATED_SHAPES]


@pytest.fixture(scope="module")
def cxx(tmp_path_factory) -> str:
    """g++, once it has shown it can build the emulation (C++20 <barrier>, _Float16)."""
    found = shutil.which("g++")
    if found is None:
        pytest.skip("g++ is not installed on this machine")
    try:
        emulate(found, KERNEL + LAUNCHER.replace(", 0, stream>>>", ">>>"), tmp_path_factory.mktemp("probe"))
    except (AssertionError, subprocess.SubprocessError) as exc:
        pytest.skip(f"this g++ cannot build the CPU emulation: {str(exc)[-300:]}")
    return found


def test_known_good_kernels_compute_a_matmul(pack, cxx, tmp_path):
    for index, path in enumerate([pack.reference_path] + pack.solutions("correct")):
        assert emulate(cxx, literal(path, "CUDA_SRC"), tmp_path / str(index)) == [0] * len(EMULATED_SHAPES), path.name


def test_wrong_kernels_and_the_starter_compute_something_else(pack, cxx, tmp_path):
    # the known-bad files whose bug is in the kernel's arithmetic; the others break a rule
    files = [p for p in pack.solutions("wrong") if wrong_expectation(p) == ("failed", True)]
    assert len(files) >= 3
    for index, path in enumerate(files + [pack.exercise.starter]):
        assert any(emulate(cxx, literal(path, "CUDA_SRC"), tmp_path / str(index))), path.name


# ----------------------------------------------------------------------------- the reference's files

def test_reference_cuda_src_is_the_kernel_file(pack):
    assert literal(pack.reference_path, "CUDA_SRC") == KERNEL_CU.read_text(encoding="utf-8")


def test_every_file_uses_the_same_torch_binding(pack):
    kernel_module = load_module_from_path("_test_cuda_matmul_kernel", paths.kernels_dir() / "cuda_matmul.py")
    binding = kernel_module.CPP_SRC
    for path in all_solution_files(pack):
        assert literal(path, "CPP_SRC") == binding, path.name


def test_kernel_script_says_so_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the script would build and benchmark")
    done = subprocess.run([sys.executable, str(paths.kernels_dir() / "cuda_matmul.py")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA device" in done.stdout


# ----------------------------------------------------------------------------- cases, answer, tolerance

def test_cases_cover_the_odd_shapes_on_the_gpu_only(pack):
    shapes = {(c.params["M"], c.params["K"], c.params["N"]): c for c in pack.cases}  # M x K x N
    for mkn in [(1, 1, 1), (17, 33, 65), (1823, 129, 781)]:
        assert mkn in shapes
    assert any(c.params["K"] == 1 and c.params["M"] * c.params["N"] > 1 for c in pack.cases)
    assert all(c.devices == ("cuda",) for c in pack.cases)
    benches = [c for c in pack.cases if c.kind == "bench"]
    assert [(c.params["M"], c.params["N"], c.params["K"]) for c in benches] == [(4096, 4096, 4096)]
    toml = tomllib.loads((pack.folder / "cases.toml").read_text(encoding="utf-8"))
    assert set(toml["tolerance"]) == {"float32"}


def test_inputs_follow_the_seed(pack):
    case = Case("t", {"M": 5, "N": 7, "K": 3})
    one, again, other = (pack.grader.make_inputs(case, s) for s in (1, 1, 2))
    assert one["a"].shape == (5, 3) and one["b"].shape == (3, 7) and one["a"].dtype == torch.float32
    assert torch.equal(one["a"], again["a"]) and not torch.equal(one["a"], other["a"])


def allowed_fraction(pack, ctx, case, got) -> float:
    inputs = pack.grader.make_inputs(case, 11)
    want = pack.grader.expected(case, inputs, ctx)["c"]
    tol = ctx.tolerances["float32"]
    allowed = tol.atol * math.sqrt(case.params["K"]) + tol.rtol * want.abs()
    return float(((got(inputs).double() - want).abs() / allowed).max())


def test_honest_float32_is_well_inside_the_tolerance(pack, ctx):
    for case in pack.check_cases("cuda"):
        worst = allowed_fraction(pack, ctx, case, lambda x: x["a"] @ x["b"])  # torch's own float32 GEMM
        assert worst < 0.1, (case.name, worst)


def test_float16_or_tf32_inputs_miss_the_tolerance(pack, ctx):
    def rounded(x):  # 10-bit mantissas, float32 accumulation, as fp16 / TF32 tensor cores do
        return x["a"].half().float() @ x["b"].half().float()

    for case in pack.check_cases("cuda"):
        assert allowed_fraction(pack, ctx, case, rounded) > 1.0, case.name


def test_check_is_strict_about_what_comes_back(pack, ctx):
    case = Case("t", {"M": 4, "N": 3, "K": 2})
    inputs = pack.grader.make_inputs(case, 5)
    want = pack.grader.expected(case, inputs, ctx)
    assert want["c"].dtype == torch.float64
    good = (inputs["a"].double() @ inputs["b"].double()).float()
    assert pack.grader.check(case, inputs, {"c": good}, want, ctx).ok

    class Lazy(torch.Tensor):
        pass

    nan = good.clone()
    nan[1, 2] = float("nan")
    for outputs, why in [
        ({"c": good.double()}, "dtype float64"),
        ({"c": good[:, :2]}, "shape"),
        ({"c": nan}, "NaN"),
        ({"c": good, "extra": good}, "exactly"),
        ({}, "exactly"),
        ({"c": good.as_subclass(Lazy)}, "torch.Tensor"),
        ({"c": good.numpy()}, "torch.Tensor"),
    ]:
        result = pack.grader.check(case, inputs, outputs, want, ctx)
        assert not result.ok and why in result.message, (why, result.message)


def test_bench_figures_count_a_gemm(pack):
    case = next(c for c in pack.cases if c.kind == "bench")
    figures = pack.grader.bench_figures(case)
    assert figures["flops"] == 2 * 4096 ** 3 and figures["bytes"] == 4 * 3 * 4096 ** 2


# ----------------------------------------------------------------------------- the driver

def test_driver_pads_operands_with_nan(driver):
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    view = driver._padded(t, "cpu")
    assert torch.equal(view, t) and view.is_contiguous() and view.shape == (3, 4)
    storage = torch.tensor([], dtype=torch.float32).set_(view.untyped_storage())  # the whole buffer
    pad = view.storage_offset()
    assert pad >= driver.NAN_ROWS * 4 and pad % 64 == 0
    assert storage[:pad].isnan().all() and storage[pad + 12:].isnan().all() and len(storage) == 2 * pad + 12


def test_driver_refuses_a_cpu_run(driver, pack):
    contract = sys.modules.get("contract")
    case = pack.cases[0]
    inputs = pack.grader.make_inputs(case, 1)
    with pytest.raises(Exception) as info:
        driver.run(object(), case.params, inputs, "cpu")
    assert type(info.value).__name__ == "ContractError" and "CUDA device" in str(info.value)
    assert contract is None or isinstance(info.value, contract.ContractError)
    assert callable(driver.bench_call)


@pytest.mark.parametrize("cpp_src, build, status, why", [
    ("// ok", "", "not_verified", "compiled with nvcc"),
    ("#include <cublas_v2.h>\n", "", "rejected", "CPP_SRC uses 'cublas'"),
    ("torch::Tensor f(torch::Tensor a, torch::Tensor b) { return at::matmul(a, b); }", "", "rejected", "at::matmul"),
    ("torch::Tensor f(torch::Tensor a, torch::Tensor b) { return a.mm(b); }", "", "rejected", ".mm("),
    ("// ok", "\nx = load_inline(name='m', cpp_sources=CPP_SRC, cuda_sources=OTHER)\n", "rejected", "cuda_sources=CUDA_SRC"),
    ("// ok", "\nx = torch.utils.cpp_extension.load(name='m', sources=['k.cu'])\n", "rejected", "load_inline only"),
])
def test_the_binding_and_the_build_cannot_bring_another_product(pack, ctx, cpp_src, build, status, why):
    source = submission(literal(pack.reference_path, "CUDA_SRC"), cpp_src) + build
    got, message, _ = pack.grader.cpu_fallback(source, ctx)
    if status == "not_verified" and nvcc.find_nvcc() is None:
        pytest.skip("nvcc is not installed here")
    assert got == status and why in message, message


def test_inside_matmul_torch_may_only_check_allocate_and_launch(pack):
    """The allow-list, judged as it is in the worker (this file stands in for the candidate's): what the
    starter's binding does (contiguous, empty) passes; a product through an op no deny-list names does not."""
    guards_module = load_module_from_path("_test_cuda_matmul_guards", paths.sandbox_dir() / "guards.py")
    rules = pack.exercise.rules
    violations = []
    guards = guards_module.Guards({"forbidden_ops": list(rules.forbidden_ops), "allowed_ops": list(rules.allowed_ops)},
                                  lambda rule, detail: violations.append(detail))
    a, b = torch.randn(5, 7), torch.randn(7, 3)
    with guards.watching_call():
        c = torch.empty(a.shape[0], b.shape[1])                     # (M, N), as CPP_SRC allocates C
        a.contiguous(), b.t().contiguous(), c.view(-1)
    assert violations == []
    M, K = a.shape
    index, offsets = torch.arange(K).repeat(M), torch.arange(0, M * K, K)
    with pytest.raises(RuntimeError, match="only allocate, take views and launch"):
        with guards.watching_call():
            torch.nn.functional.embedding_bag(index, b, offsets, mode="sum", per_sample_weights=a.reshape(-1))
    assert len(violations) == 1 and "embedding_bag" in violations[0]
