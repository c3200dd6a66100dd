"""Host-side tests of the triton_softmax pack: inputs, trusted answer, check, driver, rules, kernel.

The sandboxed path (reference, known-good and known-bad solutions graded for
real) is covered by test_packs.py. Triton code runs here under the
interpreter: TRITON_INTERPRET is set for the whole module, since Triton reads
it both when @triton.jit runs and, lazily, on the first launch.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch

from dlverify import paths
from dlverify.packs.cases import Case
from ops_seen import ops_seen

EXERCISE = "triton_softmax"
SEED = 20240611
SHARED_START = "# --- kernel and launcher"
SHARED_END = "# --- end of the part shared"


@pytest.fixture(scope="module", autouse=True)
def interpreter():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRITON_INTERPRET", "1")
        yield


def load_interpreted(path, name):
    """Load a Triton file by path (the `interpreter` fixture has set TRITON_INTERPRET)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(pack, interpreter):
    return load_interpreted(pack.reference_path, "_test_triton_softmax_reference")


@pytest.fixture(scope="module")
def kernel_file(interpreter):
    return load_interpreted(paths.kernels_dir() / "triton_softmax.py", "_test_triton_softmax_kernel")


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def cpu_check_cases(pack, ctx):
    return [c for c in pack.check_cases("cpu") if pack.grader.not_run_reason(c, ctx) is None]


# --- cases and make_inputs --------------------------------------------------------------

def test_cases_cover_the_contract(pack, ctx, kernel_file):
    checks = [c for c in pack.cases if c.kind == "check"]
    cpu = [c for c in checks if "cpu" in c.devices]
    params = [c.params for c in cpu]
    assert any(p["N"] == 1 for p in params)
    assert any(p["M"] == 1 for p in params)
    assert any(p["N"] & (p["N"] - 1) for p in params)                        # N not a power of two
    assert any(p["N"] > kernel_file.MAX_FUSED_BLOCK for p in params)          # the reference's loop path
    assert any(p.get("offset", 0) >= 1e4 for p in params)
    assert any(p.get("offset", 0) <= -1e4 for p in params)
    assert any(p.get("equal") for p in params)
    assert {p["dtype"] for p in params} == {"float32", "float16", "bfloat16"}
    assert set(pack.tolerances) == {"float32", "float16", "bfloat16"}
    bench = [c for c in pack.cases if c.kind == "bench"]
    assert [c.devices for c in bench if "cpu" in c.devices] == [("cpu",)]
    # Graded GPU timing: one case per large row shape, both dtypes between them (each call's
    # input, 128-256 MiB, made on the device by the driver); kernels/triton_softmax.py
    # benchmarks all four combinations.
    assert {(c.params["M"], c.params["N"], c.params["dtype"]) for c in bench if c.devices == ("cuda",)} == {
        (8192, 8192, "float16"), (4096, 32768, "bfloat16")}
    assert all(ctx.driver.bench_inputs for c in bench if c.devices == ("cuda",))


def test_inputs_follow_the_seed_and_the_case(pack):
    for case in pack.cases:
        p = case.params
        if p["M"] * p["N"] > 1 << 20:
            continue  # the GPU-sized ones: seconds each on a CPU, same code
        x = pack.grader.make_inputs(case, SEED)["x"]
        assert type(x) is torch.Tensor and x.is_contiguous(), case.name
        assert x.shape == (p["M"], p["N"]) and x.dtype == getattr(torch, p["dtype"]), case.name
        assert torch.equal(x, pack.grader.make_inputs(case, SEED)["x"]), case.name
        assert not torch.equal(x, pack.grader.make_inputs(case, SEED + 1)["x"]), case.name
        assert torch.isfinite(x).all(), case.name


def test_large_offsets_overflow_or_underflow_a_naive_exp(pack):
    for name in ("large_magnitude_1e4", "fp16_large_offset"):
        x = pack.grader.make_inputs(by_name(pack, name), SEED)["x"].float()
        assert torch.isinf(torch.exp(x)).all(), name
    x = pack.grader.make_inputs(by_name(pack, "very_negative_rows"), SEED)["x"]
    assert (torch.exp(x).sum(dim=-1) == 0).all()  # 0 / 0 unless the max is subtracted


def test_equal_rows_are_constant_and_differ_between_rows(pack):
    x = pack.grader.make_inputs(by_name(pack, "all_equal_rows"), SEED)["x"]
    assert (x == x[:, :1]).all()
    assert x[:, 0].unique().numel() > 1


# --- expected ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["odd_37x781", "large_magnitude_1e4", "fp16_odd_33x517", "bf16_odd_17x999"])
def test_expected_is_float64_softmax_rounded_once(pack, ctx, name):
    case = by_name(pack, name)
    x = pack.grader.make_inputs(case, SEED)["x"]
    want = pack.grader.expected(case, {"x": x}, ctx)["y"]
    x64 = x.double()
    e = torch.exp(x64 - x64.max(dim=-1, keepdim=True).values)                 # (M, N)
    assert want.dtype == x.dtype
    assert torch.equal(want, (e / e.sum(dim=-1, keepdim=True)).to(x.dtype))


def test_expected_of_equal_rows_is_one_over_n(pack, ctx):
    case = by_name(pack, "all_equal_rows")
    want = pack.grader.expected(case, pack.grader.make_inputs(case, SEED), ctx)["y"]
    assert torch.equal(want, torch.full_like(want, 1 / case.params["N"]))


# --- check ------------------------------------------------------------------------------

def test_check_accepts_the_answer_and_rejects_broken_outputs(pack, ctx):
    case = by_name(pack, "fp16_odd_33x517")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    y = want["y"]

    def verdict(outputs):
        return pack.grader.check(case, inputs, outputs, want, ctx)

    assert verdict({"y": y.clone()}).ok
    assert "dtype" in verdict({"y": y.float()}).message
    assert "shape" in verdict({"y": y[:, :-1].clone()}).message
    assert "outside" in verdict({"y": y.flip(0)}).message  # right values, wrong rows
    assert "expected a torch.Tensor" in verdict({"y": y.numpy()}).message
    assert "expected exactly 'y'" in verdict({"y": y, "extra": y}).message
    assert "expected exactly 'y'" in verdict({}).message
    assert not verdict([y]).ok
    nan = y.clone()
    nan[3, 4] = float("nan")
    assert "NaN" in verdict({"y": nan}).message


def test_check_refuses_a_tensor_subclass(pack, ctx):
    case = by_name(pack, "odd_5x1000")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    fake = torch.nn.Parameter(want["y"].clone(), requires_grad=False)
    assert "expected a torch.Tensor" in pack.grader.check(case, inputs, {"y": fake}, want, ctx).message


@pytest.mark.parametrize("name", ["wide_row_online", "fp16_wide_row"])
def test_tolerance_catches_a_row_missing_a_few_columns(pack, ctx, name):
    """Leaving 64 of ~40 000 columns out of the sum must fail, though every probability is tiny."""
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    x = inputs["x"].double()
    e = torch.exp(x - x.max(dim=-1, keepdim=True).values)                     # (M, N)
    short = (e / e[:, :-64].sum(dim=-1, keepdim=True)).to(inputs["x"].dtype)
    assert not pack.grader.check(case, inputs, {"y": short}, want, ctx).ok


def test_bfloat16_runs_on_the_gpu_only(pack):
    cpu, cuda = pack.context("cpu"), pack.context("cuda")
    for case in pack.cases:
        bf16 = case.params["dtype"] == "bfloat16"
        assert (pack.grader.not_run_reason(case, cpu) is not None) == bf16, case.name
        assert pack.grader.not_run_reason(case, cuda) is None, case.name


def test_bytes_moved_is_one_read_and_one_write(pack):
    assert pack.grader.bytes_moved(by_name(pack, "bench_fp16_8192x8192")) == 2 * 8192 * 8192 * 2
    assert pack.grader.bytes_moved(by_name(pack, "bench_cpu_64x1024")) == 2 * 64 * 1024 * 4


# --- driver -----------------------------------------------------------------------------

@pytest.mark.parametrize("softmax, message", [
    (None, "does not define"),
    (lambda x: x.tolist(), "must return a torch.Tensor"),
    (lambda x: torch.nn.Parameter(x.clone(), requires_grad=False), "must return a torch.Tensor"),
    (lambda x: x[:, :-1].clone(), "shape"),
    (lambda x: x.double(), "dtype"),
])
def test_driver_refuses_a_broken_contract(driver, softmax, message):
    module = SimpleNamespace() if softmax is None else SimpleNamespace(softmax=softmax)
    with pytest.raises(driver.ContractError, match=message):
        driver.run(module, {}, {"x": torch.randn(3, 5)}, "cpu")


def test_driver_hands_back_the_answer_on_the_cpu(driver):
    x = torch.randn(3, 5, dtype=torch.float16)
    out = driver.run(SimpleNamespace(softmax=lambda t: t.clone()), {}, {"x": x}, "cpu")
    assert list(out) == ["y"] and type(out["y"]) is torch.Tensor and torch.equal(out["y"], x)


def test_driver_bench_call_times_the_softmax_alone(driver):
    """A GPU bench times call() only: it must be the candidate's softmax(x) and nothing else.

    Without bench_call the harness times the whole run(), whose synchronize and copy of y to
    the host (128-256 MiB at the bench shapes) dwarf a ~0.1 ms kernel.
    """
    from dlverify.gpu import worker_harness

    x = torch.randn(4, 6, dtype=torch.float16)
    calls = []

    def softmax(t):
        calls.append(t)
        return t.clone()

    prepared, exact = worker_harness().split_call(driver, SimpleNamespace(softmax=softmax), {}, {"x": x}, "cpu")
    assert exact                                   # the harness reports the figure as the call's alone
    y = prepared.call()
    assert type(y) is torch.Tensor and len(calls) == 1 and calls[0] is x   # the call returns the kernel's tensor
    out = prepared.collect(y)
    assert list(out) == ["y"] and out["y"].data_ptr() == y.data_ptr()     # left where it is: no copy
    assert len(calls) == 1


@pytest.mark.parametrize("returns, message", [
    (lambda x: x.tolist(), "must return a torch.Tensor"),
    (lambda x: x[:, :-1].clone(), "shape"),
    (lambda x: x.double(), "dtype"),
])
def test_driver_bench_call_checks_the_contract_after_the_call(driver, returns, message):
    call, collect = driver.bench_call(SimpleNamespace(softmax=returns), {}, {"x": torch.randn(3, 5)}, "cpu")
    with pytest.raises(driver.ContractError, match=message):
        collect(call())


# --- the reference, through the driver and the check ----------------------------------

def test_reference_passes_every_cpu_case(pack, ctx, driver, reference):
    for case in cpu_check_cases(pack, ctx):
        inputs = pack.grader.make_inputs(case, SEED)
        outputs = driver.run(reference, case.params, {"x": inputs["x"].clone()}, "cpu")
        result = pack.grader.check(case, inputs, outputs, pack.grader.expected(case, inputs, ctx), ctx)
        assert result.ok, f"{case.name}: {result.message}"


# --- rules: what the interpreter does must not look like cheating ----------------------

CHEATS = """
import threading
import torch


def aten_route(x):
    return torch.ops.aten.topk.default(x, 1)[0]


def method_route(x):
    return x.topk(1).values


def functional_route(x):
    return torch.nn.functional.avg_pool1d(x[None], x.shape[-1])


def operator_route(x):
    return abs(x)


def lerp_route(x):
    return torch.lerp(x, x, 0.5)


class Sub(torch.Tensor):
    pass


def subclass_route(x):
    return torch.rsqrt(x.as_subclass(Sub))


def thread_route(x):
    out = []
    t = threading.Thread(target=lambda: out.append(torch.cosh(x)))
    t.start()
    t.join()
    return out[0] if out else None


def library_route(x):
    torch.library.Library("aten", "IMPL")
"""


def test_allow_list_judges_the_candidate_and_spares_the_harness(pack, tmp_path):
    """In the child's setting (guards installed, the harness on top): every correct solution and the
    reference run with no violation through run() and the timed path (call, collect, digest, codec);
    every route to an op off the allow-list is rejected, naming the op."""
    cheats = tmp_path / "cheats.py"
    cheats.write_text(CHEATS)
    good = [pack.reference_path, *pack.solutions("correct")]
    rules = pack.exercise.rules
    script = textwrap.dedent(f"""
        import importlib.util, json, os, sys
        os.environ["TRITON_INTERPRET"] = "1"
        import torch, triton
        sys.path.insert(0, {str(paths.sandbox_dir())!r})
        import codec, gpu_timing, gpu_worker
        from guards import Guards
        import drivers.triton_softmax as driver
        violations = []
        rules = {{"forbidden_ops": {list(rules.forbidden_ops)!r}, "allowed_ops": {list(rules.allowed_ops)!r},
                  "require_triton_launch": True}}
        guards = Guards(rules, lambda rule, detail: violations.append(detail))
        guards.install()
        worker = gpu_worker.BenchWorker(None, driver, guards, "cpu", "torch", codec, clock=gpu_timing.WallClock())

        def load(path, name):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module

        report = {{}}
        for i, path in enumerate({[str(p) for p in good]!r}):
            module = load(path, f"good{{i}}")
            for shape in ((5, 33), (2, 70000)):
                x = torch.randn(shape, dtype=torch.float16)
                with guards.watching_call():
                    driver.run(module, {{}}, {{"x": x}}, "cpu")
                call, collect = driver.bench_call(module, {{}}, {{"x": x}}, "cpu")
                with guards.watching_call():
                    y = call()
                with worker.quiet():
                    gpu_timing.digest(collect(y))
                codec.dumps({{"y": y}}, "torch")
            report[os.path.basename(path)] = list(violations)
            violations.clear()
        cheats = load({str(cheats)!r}, "cheats")
        for name in [n for n in dir(cheats) if n.endswith("_route")]:
            x = torch.randn(4, 7)
            try:
                with guards.watching_call():
                    getattr(cheats, name)(x)
                raised = ""
            except RuntimeError as exc:
                raised = str(exc)
            report[name] = [raised] + list(violations)
            violations.clear()
        print(json.dumps(report))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for path in good:
        assert report.pop(path.name) == [], path.name
    expected = {"aten_route": "topk", "method_route": "topk", "functional_route": "avg_pool2d",
                "operator_route": "abs", "lerp_route": "lerp", "subclass_route": "rsqrt",
                "thread_route": "cosh", "library_route": "torch.library"}
    assert set(report) == set(expected)
    for route, op in expected.items():
        details = report[route][1:]
        assert details and op in details[0], (route, report[route])
        if route != "thread_route":  # the thread's error stays in the thread; its report does not
            assert report[route][0].startswith("dlverify:"), (route, report[route])
    assert "only allocate, take views and launch" in report["aten_route"][1]


@pytest.mark.parametrize("cheat", [
    lambda x: torch.softmax(x, dim=-1),
    lambda x: torch.exp(x) / torch.exp(x).sum(dim=-1, keepdim=True),
    lambda x: torch.nn.functional.softmin(-x, dim=-1),
    lambda x: 2.718281828 ** (x - x.amax(dim=-1, keepdim=True)),
    lambda x: torch.sigmoid(x),
])
def test_torch_softmax_in_any_form_hits_a_forbidden_op(pack, cheat):
    seen = ops_seen(lambda: cheat(torch.randn(4, 7)))
    assert seen & set(pack.exercise.rules.forbidden_ops)


def test_forbidden_ops_leave_the_child_harness_working(pack):
    """The child blocks forbidden aten ops process-wide: its output codec and digests must still run."""
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["TRITON_INTERPRET"] = "1"
        import torch, triton
        sys.path.insert(0, {str(paths.sandbox_dir())!r})
        import codec, gpu_timing
        from guards import Guards
        violations = []
        Guards({{"forbidden_ops": {list(pack.exercise.rules.forbidden_ops)!r}}},
               lambda rule, detail: violations.append(detail)).block_forbidden_ops()
        y = torch.rand(3, 5, dtype=torch.float16)
        gpu_timing.digest({{"y": y}})
        codec.dumps({{"y": y}}, "torch")
        assert not violations, violations
        try:
            torch.exp(y)
        except RuntimeError:
            print("blocked")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "blocked"  # the blocks were really in place


# --- the reference kernel file ----------------------------------------------------------

def _shared_block(text: str) -> str:
    start = text.index("\n", text.index(SHARED_START)) + 1
    return text[start:text.index(SHARED_END)]


def test_reference_carries_the_kernel_file_verbatim(pack):
    kernel = (paths.kernels_dir() / "triton_softmax.py").read_text(encoding="utf-8")
    reference = pack.reference_path.read_text(encoding="utf-8")
    assert "def softmax_kernel" in _shared_block(kernel)
    assert _shared_block(kernel) == _shared_block(reference)


def test_kernel_file_check_passes_on_odd_shapes_and_both_paths(kernel_file, capsys):
    # (70, 33): 16 short rows a program, the last tile partly past the end;
    # (7, wide): the online path, its 3 programs (on the CPU) walking 2 or 3 rows each.
    shapes = ((37, 781), (1, 1), (70, 33), (7, kernel_file.MAX_FUSED_BLOCK + 1000))
    kernel_file.check(shapes=shapes, device="cpu")
    assert capsys.readouterr().out.count(" ok") == 2 * len(shapes)


def test_short_rows_share_a_program_and_wide_rows_loop(kernel_file, monkeypatch):
    launches = []
    real = kernel_file._launch
    monkeypatch.setattr(kernel_file, "_launch", lambda x, y, *a: (launches.append(a), real(x, y, *a)))
    for n in (33, 1000, kernel_file.MAX_FUSED_BLOCK + 1):
        kernel_file.softmax(torch.randn(7, n))
    # (block, rows a program, one block, programs)
    assert launches == [(64, 16, True, 1), (1024, 1, True, 7), (kernel_file.LOOP_BLOCK, 1, False, 3)]


def test_the_benchmark_s_other_launches_are_softmaxes(kernel_file):
    # The benchmark times them beside softmax() on the GPU: they must compute the same thing.
    gen = torch.Generator().manual_seed(3)
    for x in (torch.randn(3, 5000, generator=gen) * 4, torch.randn(3, 33000, generator=gen) * 4):
        want = torch.softmax(x, dim=-1)
        torch.testing.assert_close(kernel_file._as_measured_on_the_h200(x), want, atol=1e-7, rtol=1e-5)
    x = torch.randn(5, 4096 + 904, generator=gen) * 4
    torch.testing.assert_close(kernel_file._online(x, 4096, 2), torch.softmax(x, dim=-1), atol=1e-7, rtol=1e-5)



@pytest.mark.parametrize("n_cols", [300, 20000])  # the fused path and the online one
def test_non_finite_inputs_give_what_torch_gives(kernel_file, n_cols):
    # Masked scores (-inf) are ordinary softmax input: a row whose leading columns are all
    # -inf (a lane of the online loop that sees only -inf for a while) is still a softmax of
    # the rest. A row of all -inf, or one holding NaN or +inf, is NaN throughout in torch.
    x = torch.randn(6, n_cols, generator=torch.Generator().manual_seed(4)) * 4  # (6, n_cols)
    x[0, ::3] = -float("inf")
    x[1, : n_cols // 2] = -float("inf")
    x[2, 0] = -float("inf")
    x[3] = -float("inf")
    x[4, 7] = float("nan")
    x[5, 7] = float("inf")
    torch.testing.assert_close(kernel_file.softmax(x), torch.softmax(x, dim=-1), atol=1e-7, rtol=1e-5,
                               equal_nan=True)

@pytest.mark.parametrize("n_rows, n_cols, dtype, want", [
    (4096, 32768, torch.float16, 264),   # L2 holds 480 such rows: every resident program (2 an SM)
    (4096, 65536, torch.float16, 240),   # 30 MiB of rows in flight: half the 60 MiB L2
    (4096, 65536, torch.float32, 132),   # rows too wide for L2: still one program an SM
    (50, 65536, torch.float16, 50),      # fewer rows than that: one program a row
])
def test_the_wide_grid_is_resident_and_keeps_its_rows_in_l2(kernel_file, monkeypatch, n_rows, n_cols, dtype, want):
    # What the H200 reported (benchmarks/README.md: test_flush_evicts_l2 read half of its 60 MiB).
    h200 = SimpleNamespace(multi_processor_count=132, L2_cache_size=60 * 2**20)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: h200)
    x = SimpleNamespace(shape=(n_rows, n_cols), is_cuda=True, device="cuda:0",
                        element_size=lambda: torch.empty(0, dtype=dtype).element_size())
    assert kernel_file._wide_programs(x) == want


def test_kernel_file_check_catches_a_wrong_softmax(kernel_file, monkeypatch):
    right = kernel_file.softmax
    monkeypatch.setattr(kernel_file, "softmax", lambda x: right(x[:, :1].expand_as(x).contiguous()))
    with pytest.raises(AssertionError):
        kernel_file.check(shapes=((5, 1000),), dtypes=(torch.float32,), device="cpu")


def test_kernel_file_benchmark_is_skipped_without_a_gpu(kernel_file, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the benchmark would run")
    kernel_file.benchmark()
    assert "skipped" in capsys.readouterr().out


def test_tutorial_style_device_queries_grade_on_the_cpu():
    """Triton's tutorial sizes its grid from the GPU (SMs, registers, shared memory, a warmup
    compile's n_regs). Under the interpreter those answer as the reference GPU, so the code passes."""
    from dlverify.engine import grade

    honest = paths.data_root() / "tests" / "honest" / "triton_tutorial_softmax.py"
    result = grade(EXERCISE, honest, device="cpu", throughput=False)
    assert result.status.value == "passed", result.summary


def test_reference_gpu_figures_are_the_h100s():
    spec = importlib.util.spec_from_file_location("_test_interpreter_device", paths.sandbox_dir() / "interpreter_device.py")
    device = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(device)
    props = device.torch_properties()
    assert (props.multi_processor_count, props.regs_per_multiprocessor, props.warp_size) == (132, 65536, 32)
    assert props.max_shared_memory_per_block_optin == props.shared_memory_per_block_optin == 232448
    assert device.TRITON_PROPERTIES["multiprocessor_count"] == 132
    assert device.TRITON_PROPERTIES["max_num_regs"] == 65536
    assert device.TRITON_PROPERTIES["max_shared_mem"] == 232448 and device.TRITON_PROPERTIES["warpSize"] == 32
