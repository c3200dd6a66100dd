"""Host-side tests of the triton_matmul pack: inputs, trusted answer, tolerance, check, driver,
rules, the reference kernel file, and the pack's entries in the GPU scoring.

The sandboxed path (reference, known-good and known-bad solutions graded for real) is covered
by test_packs.py. Triton code runs here under the interpreter: TRITON_INTERPRET is set for the
whole module, since Triton reads it both when @triton.jit runs and, lazily, on the first launch.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch

from dlverify import paths
from dlverify.packs.cases import Case
from ops_seen import ops_seen

EXERCISE = "triton_matmul"
SEED = 20241205
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
    return load_interpreted(pack.reference_path, "_test_triton_matmul_reference")


@pytest.fixture(scope="module")
def kernel_file(interpreter):
    return load_interpreted(paths.kernels_dir() / "triton_matmul.py", "_test_triton_matmul_kernel")


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def small(case: Case) -> bool:
    p = case.params
    return p["M"] * p["K"] + p["K"] * p["N"] <= 1 << 20   # the GPU-sized ones take seconds each here


# --- an oracle written out by hand: float64 sums of products, the README's GELU formula ----

def gelu_tanh(z: float) -> float:
    """The README's formula, 0.5 z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))), in Python floats."""
    return 0.5 * z * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


def oracle(a, b, bias, activation):
    """act(a @ b + bias) in float64 by broadcasting (no matmul), then the activation element by element."""
    z = (a.double()[:, :, None] * b.double()[None, :, :]).sum(dim=1)    # (M, K, 1) * (1, K, N) -> (M, N)
    if bias is not None:
        z = z + bias.double()
    if activation == "relu":
        z = torch.where(z > 0, z, torch.zeros_like(z))
    elif activation == "gelu":
        z = torch.tensor([[gelu_tanh(v) for v in row] for row in z.tolist()], dtype=torch.float64)
    return z


# --- cases and make_inputs --------------------------------------------------------------

def test_cases_cover_the_contract(pack, ctx):
    checks = [c for c in pack.cases if c.kind == "check"]
    cpu = [c.params for c in checks if "cpu" in c.devices and pack.grader.not_run_reason(c, ctx) is None]
    assert any(p["M"] == p["N"] == p["K"] == 1 for p in cpu)
    assert any(p["K"] == 1 and p["M"] > 1 for p in cpu)
    assert any(p["M"] == 1 and p["N"] > 1 for p in cpu)
    assert any(p["N"] % 16 and p["K"] % 32 and p["M"] % 32 for p in cpu)          # every edge partial
    assert any(p["K"] > 2048 for p in cpu)
    assert any(p.get("b_transposed") and not p.get("a_transposed") for p in cpu)
    assert any(p.get("a_transposed") and p.get("b_transposed") for p in cpu)
    assert any(p.get("bias") and not p.get("activation") for p in cpu)
    assert any(p.get("activation") == "relu" and not p.get("bias") for p in cpu)
    assert any(p.get("activation") == "relu" and p.get("bias") for p in cpu)
    assert any(p.get("activation") == "gelu" and p.get("bias") for p in cpu)
    assert any(p.get("cancel") and p.get("offset_a", 0) >= 100 for p in cpu)
    assert {c.params["dtype"] for c in checks} == {"float16", "bfloat16"} == set(pack.tolerances)
    assert all(c.params.get("activation") in (None, "relu", "gelu") for c in pack.cases)
    bench = [c for c in pack.cases if c.kind == "bench"]
    assert [c.devices for c in bench if "cpu" in c.devices] == [("cpu",)]
    gpu = {(c.params["M"], c.params["N"], c.params["K"], c.params["dtype"]) for c in bench if c.devices == ("cuda",)}
    assert gpu == {(4096, 4096, 4096, "float16"), (8192, 8192, 8192, "bfloat16"), (16, 8192, 8192, "float16")}
    assert ctx.driver.bench_inputs is not None
    assert not any(c.params.get(k) for c in bench for k in ("cancel", "offset_a", "a_transposed", "b_transposed"))


def test_inputs_follow_the_seed_and_the_case(pack):
    for case in filter(small, pack.cases):
        p = case.params
        inputs = pack.grader.make_inputs(case, SEED)
        dtype = getattr(torch, p["dtype"])
        assert set(inputs) == ({"a", "b", "bias"} if p.get("bias") else {"a", "b"}), case.name
        assert inputs["a"].shape == (p["M"], p["K"]) and inputs["b"].shape == (p["K"], p["N"]), case.name
        assert all(type(t) is torch.Tensor and t.dtype == dtype and t.is_contiguous() for t in inputs.values())
        if p.get("bias"):
            assert inputs["bias"].shape == (p["N"],), case.name
        again, other = pack.grader.make_inputs(case, SEED), pack.grader.make_inputs(case, SEED + 1)
        assert all(torch.equal(inputs[k], again[k]) for k in inputs), case.name
        assert not torch.equal(inputs["b"], other["b"]), case.name
        assert all(torch.isfinite(t).all() for t in inputs.values()), case.name


def test_large_magnitude_partial_sums_climb_far_past_the_answer(pack):
    """The README's claim: a row's partial sums run up to some 70x the answer before cancelling."""
    for name in ("large_magnitude_cancelling", "bf16_large_magnitude_cancelling"):
        case = by_name(pack, name)
        inputs = pack.grader.make_inputs(case, SEED)
        a, b = inputs["a"].double(), inputs["b"].double()
        k = case.params["K"]
        assert torch.equal(b[k // 2:], -b[:k // 2])
        partial = torch.cumsum(a[:, :, None] * b[None, :, :], dim=1)            # (M, K, N)
        peak = partial.abs().amax(dim=1)                                         # (M, N)
        final = partial[:, -1].abs()
        assert (a.abs() > 90).all()
        assert 50 < (peak.median() / final.median()).item() < 150, name


# --- expected ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["odd_37x29x45", "both_transposed", "bias_only", "relu_bias",
                                  "gelu_bias", "bf16_odd_gelu_bias"])
def test_expected_is_the_float64_answer_rounded_once(pack, ctx, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)["c"]
    hand = oracle(inputs["a"], inputs["b"], inputs.get("bias"), case.params.get("activation"))
    assert want.dtype == inputs["a"].dtype and want.shape == hand.shape
    # float64 sums in another order: equal after rounding but for a value on a rounding boundary
    assert (want != hand.to(want.dtype)).sum() <= 1
    assert torch.allclose(want.double(), hand, rtol=1e-2 if want.dtype == torch.bfloat16 else 1e-3, atol=1e-6)


def test_gelu_is_the_tanh_approximation_of_the_readme(pack):
    text = (paths.exercises_dir() / EXERCISE / "README.md").read_text()
    assert "0.5 * z * (1 + tanh(sqrt(2 / pi) * (z + 0.044715 * z**3)))" in text
    z = torch.linspace(-6, 6, 241, dtype=torch.float64)
    got = pack.grader.answer64(torch.ones(1, 1, dtype=torch.float64), z[None], None, "gelu")[0]   # 1 x z
    assert torch.allclose(got, torch.tensor([gelu_tanh(v) for v in z.tolist()], dtype=torch.float64), rtol=1e-12)
    erf_gelu = 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))
    assert (got - erf_gelu).abs().max() > 1e-4      # the other GELU is another function


# --- the tolerance: what it lets through and what it catches -----------------------------

def accumulate(a, b, step: int, acc_dtype, out_dtype):
    """a @ b summed `step` columns of K at a time: float32 products per step, the running sum
    kept in acc_dtype (rounded after every step), the result rounded to out_dtype."""
    acc = torch.zeros(a.shape[0], b.shape[1], dtype=acc_dtype)
    for k0 in range(0, a.shape[1], step):
        part = a[:, k0:k0 + step].float() @ b[k0:k0 + step].float()          # (M, step) @ (step, N)
        acc = (acc.float() + part).to(acc_dtype)
    return acc.to(out_dtype)


@pytest.mark.parametrize("name", ["large_magnitude_cancelling", "bf16_large_magnitude_cancelling", "long_k_3000"])
def test_float32_accumulation_passes_even_one_product_at_a_time(pack, name):
    ctx = pack.context("cuda")  # the bf16 case's tolerance applies on a GPU; expected() falls back to the CPU
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    dtype = inputs["a"].dtype
    got = accumulate(inputs["a"], inputs["b"], 1, torch.float32, dtype)
    result = pack.grader.check(case, inputs, {"c": got}, want, ctx)
    assert result.ok, result.message


@pytest.mark.parametrize("name", ["large_magnitude_cancelling", "bf16_large_magnitude_cancelling"])
@pytest.mark.parametrize("step", [32, 64, 128])
def test_an_input_dtype_accumulator_fails_the_large_magnitude_cases(pack, name, step):
    ctx = pack.context("cuda")
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    dtype = inputs["a"].dtype
    got = accumulate(inputs["a"], inputs["b"], step, dtype, dtype)
    result = pack.grader.check(case, inputs, {"c": got}, want, ctx)
    assert not result.ok and "outside" in result.message


def test_a_bias_added_after_rounding_fails_and_before_passes(pack, ctx):
    case = by_name(pack, "bias_only")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    z = inputs["a"].float() @ inputs["b"].float()                                # (M, N) float32
    right = (z + inputs["bias"].float()).half()
    late = (z.half().float() + inputs["bias"].float()).half()
    assert pack.grader.check(case, inputs, {"c": right}, want, ctx).ok
    assert not pack.grader.check(case, inputs, {"c": late}, want, ctx).ok


def test_atol_is_a_fraction_of_the_partial_sums(pack):
    case = by_name(pack, "large_magnitude_cancelling")
    inputs = pack.grader.make_inputs(case, SEED)
    scale = pack.grader.term_scale(inputs)
    want = math.sqrt(case.params["K"]) * inputs["a"].abs().max().item() * inputs["b"].abs().max().item()
    assert scale == pytest.approx(want)


# --- check ------------------------------------------------------------------------------

def test_check_accepts_the_answer_and_rejects_broken_outputs(pack, ctx):
    case = by_name(pack, "tile_edges_129x70x97")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    c = want["c"]

    def verdict(outputs):
        return pack.grader.check(case, inputs, outputs, want, ctx)

    assert verdict({"c": c.clone()}).ok
    assert verdict({"c": c.t().contiguous().t()}).ok                           # any strides
    assert "dtype" in verdict({"c": c.float()}).message
    assert "shape" in verdict({"c": c[:, :-1].clone()}).message
    assert "shape" in verdict({"c": c.t().clone()}).message
    assert "outside" in verdict({"c": c.flip(0)}).message                      # right values, wrong rows
    assert "expected a torch.Tensor" in verdict({"c": c.numpy()}).message
    assert "expected a torch.Tensor" in verdict({"c": torch.nn.Parameter(c.clone(), requires_grad=False)}).message
    assert "expected exactly 'c'" in verdict({"c": c, "extra": c}).message
    assert "expected exactly 'c'" in verdict({}).message
    assert not verdict([c]).ok
    nan = c.clone()
    nan[3, 4] = float("nan")
    assert "NaN" in verdict({"c": nan}).message


def test_bfloat16_runs_on_the_gpu_only(pack):
    cpu, cuda = pack.context("cpu"), pack.context("cuda")
    for case in pack.cases:
        bf16 = case.params["dtype"] == "bfloat16"
        assert (pack.grader.not_run_reason(case, cpu) is not None) == bf16, case.name
        assert pack.grader.not_run_reason(case, cuda) is None, case.name


# --- driver -----------------------------------------------------------------------------

def inputs_for(m=3, n=5, k=4, bias=False, dtype=torch.float16):
    g = torch.Generator().manual_seed(0)
    out = {"a": torch.randn(m, k, generator=g).to(dtype), "b": torch.randn(k, n, generator=g).to(dtype)}
    if bias:
        out["bias"] = torch.randn(n, generator=g).to(dtype)
    return out


@pytest.mark.parametrize("matmul, message", [
    (None, "does not define"),
    (lambda a, b, **kw: (a.float() @ b.float()).tolist(), "must return a torch.Tensor"),
    (lambda a, b, **kw: torch.nn.Parameter(torch.zeros(3, 5, dtype=a.dtype), requires_grad=False),
     "must return a torch.Tensor"),
    (lambda a, b, **kw: torch.zeros(5, 3, dtype=a.dtype), "shape"),
    (lambda a, b, **kw: torch.zeros(3, 5), "dtype"),
])
def test_driver_refuses_a_broken_contract(driver, matmul, message):
    module = SimpleNamespace() if matmul is None else SimpleNamespace(matmul=matmul)
    with pytest.raises(driver.ContractError, match=message):
        driver.run(module, {}, inputs_for(), "cpu")


@pytest.mark.parametrize("params, bias, keywords", [
    ({}, False, {}),
    ({"activation": "relu"}, False, {"activation": "relu"}),
    ({"bias": True}, True, {"bias"}),
    ({"bias": True, "activation": "gelu"}, True, {"bias", "activation"}),
])
def test_driver_passes_only_the_case_s_keywords(driver, params, bias, keywords):
    seen = []

    def matmul(a, b, **kwargs):
        seen.append(kwargs)
        return torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype)

    driver.run(SimpleNamespace(matmul=matmul), params, inputs_for(bias=bias), "cpu")
    assert set(seen[0]) == set(keywords)
    if "activation" in keywords:
        assert seen[0]["activation"] == params["activation"]


def test_driver_lays_out_transposed_views_with_the_same_values(driver):
    inputs = inputs_for(m=6, n=5, k=4)
    seen = {}

    def matmul(a, b):
        seen.update(a=a, b=b)
        return torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype)

    driver.run(SimpleNamespace(matmul=matmul), {"a_transposed": True, "b_transposed": True}, inputs, "cpu")
    assert seen["a"].stride() == (1, 6) and seen["b"].stride() == (1, 4)
    assert torch.equal(seen["a"], inputs["a"]) and torch.equal(seen["b"], inputs["b"])
    driver.run(SimpleNamespace(matmul=matmul), {}, inputs, "cpu")
    assert seen["a"].stride() == (4, 1) and seen["b"].stride() == (5, 1)


def test_driver_bench_call_times_the_matmul_alone(driver):
    from dlverify.gpu import worker_harness

    inputs = inputs_for(bias=True)
    calls = []

    def matmul(a, b, bias=None, activation=None):
        calls.append((a, b, bias, activation))
        return torch.zeros(a.shape[0], b.shape[1], dtype=a.dtype)

    params = {"bias": True, "activation": "gelu"}
    prepared, exact = worker_harness().split_call(driver, SimpleNamespace(matmul=matmul), params, inputs, "cpu")
    assert exact
    c = prepared.call()
    assert len(calls) == 1 and calls[0][0] is inputs["a"] and calls[0][2] is inputs["bias"] and calls[0][3] == "gelu"
    out = prepared.collect(c)
    assert list(out) == ["c"] and out["c"].data_ptr() == c.data_ptr() and len(calls) == 1


def test_bench_inputs_match_make_inputs_in_keys_shapes_and_dtypes(pack, driver):
    for case in (c for c in pack.cases if c.kind == "bench"):
        params = dict(case.params, M=min(case.params["M"], 24), N=37, K=19)   # the same code, small
        made = pack.grader.make_inputs(Case(name=case.name, params=params, seed=0), 1)
        drawn = driver.bench_inputs(params, 7, "cpu")
        assert set(made) == set(drawn), case.name
        for key in made:
            assert (drawn[key].shape, drawn[key].dtype) == (made[key].shape, made[key].dtype), (case.name, key)
        assert all(torch.equal(drawn[k], driver.bench_inputs(params, 7, "cpu")[k]) for k in drawn)
        assert not torch.equal(drawn["a"], driver.bench_inputs(params, 8, "cpu")["a"])


# --- the reference, through the driver and the check ----------------------------------

def test_reference_passes_every_cpu_case(pack, ctx, driver, reference):
    for case in pack.check_cases("cpu"):
        if pack.grader.not_run_reason(case, ctx) is not None:
            continue
        inputs = pack.grader.make_inputs(case, SEED)
        outputs = driver.run(reference, case.params, {k: v.clone() for k, v in inputs.items()}, "cpu")
        result = pack.grader.check(case, inputs, outputs, pack.grader.expected(case, inputs, ctx), ctx)
        assert result.ok, f"{case.name}: {result.message}"


# --- rules ------------------------------------------------------------------------------

@pytest.mark.parametrize("cheat", [
    lambda a, b, bias: torch.matmul(a, b),
    lambda a, b, bias: a @ b,
    lambda a, b, bias: torch.mm(a, b),
    lambda a, b, bias: torch.addmm(bias, a, b),
    lambda a, b, bias: torch.nn.functional.linear(a, b.t(), bias),
    lambda a, b, bias: torch.einsum("mk,kn->mn", a, b),
    lambda a, b, bias: torch.tensordot(a, b, dims=1),
    lambda a, b, bias: torch.bmm(a[None], b[None])[0],
    lambda a, b, bias: torch.stack([torch.mv(b.t(), row) for row in a]),
    lambda a, b, bias: (a[:, :, None] * b[None]).sum(1),
    lambda a, b, bias: torch.nn.functional.gelu(a, approximate="tanh"),
    lambda a, b, bias: torch.relu(a),
    lambda a, b, bias: a.clamp(min=0),
    lambda a, b, bias: a + bias[:4],
])
def test_torch_s_matmul_and_epilogue_in_any_form_hit_a_forbidden_op(pack, cheat):
    a, b, bias = torch.randn(3, 4), torch.randn(4, 5), torch.randn(5)
    seen = ops_seen(lambda: cheat(a, b, bias))
    assert seen & set(pack.exercise.rules.forbidden_ops), seen


def test_forbidden_ops_leave_the_child_harness_working(pack):
    """The child blocks forbidden aten ops process-wide: the driver's bench inputs, its output codec
    and the digests must still run; a forbidden op must not."""
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["TRITON_INTERPRET"] = "1"
        import torch, triton
        sys.path.insert(0, {str(paths.sandbox_dir())!r})
        import codec, gpu_timing
        import drivers.triton_matmul as driver
        from guards import Guards
        violations = []
        Guards({{"forbidden_ops": {list(pack.exercise.rules.forbidden_ops)!r}}},
               lambda rule, detail: violations.append(detail)).block_forbidden_ops()
        inputs = driver.bench_inputs({{"M": 5, "N": 7, "K": 3, "dtype": "float16", "bias": True,
                                       "scale_a": 0.1}}, 3, "cpu")
        c = torch.rand(5, 7, dtype=torch.float16)
        gpu_timing.digest({{"c": c}})
        codec.dumps({{"c": c}}, "torch")
        assert not violations, violations
        for name, call in [("matmul", lambda: inputs["a"] @ inputs["b"]), ("relu", lambda: torch.relu(c))]:
            try:
                call()
            except RuntimeError:
                print("blocked", name)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["blocked matmul", "blocked relu"]  # the blocks were really in place


# --- the reference kernel file ----------------------------------------------------------

def _shared_block(text: str) -> str:
    start = text.index("\n", text.index(SHARED_START)) + 1
    return text[start:text.index(SHARED_END)]


def test_reference_carries_the_kernel_file_verbatim(pack):
    kernel = (paths.kernels_dir() / "triton_matmul.py").read_text(encoding="utf-8")
    reference = pack.reference_path.read_text(encoding="utf-8")
    assert "def matmul_kernel" in _shared_block(kernel)
    assert _shared_block(kernel) == _shared_block(reference)


def test_kernel_file_check_passes_on_odd_shapes(kernel_file, capsys):
    shapes = ((37, 29, 45), (1, 1, 1), (1, 70, 33), (70, 5, 129), (96, 80, 16), (20, 300, 150))
    classes = {tuple(sorted(kernel_file._config(*shape).items())) for shape in shapes}
    assert len(classes) == 3                  # small, skinny and medium tiles all run (large: GPU sizes)
    kernel_file.check(shapes=shapes, device="cpu")
    assert capsys.readouterr().out.count(" ok") == len(shapes)


def test_kernel_file_check_catches_a_wrong_matmul(kernel_file, monkeypatch):
    right = kernel_file.matmul
    monkeypatch.setattr(kernel_file, "matmul", lambda a, b, bias, act: right(a, b.flip(0).contiguous(), bias, act))
    with pytest.raises(AssertionError):
        kernel_file.check(shapes=((37, 29, 45),), device="cpu")


def test_kernel_file_benchmark_is_skipped_without_a_gpu(kernel_file, capsys):
    if torch.cuda.is_available():
        pytest.skip("a GPU is here: the benchmark would run")
    kernel_file.benchmark()
    assert "skipped" in capsys.readouterr().out


@pytest.mark.parametrize("shape", [(1, 1, 1), (64, 64, 64), (16, 8192, 8192), (300, 200, 40),
                                   (2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192)])
def test_every_config_is_a_legal_tl_dot_tile_within_shared_memory(kernel_file, shape):
    cfg = kernel_file._config(*shape)
    for key in ("BLOCK_M", "BLOCK_N", "BLOCK_K"):
        assert cfg[key] >= 16 and cfg[key] & (cfg[key] - 1) == 0, (key, cfg)   # tl.dot on a GPU needs >= 16
    stages = (cfg["BLOCK_M"] * cfg["BLOCK_K"] + cfg["BLOCK_K"] * cfg["BLOCK_N"]) * 2 * cfg["num_stages"]
    assert stages <= 232448                                                   # the H100's 227 KiB per block


def test_kernel_runs_a_swizzled_grid_with_a_short_last_group(kernel_file):
    """Rows of tiles not a multiple of GROUP_M, several columns: every tile of c is written once."""
    g = torch.Generator().manual_seed(1)
    m, n, k = 300, 200, 40
    cfg = kernel_file._config(m, n, k)
    assert (-(-m // cfg["BLOCK_M"])) % cfg["GROUP_M"] and -(-n // cfg["BLOCK_N"]) > 1
    a, b = torch.randn(m, k, generator=g).half(), torch.randn(k, n, generator=g).half()
    torch.testing.assert_close(kernel_file.matmul(a, b).double(), (a.double() @ b.double()).half().double(),
                               atol=1e-2, rtol=1e-3)


# --- the GPU timing path, simulated on the CPU -------------------------------------------

def test_a_generated_bench_runs_under_the_rules_and_the_host_checks_it(tmp_path):
    """The GPU bench's path end to end, with the CPU standing in (test_gpu_timing's simulation):
    the worker makes each call's a, b, bias from seeds with the driver's bench_inputs, times the
    reference's bench_call under the exercise's guards, digests the outputs; the host makes the
    drawn calls' inputs again, checks them, times torch's baseline and computes the figures."""
    from test_gpu_timing import Job, _generated_bench, _measure, _simulate
    from dlverify.packs.loading import load_pack
    from dlverify.packs.registry import get_exercise

    pack = load_pack(get_exercise(EXERCISE))
    params = {"M": 40, "N": 70, "K": 50, "dtype": "float16", "bias": True, "activation": "gelu", "scale_a": 0.1}
    bench = _generated_bench(EXERCISE, params, calls=4)
    job = Job(tmp_path, tmp_path / "job.json", tmp_path / "submission.py", [], [], [bench])
    run = _simulate(tmp_path, EXERCISE, pack.reference_path, bench, "submission")
    assert run["violations"] == []
    setup = SimpleNamespace(pack=pack, bench=bench, job=job, sub=run, ref=run, folder=tmp_path)
    figure, result = _measure(setup, run["run"])
    assert result.cases == [], [c.message for c in result.cases]
    case = figure.per_case[0]
    assert case["flops"] == 2 * 40 * 70 * 50 and case["torch"] == "torch.addmm + F.gelu" and case["vs_torch"]


# --- the GPU scoring entries ------------------------------------------------------------

def test_workload_counts_2mnk_and_picks_the_roofline_side(pack):
    from dlverify.gpu.workload import workload

    square = workload(EXERCISE, by_name(pack, "bench_fp16_4096").params)
    assert square.flops == 2 * 4096 ** 3 and square.bytes == 2 * 3 * 4096 ** 2 and square.bound == "compute"
    fused = workload(EXERCISE, by_name(pack, "bench_bf16_8192_bias_gelu").params)
    assert fused.bytes == 2 * (3 * 8192 ** 2 + 8192) and fused.bound == "compute" and "gelu" in fused.shape
    skinny = workload(EXERCISE, by_name(pack, "bench_fp16_skinny_16x8192x8192").params)
    assert skinny.flops == 2 * 16 * 8192 ** 2 and skinny.bound == "memory"


def test_torch_baseline_computes_the_same_answer(pack, ctx):
    from dlverify.gpu.baselines import baseline_for

    case = by_name(pack, "gelu_bias")
    inputs = pack.grader.make_inputs(case, SEED)
    base = baseline_for(EXERCISE, case.params, "cpu", ctx)
    assert "addmm" in base.label and "gelu" in base.label
    prepared = base.prepare({k: v.float() for k, v in inputs.items()})       # float32: torch's CPU matmul
    got = prepared.collect(prepared.call())["c"]
    want = pack.grader.expected(case, inputs, ctx)["c"].double()
    assert torch.allclose(got.double(), want, atol=1e-2, rtol=1e-2)


def test_score_rule_rewards_reaching_cublas():
    from dlverify.gpu.score import gpu_score

    assert gpu_score(EXERCISE, 0.9, 1.0) == 1.0
    assert gpu_score(EXERCISE, 0.1, 0.1) == 0.0
    assert 0 < gpu_score(EXERCISE, 0.5, 0.6) < 1
