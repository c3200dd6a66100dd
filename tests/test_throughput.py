"""Throughput logic that needs no GPU: the host-clocked CPU figure, the cross-check, SOL fractions,
work per call, score mappings, the speed-of-light cache. GPU-marked tests measure the real thing."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from dlverify import paths
from dlverify.packs.cases import Case
from dlverify.launch.channel import Frame
from dlverify.gpu import sol as sol_module
from dlverify.gpu.crosscheck import ALLOWANCE_FIXED_S, ALLOWANCE_MARGIN, SUSPICIOUS_RATIO, allowance, cross_check
from dlverify.gpu.measure import case_figures, GpuRun
from dlverify.gpu.score import RULES, cpu_score, gpu_score
from dlverify.gpu.sol import SpeedOfLight, cache_key, datasheet_for, speed_of_light
from dlverify.gpu.workload import causal_pairs, workload
from dlverify.launch.jobs import Job, PlannedBench, codec
from dlverify.outcome import CaseStatus
from dlverify.packs.loading import load_module_from_path, load_pack
from dlverify.packs.registry import get_exercise
from dlverify.report.result import GradeResult
from dlverify.judging.throughput import figure_from_host_clock, measure_host_clocked, timed_slots

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ----------------------------------------------------------------------------- the GPU cross-check

def test_an_honest_run_keeps_its_event_median():
    events = [1.00e-3, 1.01e-3, 0.99e-3, 1.02e-3, 1.00e-3]
    # window = the calls plus 0.4 ms of harness per call, which the allowance covers
    checked = cross_check(events, window=sum(events) + 5 * 0.4e-3, harness_seconds=5 * 0.45e-3)
    assert checked.source == "events" and checked.seconds == pytest.approx(1.00e-3)
    assert not checked.suspicious and checked.host_floor < checked.event_mean


def test_a_patched_timer_cannot_report_less_than_the_host_clock_allows():
    events = [1e-7] * 5                                  # "every call took 0.1 us"
    window = 5 * 1.2e-3                                  # the host saw 1.2 ms per call go by
    checked = cross_check(events, window, harness_seconds=5 * 0.2e-3)
    assert checked.source == "host" and checked.suspicious
    assert checked.seconds == pytest.approx(1.0e-3)      # the floor: (window - harness) / calls
    assert checked.seconds > 1000 * checked.event_median


def test_work_hidden_from_the_events_scales_them_up():
    # a side stream the events never wait for: events say 0.5 ms, the window holds 1 ms per call
    events = [0.5e-3, 0.6e-3, 0.5e-3, 0.5e-3]
    checked = cross_check(events, window=4 * 1.0e-3, harness_seconds=0.0)
    assert checked.source == "host"
    assert checked.seconds == pytest.approx(0.5e-3 * 1.0e-3 / checked.event_mean)
    assert checked.suspicious == (1.0e-3 > SUSPICIOUS_RATIO * checked.event_mean)


def test_without_a_window_the_events_stand():
    checked = cross_check([2e-3, 3e-3, 4e-3], window=None, harness_seconds=0.0)
    assert (checked.source, checked.seconds, checked.host_floor) == ("events", 3e-3, None)


def test_allowance_is_the_calibrated_harness_cost_with_margin():
    assert allowance(0.010) == pytest.approx(0.010 * ALLOWANCE_MARGIN + ALLOWANCE_FIXED_S)
    assert allowance(-1.0) == pytest.approx(ALLOWANCE_FIXED_S)   # a negative calibration never widens the floor
    assert 1.0 < ALLOWANCE_MARGIN < 1.5 and ALLOWANCE_FIXED_S <= 0.002     # slack a lying timer could hide
    with pytest.raises(ValueError):
        cross_check([], 1.0, 0.0)


# ----------------------------------------------------------------------------- the CPU (host-clocked) figure

def _frames(calls, child_seconds=None, gap=0.0):
    """bench_start / bench_end pairs whose arrival times give each call `seconds` on the host's clock."""
    frames, t = [], 100.0
    for (name, index, seconds, payload) in calls:
        frames.append(Frame({"event": "bench_start", "name": name, "index": index}, b"", t))
        t += seconds
        header = {"event": "bench_end", "name": name, "index": index}
        if child_seconds is not None:
            header["child_seconds"] = child_seconds
        frames.append(Frame(header, payload, t))
        t += gap
    return frames


@pytest.fixture(scope="module")
def softmax_cpu():
    pack = load_pack(get_exercise("triton_softmax"))
    case = Case("bench_tiny", {"M": 4, "N": 50, "dtype": "float32"}, seed=9, devices=("cpu",), kind="bench")
    pool = [pack.grader.make_inputs(case, 77 + i) for i in range(4)]
    job = Job(paths.graders_dir(), paths.graders_dir() / "job.json", paths.graders_dir() / "s.py", [], [],
              [PlannedBench(case, pool)])
    answers = [codec().dumps({"y": torch.softmax(p["x"].double(), -1).float()}, "torch") for p in pool]
    return SimpleNamespace(pack=pack, case=case, pool=pool, job=job, answers=answers, ctx=pack.context("cpu"))


def _grade_cpu(setup, sub_frames, ref_frames):
    result = GradeResult("triton_softmax", "", "", "", CaseStatus.PASSED, "")
    figure = measure_host_clocked(setup.job, setup.pack, setup.ctx, [SimpleNamespace(frames=sub_frames)],
                                  lambda: SimpleNamespace(frames=ref_frames), result)
    return figure, result


def test_cpu_figure_is_the_host_clock_even_when_the_child_timer_says_less(softmax_cpu):
    slots = timed_slots(len(softmax_cpu.pool))
    assert slots == [1, 2, 3]                            # slot 0 is the warm-up's, never timed
    sub = _frames([("bench_tiny", i, 0.020, softmax_cpu.answers[i]) for i in slots], child_seconds=0.0001)
    ref = _frames([("bench_tiny", i, 0.010, softmax_cpu.answers[i]) for i in slots], child_seconds=0.01)
    figure, result = _grade_cpu(softmax_cpu, sub, ref)
    assert result.cases == []
    assert figure.submission_seconds == pytest.approx(0.020)      # the host's 20 ms, not the child's 0.1 ms
    assert figure.child_seconds == pytest.approx(0.0001)
    assert figure.speedup == pytest.approx(0.5) and figure.score == pytest.approx(cpu_score(0.5))
    assert "host's figure is used" in figure.note and figure.indicative


def test_cpu_wrong_answer_on_a_timed_call_fails(softmax_cpu):
    slots = timed_slots(len(softmax_cpu.pool))
    wrong = codec().dumps({"y": torch.zeros(4, 50)}, "torch")
    sub = _frames([("bench_tiny", i, 0.01, softmax_cpu.answers[i] if i != 2 else wrong) for i in slots])
    figure, result = _grade_cpu(softmax_cpu, sub, sub)
    assert [c.name for c in result.cases] == ["bench_tiny[2]"] and result.cases[0].status is CaseStatus.FAILED
    assert figure.score is None


def test_cpu_answer_cached_from_the_warm_up_input_fails(softmax_cpu):
    """Returning slot 0's answer (the warm-up's) for a timed call is a wrong answer, not a speed-up."""
    slots = timed_slots(len(softmax_cpu.pool))
    sub = _frames([("bench_tiny", i, 0.0001, softmax_cpu.answers[0]) for i in slots])
    _, result = _grade_cpu(softmax_cpu, sub, sub)
    assert result.cases and result.cases[0].status is CaseStatus.FAILED


def test_cpu_missing_timed_call_is_not_measured(softmax_cpu):
    sub = _frames([("bench_tiny", 1, 0.01, softmax_cpu.answers[1])])
    figure, result = _grade_cpu(softmax_cpu, sub, sub)
    assert result.cases == [] and figure.note.startswith("not measured") and figure.score is None


def test_cpu_timed_call_that_raises_fails_the_case(softmax_cpu):
    frames = [Frame({"event": "case_error", "name": "bench_tiny", "kind": "memory", "message": "MemoryError"},
                    b"", 1.0)]
    figure, result = _grade_cpu(softmax_cpu, frames, frames)
    assert [c.status for c in result.cases] == [CaseStatus.MEMORY] and figure.score is None


def test_figure_from_host_clock_takes_medians():
    from dlverify.report.result import Throughput

    figure = figure_from_host_clock(Throughput("cpu", True), [0.03, 0.01, 0.02], [0.02, 0.02, 0.05], [None] * 3)
    assert (figure.submission_seconds, figure.reference_seconds, figure.speedup) == (0.02, 0.02, 1.0)
    assert figure.child_seconds is None and figure.runs == 3


# ----------------------------------------------------------------------------- SOL fractions and figures

def _sol(**over):
    base = dict(key="k", device="NVIDIA H100 80GB HBM3", kind="cuda", driver="550", cuda="12.8", torch="2.13",
                copy_gbps=3000.0, fill_gbps=2800.0, matmul_tflops={"bfloat16": 800.0, "float16": 800.0,
                                                                     "float32": 50.0})
    base.update(over)
    sheet = datasheet_for(base["device"])
    return SpeedOfLight(**base, datasheet=sheet.__dict__ if sheet else None)


def _gpu_run(seconds):
    return GpuRun("b", end={"seconds": seconds, "stop": "precise"})


def test_memory_bound_sol_fraction_is_against_the_copy_bandwidth():
    case = Case("b", {"M": 8192, "N": 8192, "dtype": "float16"}, kind="bench")
    bench = PlannedBench(case, [])
    seconds = 2 * 8192 * 8192 * 2 / 2000e9              # exactly 2000 GB/s
    checked = cross_check([seconds] * 5, None, 0.0)
    fig = case_figures("triton_softmax", bench, _gpu_run([seconds] * 5), checked, checked, [seconds * 0.8] * 5,
                       "torch.softmax", _sol())
    assert fig["gbps"] == pytest.approx(2000.0)
    assert fig["sol_fraction"] == pytest.approx(2000 / 3000)
    assert fig["datasheet_fraction"] == pytest.approx(2000 / 3350)
    assert fig["vs_torch"] == pytest.approx(0.8) and fig["vs_reference"] == pytest.approx(1.0)


def test_compute_bound_sol_fraction_is_against_the_matmul_peak_of_the_dtype():
    case = Case("b", {"M": 4096, "N": 4096, "K": 4096}, kind="bench")
    seconds = 2 * 4096 ** 3 / 25e12                     # 25 TFLOP/s in float32
    checked = cross_check([seconds] * 5, None, 0.0)
    fig = case_figures("cuda_matmul", PlannedBench(case, []), _gpu_run([seconds] * 5), checked, None, [], "", _sol())
    assert fig["tflops"] == pytest.approx(25.0)
    assert fig["sol_fraction"] == pytest.approx(25 / 50)           # cuBLAS float32 (TF32 off), not bf16
    assert fig["datasheet_fraction"] == pytest.approx(25 / 66.9)
    assert fig["vs_torch"] is None and fig["vs_reference"] is None


def test_no_speed_of_light_means_no_fraction():
    case = Case("b", {"M": 64, "N": 64, "dtype": "float32"}, kind="bench")
    checked = cross_check([1e-3] * 3, None, 0.0)
    fig = case_figures("triton_softmax", PlannedBench(case, []), _gpu_run([1e-3] * 3), checked, None, [], "", None)
    assert fig["sol_fraction"] is None and fig["gbps"] > 0


@pytest.mark.parametrize("name, sheet", [
    ("NVIDIA H100 80GB HBM3", "H100 SXM"), ("NVIDIA H100 PCIe", "H100 PCIe"), ("NVIDIA H100 NVL", "H100 NVL"),
    ("NVIDIA H200", "H200 SXM"), ("NVIDIA H200 NVL", "H200 NVL"), ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
    ("NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"), ("NVIDIA A100-SXM4-40GB", "A100 40GB"), ("NVIDIA L4", "L4"),
    ("NVIDIA GeForce RTX 4090", "RTX 4090"), ("NVIDIA L40S", None), ("Tesla T4", None)])
def test_datasheet_matching(name, sheet):
    found = datasheet_for(name)
    assert (found.name if found else None) == sheet


def test_datasheet_peaks_are_dense_figures():
    h100 = datasheet_for("NVIDIA H100 80GB HBM3")
    assert h100.tflops["bfloat16"] == pytest.approx(1979 / 2, rel=1e-3) and h100.gbps == 3350
    assert datasheet_for("NVIDIA L4").tflops["bfloat16"] == pytest.approx(242 / 2, rel=1e-2)


# ----------------------------------------------------------------------------- the speed-of-light cache

def test_speed_of_light_is_measured_once_and_cached(tmp_path, monkeypatch):
    calls = []
    real = sol_module.measure_cpu

    def counting(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(sol_module, "measure_cpu", counting)
    first = speed_of_light("cpu", folder=tmp_path)
    second = speed_of_light("cpu", folder=tmp_path)
    assert len(calls) == 1 and first == second
    assert first.copy_gbps > 0 and first.matmul_tflops["float32"] > 0
    stored = json.loads((tmp_path / "speed_of_light.json").read_text())
    assert list(stored) == [first.key] and "torch" in first.key
    speed_of_light("cpu", folder=tmp_path, refresh=True)
    assert len(calls) == 2


def test_cache_key_changes_with_driver_and_torch():
    keys = {cache_key("NVIDIA H100 80GB HBM3", d, t) for d in ("550.54", "560.35") for t in ("2.12.0", "2.13.0")}
    assert len(keys) == 4


def test_driver_version_reads_the_kernel_module(monkeypatch, tmp_path):
    version = tmp_path / "version"
    version.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n")
    from dlverify import machine

    real_path = machine.Path
    monkeypatch.setattr(machine, "Path", lambda p: real_path(version) if p == "/proc/driver/nvidia/version"
                        else real_path(p))
    assert sol_module.driver_version() == "550.54.15"   # the speed of light's cache key reads it


# ----------------------------------------------------------------------------- work per call

def test_softmax_work_matches_the_pack():
    grader = load_module_from_path("_t_softmax_grader", paths.graders_dir() / "triton_softmax" / "grader.py")
    case = Case("b", {"M": 4096, "N": 32768, "dtype": "bfloat16"}, kind="bench")
    work = workload("triton_softmax", case.params)
    assert work.bytes == grader.bytes_moved(case) == 2 * 4096 * 32768 * 2
    assert work.bound == "memory"


def test_matmul_work_matches_the_pack():
    grader = load_module_from_path("_t_matmul_grader", paths.graders_dir() / "cuda_matmul" / "grader.py")
    case = Case("b", {"M": 4096, "N": 4096, "K": 4096}, kind="bench")
    work = workload("cuda_matmul", case.params)
    assert {"flops": work.flops, "bytes": work.bytes} == grader.bench_figures(case)
    assert work.dtype == "float32" and work.bound == "compute"


def test_attention_flops_follow_the_flash_attention_convention():
    p = {"entry": "attention", "B": 8, "H": 16, "Lq": 2048, "Lk": 2048, "D": 64, "dtype": "bfloat16",
         "causal": True, "backward": True}
    work = workload("attention", p)
    forward = 4 * 8 * 16 * causal_pairs(2048, 2048) * 64
    assert work.flops == pytest.approx(3.5 * forward)
    assert causal_pairs(2048, 2048) == 2048 * 2049 // 2
    assert causal_pairs(3, 5) == 1 + 2 + 3 and causal_pairs(5, 2) == 1 + 2 + 2 + 2 + 2
    full = workload("attention", {**p, "causal": False, "backward": False})
    assert full.flops == 4 * 8 * 16 * 2048 * 2048 * 64
    assert work.bytes == 2 * 8 * 16 * 2048 * 64 * 12    # fwd q, k, v, o + bwd q, k, v, o, dO, dQ, dK, dV


def test_training_step_flops():
    p = {"d": 1024, "hidden": 4096, "classes": 1024, "n_batches": 8, "batch": 512, "dtype": "bfloat16",
         "accum_steps": 2}
    work = workload("mixed_precision", p)
    b, d, h, c = 512, 1024, 4096, 1024
    per_batch = 2 * b * (d * h + h * c) + 2 * b * (2 * h * c + d * h)    # fwd + dW2, dA1 + dW1
    assert work.flops == 8 * per_batch and work.steps == 4 and work.dtype == "bfloat16"


def test_backprop_mlp_flops():
    work = workload("backprop_mlp", {"widths": [256, 256, 256, 10], "N": 512})
    mm = [256 * 256, 256 * 256, 256 * 10]
    assert work.flops == 2 * 512 * (sum(mm) + sum(mm) + sum(mm[1:]))
    with pytest.raises(KeyError):
        workload("nope", {})


# ----------------------------------------------------------------------------- scores

def test_score_parts_ramp_and_clamp():
    rule = RULES["triton_softmax"]
    assert rule.score(rule.sol_full, rule.torch_full) == 1.0
    assert rule.score(rule.sol_zero, rule.torch_zero) == 0.0
    middle = (rule.sol_zero + rule.sol_full) / 2
    assert rule.score(middle, None) == pytest.approx(0.5)       # a missing part is left out of the mean
    assert rule.score(middle, rule.torch_full * 3) == pytest.approx(0.75)
    assert rule.score(None, None) is None
    assert rule.score(5.0, 99.0) == 1.0 and rule.score(-1.0, -1.0) == 0.0


@pytest.mark.parametrize("exercise", sorted(RULES))
def test_every_gpu_exercise_has_an_increasing_mapping(exercise):
    rule = RULES[exercise]
    assert rule.sol_zero < rule.sol_full <= 1.0 and rule.torch_zero < rule.torch_full
    low, high = gpu_score(exercise, rule.sol_zero, rule.torch_zero), gpu_score(exercise, rule.sol_full,
                                                                                rule.torch_full)
    assert (low, high) == (0.0, 1.0)


def test_mixed_precision_gives_nothing_for_no_speed_up_over_float32():
    assert gpu_score("mixed_precision", None, 1.0) == 0.0
    assert gpu_score("mixed_precision", None, 4.0) == 1.0
    assert gpu_score("backprop_mlp", 0.5, 1.0) is None         # CPU only: no GPU rule


def test_cpu_score():
    assert cpu_score(1.7) == 1.0 and cpu_score(1.0) == 1.0
    assert cpu_score(0.25) == 0.0 and cpu_score(0.625) == pytest.approx(0.5)


# ----------------------------------------------------------------------------- with a GPU

@pytest.mark.gpu
@needs_gpu
def test_speed_of_light_on_this_gpu(tmp_path):
    sol = speed_of_light("cuda", folder=tmp_path)
    assert sol.kind == "cuda" and sol.driver and sol.cuda
    assert sol.copy_gbps > 100 and sol.matmul_tflops["bfloat16"] > sol.matmul_tflops["float32"] > 1
    if sol.datasheet:  # measured within a sane band of the datasheet
        assert 0.5 < sol.copy_gbps / sol.datasheet["gbps"] < 1.1
        assert 0.3 < sol.matmul_tflops["bfloat16"] / sol.datasheet["tflops"]["bfloat16"] < 1.1
        assert 0.5 < sol.matmul_tflops["float32"] / sol.datasheet["tflops"]["float32"] < 1.1


@pytest.mark.gpu
@needs_gpu
@pytest.mark.slow
@pytest.mark.parametrize("exercise", ["triton_softmax", "triton_matmul", "attention", "mixed_precision", "cuda_matmul"])
def test_reference_gets_gpu_figures(exercise):
    from dlverify.engine import grade

    result = grade(exercise, paths.graders_dir() / exercise / "reference.py", device="cuda")
    assert result.passed, result.summary
    tp = result.throughput
    assert tp is not None and tp.device == "cuda" and not tp.indicative, tp
    assert tp.submission_seconds and tp.sol_fraction and tp.vs_torch and tp.score is not None, tp
    assert 0.6 < tp.speedup < 1.6          # the reference against itself, same run


# ----------------------------------------------------------------------------- torch's own implementations

@pytest.mark.parametrize("exercise, params", [
    ("triton_softmax", {"M": 5, "N": 77, "dtype": "float32", "scale": 2.0}),
    ("attention", {"entry": "attention", "B": 2, "H": 2, "Lq": 9, "Lk": 9, "D": 16, "dtype": "float32",
                   "causal": True, "backward": True}),
    ("attention", {"entry": "attention", "B": 2, "H": 2, "Lq": 6, "Lk": 10, "D": 8, "dtype": "float32",
                   "causal": True, "mask": "full"}),
])
def test_torch_baseline_does_the_same_task(exercise, params):
    """vs_torch compares like with like: torch's implementation passes the pack's own check."""
    from dlverify.engine import judge
    from dlverify.gpu import harness
    from dlverify.gpu.baselines import baseline_for

    pack = load_pack(get_exercise(exercise))
    ctx = pack.context("cpu")
    case = Case("b", params, seed=4, kind="bench")
    inputs = pack.grader.make_inputs(case, 123)
    base = baseline_for(exercise, params, "cpu", ctx)
    slot = base.prepare(harness().to_device(inputs, "cpu"))
    outputs = harness().to_host(slot.collect(slot.call()))
    check = judge(pack, ctx, case, inputs, outputs)
    assert check.ok, check.message


def test_float32_baseline_trains_the_same_model():
    from dlverify.gpu import harness
    from dlverify.gpu.baselines import baseline_for

    pack = load_pack(get_exercise("mixed_precision"))
    params = {"d": 8, "hidden": 16, "classes": 4, "n_batches": 4, "batch": 4, "dtype": "bfloat16", "optimizer": "sgd",
              "lr": 0.1, "momentum": 0.9, "accum_steps": 2}
    inputs = pack.grader.make_inputs(Case("b", params, seed=1, kind="bench"), 7)
    slot = baseline_for("mixed_precision", params, "cpu", pack.context("cpu")).prepare(inputs)
    losses = harness().to_host(slot.collect(slot.call()))["losses"]
    want = pack.grader.expected(Case("b", params, seed=1, kind="bench"), inputs, pack.context("cpu"))["losses"]
    assert losses.shape == want.shape == (2,)
    assert torch.allclose(losses, want.double(), rtol=0.05, atol=0.05)     # the same run, without bf16 rounding
    assert baseline_for("attention", {"entry": "mhsa"}, "cpu") is None      # no torch twin for the module entry


# ----------------------------------------------------------------------------- benchmarks/run.py

def test_benchmark_run_survives_a_failing_exercise_and_loads_each_reference_once(tmp_path, monkeypatch, capsys):
    """A first GPU run must not lose every figure to one exercise that fails (an extension that does not
    build, an out-of-memory), and --repeat must not rebuild a reference (cuda_matmul's takes a minute)."""
    from dlverify.gpu import harness

    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setenv("DLVERIFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(harness(), "WARMUP_SECONDS", 0.01)
    run = load_module_from_path("_t_benchmarks_run", paths.sandbox_dir().parent / "benchmarks" / "run.py")
    loaded = []
    real_load = run.load_module_from_path
    monkeypatch.setattr(run, "load_module_from_path",
                        lambda name, path: (loaded.append(path), real_load(name, path))[1])
    real_time_case = run.time_case

    def time_case(pack, case, device, sol):
        if pack.exercise.id == "attention":
            raise RuntimeError("CUDA out of memory")
        return real_time_case(pack, case, device, sol)

    monkeypatch.setattr(run, "time_case", time_case)
    out = tmp_path / "results.json"
    code = run.main(["attention", "mixed_precision", "--repeat", "2", "--write", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 1 and "CUDA out of memory" in printed
    entries = json.loads(out.read_text())
    assert [e["exercise"] for e in entries] == ["mixed_precision"] and entries[0]["repeats"] == 2
    assert loaded == [paths.graders_dir() / "mixed_precision" / "reference.py"]   # once for both repeats


def test_benchmark_results_merge_by_kernel(tmp_path, capsys):
    """A run of one exercise replaces that exercise's figures and keeps the rest of the device's file."""
    run = load_module_from_path("_t_benchmarks_write", paths.sandbox_dir().parent / "benchmarks" / "run.py")
    out = tmp_path / "device.json"
    run.write([{"kernel": "a:bench", "gbps": 1.0}, {"kernel": "b:bench", "gbps": 2.0}], out)
    run.write([{"kernel": "b:bench", "gbps": 3.0}], out)
    assert json.loads(out.read_text()) == [{"kernel": "a:bench", "gbps": 1.0}, {"kernel": "b:bench", "gbps": 3.0}]
    assert "1 kept from earlier runs" in capsys.readouterr().out
