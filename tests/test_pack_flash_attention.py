"""Host-side tests of the flash_attention pack: cases, inputs, the trusted answer, the check, the rules'
premise, the baseline and the shared kernel block (the driver and its memory rule:
test_pack_flash_attention_driver.py).

The sandboxed path (reference, known-good and known-bad solutions graded for real) is covered by
test_packs.py. Triton code runs here under the interpreter: TRITON_INTERPRET is set for the module.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from dlverify import paths
from dlverify.packs.cases import Case
from ops_seen import ops_seen

EXERCISE = "flash_attention"
SEED = 20241205
SHARED_START = "# --- kernels and launchers"
SHARED_END = "# --- end of the part shared"


@pytest.fixture(scope="module", autouse=True)
def interpreter():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRITON_INTERPRET", "1")
        yield


def load_interpreted(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference(pack, interpreter):
    return load_interpreted(pack.reference_path, "_test_flash_attention_reference")


def by_name(pack, name: str) -> Case:
    return next(c for c in pack.cases if c.name == name)


def sdpa64(inputs: dict, params: dict) -> dict:
    """An oracle written apart from the grader's: torch's SDPA and logsumexp in float64, autograd for the gradients."""
    q, k, v = (inputs[n].double().requires_grad_() for n in ("q", "k", "v"))
    scale = params.get("scale", 1 / math.sqrt(params["D"]))
    o = F.scaled_dot_product_attention(q, k, v, is_causal=params["causal"], scale=scale)
    s = (q @ k.transpose(-1, -2)) * scale                                        # (B, H, Lq, Lk)
    if params["causal"]:
        s = s.masked_fill(torch.ones(s.shape[-2:], dtype=torch.bool).triu(1), -math.inf)
    out = {"o": o, "lse": s.logsumexp(-1)}
    if params.get("backward"):
        o.backward(inputs["do"].double())
        out.update(dq=q.grad, dk=k.grad, dv=v.grad)
    return {n: t.detach() for n, t in out.items()}


def assert_one_rounding(want: torch.Tensor, exact: torch.Tensor):
    """want is `exact` rounded once to want's dtype: at most one unit in the last place away, give or
    take float64's own noise (1e-15 where the exact answer is 0: a query that sees one key has dq = 0)."""
    info = torch.finfo(want.dtype)
    ulp = info.eps * exact.abs() + info.smallest_normal * info.eps + 1e-12 * float(exact.abs().max())  # subnormals
    assert ((want.double() - exact).abs() <= ulp).all()


# --- cases and make_inputs --------------------------------------------------------------

def test_cases_cover_the_contract(pack, ctx, driver):
    cpu = [c.params for c in pack.check_cases("cpu") if pack.grader.not_run_reason(c, ctx) is None]
    assert any(p["Lq"] == p["Lk"] == 1 for p in cpu)
    assert any(p["Lq"] == 1 and p["Lk"] > 64 and p["causal"] for p in cpu)
    assert any(p["Lq"] % 64 and p["Lq"] > 64 for p in cpu)                     # a short last tile
    assert any(p["causal"] and p["Lq"] < p["Lk"] for p in cpu)
    assert any(p["causal"] and p["Lq"] > p["Lk"] for p in cpu)
    assert any(not p["causal"] and p["Lq"] != p["Lk"] for p in cpu)
    assert any(p.get("scale", 1 / math.sqrt(p["D"])) != 1 / math.sqrt(p["D"]) for p in cpu)
    assert any(p.get("layout") == "blhd" and p["backward"] for p in cpu)
    assert {p["dtype"] for p in cpu} == {"float32", "float16"}
    assert any(p["backward"] for p in cpu) and any(not p["backward"] for p in cpu)
    # the memory case: one (Lq, Lk) matrix per head is several times the budget
    assert any(p["B"] * p["H"] * p["Lq"] * p["Lk"] >= 4 * driver.alloc_budget(p) for p in cpu)
    gpu = [c.params for c in pack.check_cases("cuda") if c.devices == ("cuda",)]
    assert any(p["D"] == 128 for p in gpu)
    assert any(p["Lq"] * p["Lk"] * 2 > 500e9 for p in gpu)                    # its bf16 scores fit no GPU
    assert any(c.params["dtype"] == "bfloat16" for c in pack.check_cases("cuda"))
    bench = [c for c in pack.cases if c.kind == "bench"]
    assert [c.devices for c in bench if "cpu" in c.devices] == [("cpu",)]
    assert {(c.params["B"], c.params["H"], c.params["Lq"], c.params["D"], c.params["dtype"], c.params["causal"],
             c.params["backward"]) for c in bench if c.devices == ("cuda",)} == {
        (8, 16, 2048, 64, "bfloat16", True, False), (8, 16, 2048, 64, "bfloat16", True, True),
        (4, 16, 4096, 128, "bfloat16", True, False), (4, 16, 4096, 128, "bfloat16", True, True)}
    tables = {c.params.get("tolerance", c.params["dtype"]) for c in pack.cases}
    assert {t + s for t in tables for s in ("", "_lse", "_grad")} <= set(pack.tolerances)


def test_inputs_follow_the_seed_and_the_case(pack):
    for case in pack.cases:
        p = case.params
        if p["B"] * p["H"] * p["Lq"] * p["D"] > 1 << 20:
            continue  # the GPU-sized ones: same code
        inputs = pack.grader.make_inputs(case, SEED)
        assert set(inputs) == ({"q", "k", "v", "do"} if p["backward"] else {"q", "k", "v"}), case.name
        for name, t in inputs.items():
            length = p["Lk"] if name in ("k", "v") else p["Lq"]
            assert type(t) is torch.Tensor and t.is_contiguous() and torch.isfinite(t).all(), case.name
            assert t.shape == (p["B"], p["H"], length, p["D"]) and t.dtype == getattr(torch, p["dtype"]), case.name
        again, other = pack.grader.make_inputs(case, SEED), pack.grader.make_inputs(case, SEED + 1)
        assert all(torch.equal(inputs[n], again[n]) for n in inputs)
        assert not torch.equal(inputs["q"], other["q"])


@pytest.mark.parametrize("name", ["large_scores", "fp16_large_scores"])
def test_large_scores_overflow_an_unshifted_exp(pack, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    s = (inputs["q"].float() @ inputs["k"].float().transpose(-1, -2)) * pack.grader.scale_of(case.params)
    assert torch.isinf(torch.exp(s)).any()


# --- expected ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["one_query_one_key", "causal_fewer_queries", "causal_more_queries", "scale_given",
                                  "fp16_more_keys", "fp16_large_scores", "large_scores"])
def test_expected_is_float64_attention_rounded_once(pack, ctx, name):
    case = by_name(pack, name)
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    exact = sdpa64(inputs, case.params)
    assert set(want) == set(exact)
    for n, w in want.items():
        assert w.dtype == (torch.float32 if n == "lse" else inputs["q"].dtype), n
        assert_one_rounding(w, exact[n])


def test_expected_of_one_key_is_v_and_no_gradient_for_q_and_k(pack, ctx):
    case = by_name(pack, "one_query_one_key")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)
    assert torch.equal(want["o"], inputs["v"]) and torch.equal(want["dv"], inputs["do"])
    assert not want["dq"].any() and not want["dk"].any()


def test_expected_in_query_blocks_and_in_float32_agrees(pack, ctx, monkeypatch):
    """The big GPU case's answer is built a block of queries at a time, in float32: the same answer."""
    case = by_name(pack, "fp16_causal_odd_77")
    inputs = pack.grader.make_inputs(case, SEED)
    whole = pack.grader.expected(case, inputs, ctx)
    monkeypatch.setattr(pack.grader, "QUERY_BLOCK", 16)
    monkeypatch.setattr(pack.grader, "FLOAT64_SCORE_LIMIT", 0)
    blocks = pack.grader.expected(case, inputs, ctx)
    for n in whole:
        torch.testing.assert_close(blocks[n].double(), whole[n].double(), rtol=2e-3, atol=2e-3)


# --- check ------------------------------------------------------------------------------

def test_check_accepts_the_answer_and_rejects_broken_outputs(pack, ctx):
    case = by_name(pack, "fp16_causal_odd_77")
    inputs = pack.grader.make_inputs(case, SEED)
    want = pack.grader.expected(case, inputs, ctx)

    def verdict(**changes):
        outputs = {**{n: t.clone() for n, t in want.items()}, **changes}
        return pack.grader.check(case, inputs, {n: t for n, t in outputs.items() if t is not None}, want, ctx)

    assert verdict().ok
    assert "dtype" in verdict(o=want["o"].float()).message
    assert "dtype" in verdict(lse=want["lse"].double()).message
    assert "shape" in verdict(dk=want["dk"][:, :, :-1].clone()).message
    assert "outside" in verdict(lse=want["lse"] * 1.4426950408889634).message      # base 2
    assert "outside" in verdict(dq=want["dq"].flip(2)).message                      # right values, wrong rows
    assert "expected a torch.Tensor" in verdict(o=want["o"].numpy()).message
    assert "expected a torch.Tensor" in verdict(o=torch.nn.Parameter(want["o"].float(), False)).message
    assert "missing" in verdict(dv=None).message
    assert "unexpected" in verdict(extra=want["o"]).message
    assert not pack.grader.check(case, inputs, [want["o"]], want, ctx).ok
    nan = want["dv"].clone()
    nan[0, 1, 2, 3] = float("nan")
    assert "NaN" in verdict(dv=nan).message


def test_atol_follows_the_answer_s_size(pack, ctx):
    """At L in the thousands o and the gradients are ~0.06 (unit-normal inputs): an error of 0.02 there
    is a third of the answer. The tolerance is relative to its RMS, so it fails there and passes at 1."""
    case = Case("scaled", {"dtype": "bfloat16", "tolerance": "bfloat16"}, seed=0)
    gen = torch.Generator().manual_seed(0)
    for size, ok in ((1.0, True), (0.06, False)):
        want = (torch.randn(2, 3, 50, 16, generator=gen) * size).to(torch.bfloat16)
        lse = torch.zeros(2, 3, 50)
        got = (want.float() + 0.02).to(torch.bfloat16)
        result = pack.grader.check(case, {}, {"o": got, "lse": lse}, {"o": want, "lse": lse}, ctx)
        assert result.ok is ok, (size, result.message)


def test_bfloat16_runs_on_the_gpu_only(pack):
    cpu, cuda = pack.context("cpu"), pack.context("cuda")
    for case in pack.cases:
        assert (pack.grader.not_run_reason(case, cpu) is not None) == (case.params["dtype"] == "bfloat16")
        assert pack.grader.not_run_reason(case, cuda) is None


# --- rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("cheat", [
    lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
    lambda q, k, v: torch.softmax(q @ k.transpose(-1, -2), -1) @ v,
    lambda q, k, v: torch.einsum("bhqd,bhkd->bhqk", q, k).logsumexp(-1),
    lambda q, k, v: torch.baddbmm(torch.zeros(2, 7, 7), q[0], k[0].transpose(-1, -2)),
    lambda q, k, v: torch.exp(q).sum(-1).log(),
])
def test_torch_attention_in_any_form_hits_a_forbidden_op(pack, cheat):
    q, k, v = (torch.randn(1, 2, 7, 16) for _ in range(3))
    assert ops_seen(lambda: cheat(q, k, v)) & set(pack.exercise.rules.forbidden_ops)


def test_sdpa_on_the_cpu_is_the_flash_op_the_rules_name(pack):
    """The known-bad aten_flash_by_built_name reaches this op: it is forbidden by its own name too."""
    q = torch.randn(1, 2, 7, 16)
    seen = ops_seen(lambda: F.scaled_dot_product_attention(q, q, q))
    assert "_scaled_dot_product_flash_attention_for_cpu" in seen & set(pack.exercise.rules.forbidden_ops)


def test_allow_list_spares_the_interpreter_and_the_harness(pack):
    """In the child's setting (guards installed): the reference and a known-good solution run through run()
    and the timed path (call, collect, digest, codec) with no violation, the meter on; the launch is counted."""
    good = [pack.reference_path, pack.solutions("correct")[0]]
    rules = pack.exercise.rules
    script = textwrap.dedent(f"""
        import importlib.util, json, os, sys
        os.environ["TRITON_INTERPRET"] = "1"
        import torch, triton
        sys.path.insert(0, {str(paths.sandbox_dir())!r})
        import codec, gpu_timing, gpu_worker
        from guards import Guards
        import drivers.flash_attention as driver
        violations = []
        rules = {{"forbidden_ops": {list(rules.forbidden_ops)!r}, "allowed_ops": {list(rules.allowed_ops)!r},
                  "require_triton_launch": True}}
        guards = Guards(rules, lambda rule, detail: violations.append(detail))
        guards.install()
        worker = gpu_worker.BenchWorker(None, driver, guards, "cpu", "torch", codec, clock=gpu_timing.WallClock())
        params = {{"B": 1, "H": 2, "Lq": 70, "Lk": 9, "D": 16, "dtype": "float16", "causal": True,
                   "backward": True, "layout": "blhd"}}
        report = {{}}
        for i, path in enumerate({[str(p) for p in good]!r}):
            spec = importlib.util.spec_from_file_location(f"good{{i}}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            inputs = driver.bench_inputs(params, 3, "cpu")
            launches = guards.triton_launches
            with guards.watching_call():
                out = driver.run(module, params, inputs, "cpu")
            call, collect = driver.bench_call(module, params, inputs, "cpu")
            with guards.watching_call():
                result = call()
            with worker.quiet():
                gpu_timing.digest(collect(result))
            codec.dumps(out, "torch")
            report[os.path.basename(path)] = [guards.triton_launches - launches, violations[:]]
            violations.clear()
        print(json.dumps(report))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for path in good:
        launches, violations = report[path.name]
        assert violations == [] and launches >= 2, (path.name, report)


# --- baseline, workload, score ------------------------------------------------------------

def test_torch_baseline_does_the_same_task(pack, ctx):
    from dlverify.gpu import harness
    from dlverify.gpu.baselines import baseline_for

    case = by_name(pack, "scale_given")
    inputs = pack.grader.make_inputs(case, SEED)
    base = baseline_for(EXERCISE, case.params, "cpu", ctx)
    slot = base.prepare(harness().to_device(inputs, "cpu"))
    outputs = harness().to_host(slot.collect(slot.call()))
    want = pack.grader.expected(case, inputs, ctx)
    assert set(outputs) == {"o", "dq", "dk", "dv"}            # SDPA hands out no lse
    check = pack.grader.check(case, inputs, outputs, {n: want[n] for n in outputs}, ctx)
    assert check.ok, check.message


def test_workload_is_attention_s_flashattention_accounting(pack):
    from dlverify.gpu.score import gpu_score
    from dlverify.gpu.workload import workload

    case = by_name(pack, "bench_bf16_8x16x2048x64_fwd_bwd")
    work = workload(EXERCISE, case.params)
    assert work == workload("attention", case.params) and work.bound == "compute"
    assert round(work.flops / 1e9, 1) == 240.6                 # 4 B H pairs D x 3.5, pairs = 2048 * 2049 / 2
    assert gpu_score(EXERCISE, 0.40, 0.80) == 1.0 and gpu_score(EXERCISE, 0.05, 0.25) == 0.0


# --- the reference kernel file ----------------------------------------------------------

def _shared_block(text: str) -> str:
    start = text.index("\n", text.index(SHARED_START)) + 1
    return text[start:text.index(SHARED_END)]


def test_reference_carries_the_kernel_file_verbatim(pack):
    kernel = (paths.kernels_dir() / "flash_attention.py").read_text(encoding="utf-8")
    reference = pack.reference_path.read_text(encoding="utf-8")
    assert "def attention_backward" in _shared_block(kernel)
    assert _shared_block(kernel) == _shared_block(reference)


def test_reference_passes_a_case_through_the_driver(pack, ctx, driver, reference):
    case = by_name(pack, "fp16_strided_blhd")
    inputs = pack.grader.make_inputs(case, SEED)
    outputs = driver.run(reference, case.params, {n: t.clone() for n, t in inputs.items()}, "cpu")
    result = pack.grader.check(case, inputs, outputs, pack.grader.expected(case, inputs, ctx), ctx)
    assert result.ok, result.message


def test_kernel_file_check_catches_a_wrong_lse(monkeypatch):
    kernel = load_interpreted(paths.kernels_dir() / "flash_attention.py", "_test_flash_attention_kernel")
    right = kernel.attention_forward
    monkeypatch.setattr(kernel, "attention_forward",
                        lambda *a: (right(*a)[0], right(*a)[1].to(torch.float16).to(torch.float32)))
    with pytest.raises(AssertionError):
        kernel.check(shapes=((1, 1, 70, 16),), dtypes=(torch.float32,), device="cpu")
