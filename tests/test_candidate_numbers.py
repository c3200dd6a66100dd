"""Submissions whose numbers, outputs or deaths once broke the host (issue 11), graded for real.

Each goes through `dlverify.engine.grade` on the CPU, and each must be the
candidate's own status with a one-line reason, never the grader's `error`,
never a result that cannot be written, never `passed`:

1. statistics that overflow (a gradient of 1.7e308 where the reference is small);
2. a death on a benchmark input, after every correctness case passed;
3. an output that is no plain data (a list of millions of numbers);
4. a number out of range or of the wrong kind (10**400 as the scaler's scale).
"""

from __future__ import annotations

import json
import math

import jsonschema
import pytest

from dlverify.packs.registry import EXERCISE_IDS

from dlverify import paths
from dlverify.engine import grade
from dlverify.outcome import CaseStatus, Status

from test_result_schema import SCHEMA

MP_REFERENCE = (paths.graders_dir() / "mixed_precision" / "reference.py").read_text()


def _one_line(text: str) -> bool:
    return bool(text) and "\n" not in text


def test_overflowing_statistics_are_null_and_the_result_is_written(write, backprop_reference):
    """An honest but badly wrong solution: gradients of 1.7e308 (relative error against |w| < 1 is inf)."""
    source = backprop_reference.replace("def mlp_loss_and_grads(", "def _right(") + (
        "\n\ndef mlp_loss_and_grads(params, x, y):\n"
        "    loss, grads = _right(params, x, y)\n"
        "    return loss, {k: np.full_like(v, 1.7e308) for k, v in grads.items()}\n")
    result = grade("backprop_mlp", write("huge.py", source), device="cpu", throughput=False)
    assert result.status is Status.FAILED
    data = json.loads(result.to_json())        # allow_nan=False: this raised before
    jsonschema.validate(data, SCHEMA)
    stats = [c[k] for c in data["cases"] for k in ("max_abs_error", "max_rel_error")]
    assert all(v is None or math.isfinite(v) for v in stats) and None in stats


@pytest.mark.parametrize("survive", [0, 1], ids=["dies_in_the_warm_up", "dies_in_a_timed_call"])
def test_a_death_on_a_benchmark_input_is_charged_to_the_benchmark(write, survive):
    """Right on every correctness case; on the (larger) benchmark inputs, it exits."""
    source = MP_REFERENCE + f"""

import os

_right = train_mixed_precision
_bench_calls = [0]


def train_mixed_precision(model, optimizer, batches, *args, **kwargs):
    if batches[0][0].shape[-1] >= 128:     # bench_cpu's d = 128; every correctness case is smaller
        _bench_calls[0] += 1
        if _bench_calls[0] > {survive}:
            os._exit(0)
    return _right(model, optimizer, batches, *args, **kwargs)
"""
    result = grade("mixed_precision", write("dies.py", source), device="cpu", throughput=True)
    assert result.status is Status.CRASHED, result.summary
    bench = [c for c in result.cases if c.name.startswith("bench_cpu")]
    assert [c.status for c in bench] == [CaseStatus.CRASHED]
    assert "benchmark" in bench[0].message and _one_line(bench[0].message)
    assert all(c.status is CaseStatus.PASSED for c in result.cases if c not in bench)
    assert result.throughput is None


# The worker's codec is the candidate's to patch: whatever bytes it sends, the host decodes.
# Each case with a scaler (five, in this order) gets the next of these in place of its scale.
SEND_AS_SCALE = MP_REFERENCE + """

import sys

_codec = sys.modules["codec"]
_dumps = _codec.dumps
_sent = []


def _send(outputs, kind):
    outputs = dict(outputs)
    if "scaler_scale" in outputs:
        values = [[0.5] * 400_000, 10 ** 400, torch.tensor(65536.0), complex(65536.0, 0.0), True]
        outputs["scaler_scale"] = values[len(_sent) % len(values)]
        _sent.append(1)
    return _dumps(outputs, kind)


_codec.dumps = _send
"""
SCALE_REFUSED = [
    ("clip_after_unscale", "pickle of"),                   # 3.6 MB of pickle: once decoded in full, then refused
    ("scaler_sgd", "integer of 1329 bits"),                # once an OverflowError in the comparison: `error`
    ("nonfinite_step_skipped", "expected a Python float, got Tensor"),
    ("fp16_scaler_clip", "builtins.complex is not plain data"),
    ("fp16_overflow_backoff", "expected a Python float, got bool"),
]


def test_a_scale_that_is_not_a_plain_number_fails(write):
    result = grade("mixed_precision", write("scale.py", SEND_AS_SCALE), device="cpu", throughput=False)
    assert result.status is Status.FAILED, result.summary
    failed = {c.name: c.message for c in result.cases if c.status is CaseStatus.FAILED}
    assert list(failed) == [name for name, _ in SCALE_REFUSED]
    for name, why in SCALE_REFUSED:
        assert why in failed[name] and _one_line(failed[name]), failed[name]
    json.loads(result.to_json())


def test_a_death_in_the_gpu_timed_phase_names_its_benchmark():
    """The GPU path's frames (sandbox/bench.run_gpu_benches) name the benchmark a death belongs to."""
    from dlverify.launch.channel import Frame
    from dlverify.engine import _running

    frames = [Frame({"event": "case_start", "name": "small"}, b"", 1.0), Frame({"event": "case_end", "name": "small"},
              b"", 2.0), Frame({"event": "bench_begin", "name": "bench_gpu"}, b"", 3.0)]
    assert _running(frames, ["bench_gpu"]) == "bench_gpu"
    frames.append(Frame({"event": "gpu_bench_start", "name": "forged"}, b"", 4.0))   # not a benchmark of the job
    assert _running(frames, ["bench_gpu"]) == "bench_gpu"
    assert _running(frames[:2], ["bench_gpu"]) == "small"


# ----------------------------------------------------------------------------- every pack's check()

def _variants(want) -> tuple[list, list]:
    """Every kind of value the codec lets a candidate send, shaped after one expected output:
    (surely wrong, maybe right) -- a flipped vector of one element is still right."""
    import numpy as np
    import torch

    wrong = [None, True, False, 2**64 - 1, -2**63, math.nan, math.inf, -math.inf, "text"]
    if isinstance(want, torch.Tensor):
        wrong += [want.to(d) for d in (torch.complex128, torch.bool, torch.int64, torch.float16, torch.uint8)
                  if d != want.dtype]
        if want.is_floating_point():
            big = torch.finfo(want.dtype).max
            wrong += [torch.full_like(want, v) for v in (math.nan, math.inf, big, -big)]
        return wrong, [torch.tensor(1.0, dtype=want.dtype), torch.zeros(0, dtype=want.dtype), want.reshape(-1).flip(0)]
    if isinstance(want, np.ndarray):
        with np.errstate(invalid="ignore", over="ignore"):   # making the variants may overflow; judging them may not
            wrong += [want.astype(d) for d in (np.complex128, np.bool_, np.int64, np.uint64, np.float16) if d != want.dtype]
        if want.dtype.kind == "f":
            big = np.finfo(want.dtype).max
            wrong += [np.full_like(want, v) for v in (math.nan, math.inf, big, -big)]
        return wrong, [np.array(1.0, dtype=want.dtype), np.zeros(0, dtype=want.dtype), want.reshape(-1)[::-1].copy()]
    # 10**400 never gets past the codec (64 bits at most); the comparison must hold without it too
    return wrong + [torch.tensor(float(want)), np.array(want), 10**400, 1e308], [0, 2 * float(want)]


@pytest.mark.filterwarnings("error::RuntimeWarning")   # numpy's overflow warning is a grader's bug too
@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_every_check_fails_any_value_a_candidate_can_send(exercise, monkeypatch):
    """Whatever plain value comes back in place of an output, check() gives a verdict with a one-line
    message, never an exception: that would be the grader's `error`, which no candidate may cause."""
    from dlverify.engine import judge
    from dlverify.packs.loading import load_pack
    from dlverify.packs.registry import get_exercise

    pack = load_pack(get_exercise(exercise))
    ctx = pack.context("cpu")
    expected = pack.grader.expected
    if exercise == "cuda_matmul":   # its reference is a CUDA kernel: here the answer is the float64 product
        def expected(case, inputs, ctx):
            return {"c": inputs["a"].double() @ inputs["b"].double()}
    not_run = getattr(pack.grader, "not_run_reason", None)
    cases = [c for c in pack.check_cases("cuda" if exercise == "cuda_matmul" else "cpu")
             if not_run is None or not_run(c, ctx) is None]
    for case in cases[:6]:
        inputs = pack.grader.make_inputs(case, 1234)
        want = expected(case, inputs, ctx)
        monkeypatch.setattr(pack.grader, "expected", lambda *_: want)   # judge() asks again for every variant
        for key, value in want.items():
            if value is None:   # a placeholder the check reads from the outputs alone (traffic, a graph)
                continue
            wrong, other = _variants(value)
            for variant in wrong + other:
                check = judge(pack, ctx, case, inputs, {**want, key: variant})   # a GraderFault would raise here
                assert "\n" not in check.message
                if any(variant is w for w in wrong):
                    assert not check.ok and check.message, (case.name, key, variant)


def test_the_runner_reads_the_workers_numbers_without_overflowing(monkeypatch):
    """sandbox/bench.py turns the GPU worker's figures into floats in the runner: 10**400 must not end it."""
    from dlverify.isolation.landlock_rules import sandbox_module

    monkeypatch.syspath_prepend(str(paths.sandbox_dir()))          # bench imports gpu_timing by name
    bench = sandbox_module(paths.sandbox_dir(), "bench")
    assert [bench._number(v) for v in (10**400, math.inf, math.nan, True, "1", 3)] == [None] * 5 + [3.0]
