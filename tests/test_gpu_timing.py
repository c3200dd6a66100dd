"""The GPU timing harness (sandbox/gpu_timing.py) and the host's checks of what it reports.

Without a GPU, the harness runs on its CPU stand-in clock: the same loop, the
same runner/worker protocol (under an exercise's real rule guards, in a
subprocess), the same digests and draws, the same host-side verification.
Tests marked `gpu` time real CUDA work and are skipped without a device.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from dlverify import paths
from dlverify.packs.cases import Case
from dlverify.launch.channel import Frame
from dlverify.gpu import harness, stats, worker_harness
from dlverify.gpu import measure as measure_module
from dlverify.gpu.measure import calibrate, driver_splits_call, measure_gpu
from dlverify.gpu.sol import SpeedOfLight
from dlverify.launch.jobs import Job, PlannedBench, codec
from dlverify.outcome import CaseStatus
from dlverify.packs.loading import load_pack
from dlverify.packs.registry import get_exercise
from dlverify.report.result import GradeResult

H = harness()
W = worker_harness()
D = sys.modules["gpu_digest"]   # loaded with the harness, by its own name
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ----------------------------------------------------------------------------- rules shared by both sides

@pytest.mark.parametrize("pool, slots", [(1, [0]), (2, [1]), (4, [1, 2, 3]), (10, list(range(1, 10)))])
def test_warm_up_slot_is_never_timed_unless_it_is_the_only_one(pool, slots):
    assert H.timed_slots(pool) == slots


def test_flush_is_twice_the_l2_in_whole_mib():
    assert H.flush_size(50 << 20) == 100 << 20            # H100: 50 MiB L2
    assert H.flush_size((40 << 20) + 1) == 81 << 20       # rounded up, never below 2x
    assert H.flush_size(0) == 1 << 20


def test_relative_sem_and_the_stopping_rule():
    flat = [1.0] * 5
    assert H.relative_sem(flat) == 0.0
    assert math.isinf(H.relative_sem([1.0]))
    noisy = [1.0, 2.0, 1.0, 2.0, 1.0]
    assert H.relative_sem(noisy) == pytest.approx(0.17496, rel=1e-4)  # sd 0.5477 / sqrt(5) / mean 1.4
    assert H.stop_reason(flat, 0.1, left=3) == "precise"
    assert H.stop_reason(flat[:4], 0.1, left=3) is None                # fewer than MIN_CALLS
    assert H.stop_reason(noisy, 0.1, left=3) is None                   # 16% > 1%: go on
    assert H.stop_reason(noisy, 0.1, left=0) == "pool"
    assert H.stop_reason(noisy, H.TIME_CAP_SECONDS, left=3) == "time"
    # the host's stats module applies the very same rule
    assert stats.stop_reason(noisy, 0.1, 0) == "pool"
    assert stats.relative_sem(noisy) == H.relative_sem(noisy)


def test_summary_statistics():
    s = stats.summarize([1.0, 2.0, 3.0, 4.0])
    assert (s.n, s.median, s.mean) == (4, 2.5, 2.5)
    assert s.stdev == pytest.approx(1.29099, rel=1e-5)
    assert s.sem == pytest.approx(s.stdev / 2)
    assert s.rel_sem == pytest.approx(s.sem / 2.5)
    assert stats.spread([0.99, 1.0, 1.01]) == pytest.approx(0.02)
    assert stats.geomean([1.0, 4.0]) == pytest.approx(2.0)
    assert stats.geomean([1.0, None]) == 1.0


def test_draws_are_distinct_calls_of_the_run():
    for calls in (1, 2, 9):
        drawn = H.draw(calls)
        assert drawn == sorted(set(drawn)) and len(drawn) == min(H.REVEALED_CALLS, calls)
        assert all(0 <= i < calls for i in drawn)
    assert len({tuple(H.draw(50)) for _ in range(20)}) > 1   # not a fixed choice


# ----------------------------------------------------------------------------- digests

@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.bool])
def test_digest_changes_with_any_one_element(dtype):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(37, 11, generator=g) * 3).to(dtype)
    before = H.digest({"y": x})
    changed = x.clone()
    flat = changed.view(-1)
    flat[123] = ~flat[123] if dtype == torch.bool else flat[123] + 1
    assert H.digest({"y": changed}) != before
    assert H.digest({"y": x.clone()}) == before                     # the bits, not the object


def test_digest_is_the_same_from_torch_sum_numpy_and_a_transposed_view():
    x = torch.randn(64, 33, dtype=torch.float16)
    words = x.view(torch.int16).reshape(-1)
    by_torch = int(words.sum(dtype=torch.int64))
    assert H.digest({"y": x})[0][3] == by_torch
    assert H.digest({"y": x.numpy()})[0][3] == by_torch
    assert H.digest({"y": x.t().contiguous().t()}) == H.digest({"y": x})   # a strided view of the same values


def test_digest_keeps_numbers_and_key_order():
    one = H.digest({"b": 1.5, "a": torch.zeros(3)})
    assert [part[0] for part in one] == ["a", "b"]
    assert one[1][3] == "1.5" and H.digest({"b": 1.25, "a": torch.zeros(3)}) != one


def test_triton_digest_kernel_matches_the_torch_sum():
    """The worker's digest where the rules block torch's sum (triton_softmax): a Triton kernel, interpreted here."""
    code = textwrap.dedent("""
        import sys, torch
        sys.path.insert(0, sys.argv[1])
        import gpu_digest
        for dtype, n in ((torch.float32, 10001), (torch.float16, 4096 * 3 + 7), (torch.bfloat16, 5), (torch.float32, 0)):
            x = torch.randn(n).to(dtype)
            words = x.view(torch.int16 if x.element_size() == 2 else torch.int32)
            partials = gpu_digest._triton_partials(words)
            assert gpu_digest._numpy_sum(partials.numpy()) == int(words.sum(dtype=torch.int64)), dtype
        print("ok")
    """)
    env = dict(os.environ, TRITON_INTERPRET="1")
    done = subprocess.run([sys.executable, "-c", code, str(paths.sandbox_dir())], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-3000:]


def test_numpy_digest_sums_without_an_int64_copy():
    """A 256 MiB bf16 output digested on the host must not cost a 1 GiB int64 copy first (the worker's memory)."""
    import tracemalloc

    import numpy as np

    words = (np.arange(1 << 22, dtype=np.int64) % 65536 - 32768).astype(np.int16)   # 8 MiB of int16
    want = int(words.astype(np.int64).sum())
    tracemalloc.start()
    try:
        got = D._numpy_sum(words)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got == want
    assert peak < words.nbytes // 2, peak            # an int64 copy would be 4x the words


def test_a_failing_triton_digest_falls_back_to_the_same_sum(monkeypatch):
    """Triton failing to build the grader's digest kernel in the sandbox is not the candidate's failure."""
    def broken(words):
        raise RuntimeError("ptxas: not found")        # what a sandbox without Triton's toolchain raises

    monkeypatch.setattr(D, "_triton_partials", broken)
    words = (torch.randn(5000) * 7).to(torch.bfloat16).view(torch.int16)
    total = D._device_total(words, use_triton=True)
    assert int(total) == int(words.sum(dtype=torch.int64))
    assert int(D._device_total(words, use_triton=False)[0]) == int(total)


# ----------------------------------------------------------------------------- the timed loop on a scripted clock

class ScriptedClock:
    """Marks are call counts; each call's 'duration' comes from a script, as a patched timer's would."""

    kind = "scripted"
    flush_bytes = 0

    def __init__(self, durations):
        self.durations, self.flushes, self.syncs, self.n = list(durations), 0, 0, 0

    def flush(self):
        self.flushes += 1

    def mark(self):
        self.n += 1
        return self.n

    def sync(self):
        self.syncs += 1

    def seconds(self, start, end):
        return self.durations[(end // 2) - 1]


def _slots(n, calls):
    return [H.Prepared(lambda i=i: (calls.append(i), torch.full((3,), float(i)))[1], lambda y: {"y": y})
            for i in range(n)]


def test_run_timed_stops_once_precise_and_times_each_slot_once_in_order():
    calls = []
    clock = ScriptedClock([1e-3] * 20)
    timing = H.run_timed(_slots(12, calls), clock, round_size=4)
    assert timing.stop == "precise"                         # identical times: SEM 0 after MIN_CALLS
    assert calls == list(range(8))                          # two whole rounds; each slot once, in order
    assert clock.flushes == 8 and clock.syncs == 2          # a flush per call, a sync per round
    assert timing.seconds == [1e-3] * 8
    assert [d[0][3] for d in timing.digests] == [H.digest({"y": torch.full((3,), float(i))})[0][3] for i in range(8)]
    assert torch.equal(timing.outputs[5]["y"], torch.full((3,), 5.0))


def test_run_timed_uses_up_the_pool_when_noisy():
    calls = []
    timing = H.run_timed(_slots(6, calls), ScriptedClock([1e-3, 3e-3] * 3), round_size=4)
    assert timing.stop == "pool" and calls == list(range(6)) and len(timing.seconds) == 6


def test_run_timed_stops_at_the_time_cap():
    calls = []

    def stop(values, elapsed, left):
        return H.stop_reason(values, elapsed, left, cap=0.0)

    timing = H.run_timed(_slots(9, calls), ScriptedClock([1e-3, 5e-3] * 5), round_size=2, stop=stop)
    assert timing.stop == "time" and len(calls) == 2


def test_warm_up_is_by_time_after_the_first_call():
    calls = []

    def call():
        calls.append(time.perf_counter())
        time.sleep(0.15 if len(calls) == 1 else 0.01)      # the first call "compiles"

    n, seconds = H.warm_up(H.Prepared(call, lambda _: {}), H.WallClock(), seconds=0.05)
    assert n == len(calls) >= 4                             # the compile does not count as warm-up time
    assert seconds >= 0.2


def test_a_reused_output_buffer_is_a_contract_error_not_skipped_work(monkeypatch):
    """A submission that returns the same buffer every call has, by the time outputs are revealed,
    overwritten the earlier calls' answers: it must be told that, not that it skipped work."""
    arena = torch.zeros(64 * 8)
    slices = iter(range(8))

    def driver(shared):
        def bench_call(module, params, inputs, device):
            # shared: one cached buffer; else each slot its own slice of one arena (distinct memory: fine)
            out = arena[:64] if shared else arena[64 * next(slices):][:64]
            return (lambda: out.copy_(inputs["x"])), (lambda y: {"y": y})
        return SimpleNamespace(bench_call=bench_call)

    monkeypatch.setattr(H, "WARMUP_SECONDS", 0.01)
    guards = SimpleNamespace(watching_call=H._nothing, forbidden_ops=frozenset())
    pool = [{"x": torch.full((64,), float(i))} for i in range(6)]
    for shared in (False, True):
        worker = W.BenchWorker(None, driver(shared), guards, "cpu", "torch", codec(), clock=H.WallClock())
        for inputs in pool:
            worker.handle({"op": "bench_load", "params": {}}, codec().dumps(inputs, "torch"))
        worker.handle({"op": "bench_warm"}, b"")
        if shared:
            with pytest.raises(Exception, match="same memory as an earlier timed call"):
                worker.handle({"op": "bench_run"}, b"")
            continue
        timed, _ = worker.handle({"op": "bench_run"}, b"")
        for index, slot in enumerate(H.timed_slots(len(pool))[:len(timed["seconds"])]):
            back = codec().loads(worker.handle({"op": "bench_output", "index": index}, b"")[1], "torch")
            assert torch.equal(back["y"], pool[slot]["x"]) and H.digest(back) == timed["digests"][index]


# ----------------------------------------------------------------------------- the protocol, end to end on the CPU

SIMULATION = textwrap.dedent('''
    """Runner and worker of the GPU protocol in one process, the worker side under the exercise's guards."""
    import json, os, pickle, sys, time, types, importlib.util
    sandbox, spec_path, out_path = sys.argv[1:4]
    sys.path.insert(0, sandbox)
    spec = json.load(open(spec_path))
    import torch
    if spec["framework"] == "triton":
        import triton
    import codec, gpu_timing, gpu_worker
    from guards import Guards

    violations = []
    guards = Guards(spec["rules"], lambda rule, detail: violations.append([rule, detail]))
    guards.install()
    loader = importlib.util.spec_from_file_location("driver", spec["driver"])
    driver = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(driver)
    module = types.ModuleType("submission")
    module.__file__ = spec["submission"]
    sys.modules["submission"] = module
    exec(compile(open(spec["submission"]).read(), spec["submission"], "exec"), module.__dict__)

    class PatchedClock(gpu_timing.WallClock):
        """What a submission that patched the timer would report: every call nearly free."""
        def seconds(self, start, end):
            return 1e-7

    clock = PatchedClock() if spec.get("patched_timer") else gpu_timing.WallClock()
    worker = gpu_worker.BenchWorker(module, driver, guards, "cpu", spec["io"], codec, clock=clock)
    gpu_timing.WARMUP_SECONDS = 0.05

    class Link:  # the runner's WorkerLink, without the pipes
        def send(self, header, payload=b""):
            self.request = (header, payload)
        def receive(self):
            try:
                fields, data = worker.handle(*self.request)
            except Exception as exc:
                return {"type": "error", "kind": "exception", "message": repr(exc)}, b""
            return {"type": "result", **fields}, data
        def abort(self, why):
            raise SystemExit(why)

    frames = []
    class Channel:
        def send(self, header, payload=b""):
            frames.append((json.loads(json.dumps(header)), payload, time.monotonic()))

    import bench
    bench.run_gpu_benches({"bench": spec["bench"]}, Link(), Channel())
    pickle.dump({"frames": frames, "violations": violations}, open(out_path, "wb"))
''')


def _simulate(tmp_path: Path, exercise_id: str, submission: Path, bench: PlannedBench, tag: str,
              patched_timer: bool = False) -> dict:
    exercise = get_exercise(exercise_id)
    inputs = []
    for i, item in enumerate(bench.pool):
        path = tmp_path / f"{tag}-{i}.pt"
        path.write_bytes(codec().dumps(item, exercise.io))
        inputs.append(str(path))
    entry = {"name": bench.case.name, "params": bench.case.params}
    entry.update({"seeds": bench.seeds} if bench.seeds else {"inputs": inputs})
    spec = {
        "framework": exercise.framework, "io": exercise.io, "submission": str(submission),
        "driver": str(paths.sandbox_dir() / "drivers" / f"{exercise_id}.py"),
        "rules": {"forbidden_imports": list(exercise.rules.forbidden_imports),
                  "allowed_imports": None if exercise.rules.allowed_imports is None
                  else list(exercise.rules.allowed_imports),
                  "forbidden_ops": list(exercise.rules.forbidden_ops),
                  "require_triton_launch": exercise.rules.require_triton_launch},
        "bench": [entry],
        "patched_timer": patched_timer,
    }
    spec_path, out_path, script = tmp_path / f"{tag}.json", tmp_path / f"{tag}.pkl", tmp_path / "simulate.py"
    spec_path.write_text(json.dumps(spec))
    script.write_text(SIMULATION)
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1")
    # The script stands in for the runner, which in the sandbox is another process: compiled under a
    # "<...>" name, its frames are nobody's, so the guards judge the worker's code as they do there.
    runner = "import sys; sys.argv = sys.argv[1:]; exec(compile(open(sys.argv[0]).read(), '<runner>', 'exec'))"
    done = subprocess.run([sys.executable, "-c", runner, str(script), str(paths.sandbox_dir()), str(spec_path),
                           str(out_path)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    data = pickle.loads(out_path.read_bytes())
    data["run"] = SimpleNamespace(frames=[Frame(h, p, t) for h, p, t in data["frames"]])
    return data


@pytest.fixture(scope="module")
def softmax_setup(tmp_path_factory):
    pack = load_pack(get_exercise("triton_softmax"))
    case = Case("bench_sim", {"M": 8, "N": 300, "dtype": "float32", "scale": 2.0}, seed=5, devices=("cpu",),
                kind="bench")
    pool = [pack.grader.make_inputs(case, 1000 + i) for i in range(7)]
    bench = PlannedBench(case, pool)
    folder = tmp_path_factory.mktemp("sim")
    job = Job(folder, folder / "job.json", folder / "submission.py", [], [], [bench])
    reference = pack.reference_path
    sub = _simulate(folder, "triton_softmax", reference, bench, "submission")
    ref = _simulate(folder, "triton_softmax", reference, bench, "reference")
    return SimpleNamespace(pack=pack, bench=bench, job=job, sub=sub, ref=ref, folder=folder)


def _cpu_sol():
    return SpeedOfLight(key="test", device="test cpu", kind="cpu", driver="n/a", cuda=None, torch=torch.__version__,
                        copy_gbps=10.0, fill_gbps=10.0, matmul_tflops={"float32": 0.1})


def _measure(setup, sub_run, result=None):
    result = result or GradeResult("triton_softmax", "", "", "", CaseStatus.PASSED, "")
    ctx = setup.pack.context("cpu")
    figure = measure_gpu(setup.job, setup.pack, ctx, [sub_run], lambda: setup.ref["run"], result,
                         speed_of_light=_cpu_sol, clock=H.WallClock(), device="cpu")
    return figure, result


def test_protocol_frames_under_the_softmax_rules(softmax_setup):
    """The worker's side breaks none of triton_softmax's rules (no torch sum, exp, item...), and frames come in order."""
    sub = softmax_setup.sub
    assert sub["violations"] == []
    events = [h["event"] for h, _, _ in sub["frames"]]
    assert events == ["bench_begin", "gpu_bench_start", "gpu_bench_end", "gpu_bench_drawn", "bench_output",
                      "bench_output", "gpu_bench_done"]
    start, end, drawn = (h for h, _, _ in sub["frames"][1:4])
    # the worker's claim matches what the host reads from the driver (whether it splits out the call)
    assert start["calls_at_most"] == 6 and start["exact"] is driver_splits_call("triton_softmax")
    assert start["warmup_calls"] >= 2
    assert 1 <= len(end["seconds"]) <= 6 and len(end["digests"]) == len(end["seconds"])
    assert len(drawn["indices"]) == min(2, len(end["seconds"]))


def test_host_verifies_and_measures_the_simulated_run(softmax_setup):
    figure, result = _measure(softmax_setup, softmax_setup.sub["run"])
    assert result.cases == [], [c.message for c in result.cases]
    assert figure.submission_seconds > 0 and figure.reference_seconds > 0
    case = figure.per_case[0] if hasattr(figure, "per_case") else None
    assert figure.gbps == pytest.approx(2 * 8 * 300 * 4 / figure.submission_seconds / 1e9, rel=1e-3)
    assert figure.sol_fraction == pytest.approx(figure.gbps / 10.0, rel=1e-3)
    assert figure.vs_torch is not None and figure.vs_torch > 0          # torch.softmax timed on the same pool
    assert figure.score is not None and 0 <= figure.score <= 1
    assert "calls" in figure.note and (case is None or case["source"] in ("events", "host"))


def _with(run, change):
    frames = []
    for f in run.frames:
        header, payload = change(dict(f.header), f.payload)
        frames.append(Frame(header, payload, f.arrived))
    return SimpleNamespace(frames=frames)


def test_outputs_that_differ_from_the_committed_digest_fail(softmax_setup):
    def tamper(header, payload):  # right answers, but not the ones committed while the clock ran
        if header["event"] == "gpu_bench_end":
            header["digests"] = [[["y", "float32", 2400, 12345]] for _ in header["digests"]]
        return header, payload

    figure, result = _measure(softmax_setup, _with(softmax_setup.sub["run"], tamper))
    assert [c.status for c in result.cases] == [CaseStatus.FAILED]
    assert "differ from the digest committed" in result.cases[0].message
    assert figure.score is None


def test_a_wrong_answer_with_a_matching_digest_fails(softmax_setup):
    wrong = {"y": torch.full((8, 300), 1 / 300.0)}
    committed = H.digest(wrong)

    def tamper(header, payload):
        if header["event"] == "bench_output":
            return header, codec().dumps(wrong, "torch")
        if header["event"] == "gpu_bench_end":
            header["digests"] = [committed for _ in header["digests"]]
        return header, payload

    _, result = _measure(softmax_setup, _with(softmax_setup.sub["run"], tamper))
    assert len(result.cases) == 1 and "wrong answer on timed call" in result.cases[0].message


def test_a_drawn_call_whose_outputs_never_come_back_fails(softmax_setup):
    run = softmax_setup.sub["run"]
    frames = [f for f in run.frames if f.header["event"] != "bench_output"]
    _, result = _measure(softmax_setup, SimpleNamespace(frames=frames))
    assert len(result.cases) == 1 and "did not hand back the outputs" in result.cases[0].message


def test_a_malformed_timing_report_fails(softmax_setup):
    def tamper(header, payload):
        if header["event"] == "gpu_bench_end":
            header["seconds"] = [-1.0] + header["seconds"][1:]
        return header, payload

    _, result = _measure(softmax_setup, _with(softmax_setup.sub["run"], tamper))
    assert len(result.cases) == 1 and "malformed timing report" in result.cases[0].message


def test_an_error_in_a_timed_call_fails_the_case(softmax_setup):
    frames = [Frame({"event": "case_error", "name": "bench_sim", "kind": "memory", "message": "CUDA out of memory"},
                    b"", 1.0)]
    figure, result = _measure(softmax_setup, SimpleNamespace(frames=frames))
    assert [c.status for c in result.cases] == [CaseStatus.MEMORY]
    assert figure.score is None


def test_a_patched_timer_gets_the_host_figure_not_its_own(softmax_setup, tmp_path):
    """The worker claims every call took 0.1 us; the host's window says otherwise."""
    patched = _simulate(tmp_path, "triton_softmax", softmax_setup.pack.reference_path, softmax_setup.bench,
                        "patched", patched_timer=True)
    honest, _ = _measure(softmax_setup, softmax_setup.sub["run"])
    figure, result = _measure(softmax_setup, patched["run"])
    assert result.cases == []
    assert figure.child_seconds == pytest.approx(1e-7)
    assert figure.submission_seconds > 100 * figure.child_seconds      # not the patched figure
    assert "host's figure is used" in figure.note
    # the floor is a lower bound on the real time: never above an honest run's per-call figure by much
    assert figure.submission_seconds < 5 * honest.submission_seconds


def test_protocol_with_a_driver_bench_call(tmp_path):
    """mixed_precision's driver splits the call (exact timing): the loop alone is timed, the outputs
    (losses, parameter samples, the scaler's scale as a number) are committed and checked."""
    pack = load_pack(get_exercise("mixed_precision"))
    params = {"d": 16, "hidden": 32, "classes": 8, "n_batches": 4, "batch": 8, "dtype": "bfloat16",
              "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "accum_steps": 2, "scaler": True, "init_scale": 1024.0}
    case = Case("bench_mp", params, seed=3, devices=("cpu",), kind="bench")
    bench = PlannedBench(case, [pack.grader.make_inputs(case, 500 + i) for i in range(5)])
    job = Job(tmp_path, tmp_path / "job.json", tmp_path / "s.py", [], [], [bench])
    sub = _simulate(tmp_path, "mixed_precision", pack.reference_path, bench, "submission")
    ref = _simulate(tmp_path, "mixed_precision", pack.reference_path, bench, "reference")
    start = sub["frames"][1][0]   # after bench_begin
    assert sub["violations"] == [] and start["exact"] is True
    end = sub["frames"][2][0]
    assert any(part[0] == "scaler_scale" for part in end["digests"][0])
    result = GradeResult("mixed_precision", "", "", "", CaseStatus.PASSED, "")
    figure = measure_gpu(job, pack, pack.context("cpu"), [sub["run"]], lambda: ref["run"], result,
                         speed_of_light=_cpu_sol, clock=H.WallClock(), device="cpu")
    assert result.cases == [], [c.message for c in result.cases]
    assert figure.vs_torch is not None                 # the float32 loop, timed on the same pool
    assert figure.tflops > 0 and figure.speedup is not None


def test_calibration_runs_inside_the_worker_s_rule_watch(monkeypatch):
    """The worker enters the rule watch (torch function and dispatch modes) around every call and
    collect of the window; the calibration of the harness's own cost enters it too."""
    seen = []
    real = H.run_timed

    def spy(slots, clock, **kwargs):
        seen.append(kwargs)
        return real(slots, clock, **kwargs)

    monkeypatch.setattr(H, "run_timed", spy)
    monkeypatch.setattr(H, "WARMUP_SECONDS", 0.01)
    calibrate({"y": torch.zeros(16)}, 3, H.WallClock(), "cpu", rules=get_exercise("triton_softmax").rules)
    assert seen and "guard" in seen[0] and "quiet" in seen[0]
    for context in (seen[0]["guard"], seen[0]["quiet"]):
        assert not torch._C._is_torch_function_mode_enabled()
        with context():
            assert torch._C._is_torch_function_mode_enabled()
    seen.clear()
    calibrate({"y": torch.zeros(16)}, 3, H.WallClock(), "cpu", rules=get_exercise("mixed_precision").rules)
    assert "guard" not in seen[0]                          # no forbidden ops: the worker enters no mode either


def test_drivers_that_split_the_call_are_read_from_their_source():
    assert driver_splits_call("mixed_precision") and driver_splits_call("cuda_matmul")
    assert not driver_splits_call("backprop_mlp")          # numpy, run() only


def test_calibration_digests_where_the_worker_did(softmax_setup, monkeypatch):
    """Without bench_call the worker digests outputs that run() already copied to the host: the
    calibration must do the same, not digest them on the device."""
    devices = []
    real = measure_module.calibrate

    def spy(outputs, calls, clock, device="cuda", **kwargs):
        devices.append(device)
        return real(outputs, calls, clock, "cpu", **kwargs)   # this machine has only a CPU

    monkeypatch.setattr(measure_module, "calibrate", spy)
    for splits, want in ((False, "cpu"), (True, "cuda")):
        monkeypatch.setattr(measure_module, "driver_splits_call", lambda exercise_id, splits=splits: splits)
        devices.clear()
        result = GradeResult("triton_softmax", "", "", "", CaseStatus.PASSED, "")
        measure_gpu(softmax_setup.job, softmax_setup.pack, softmax_setup.pack.context("cpu"),
                    [softmax_setup.sub["run"]], lambda: softmax_setup.ref["run"], result,
                    speed_of_light=_cpu_sol, clock=H.WallClock(), device="cuda")
        assert devices == [want] and result.cases == []


def test_the_reference_is_timed_once_per_runner_and_again_when_anything_changes(softmax_setup, tmp_path):
    from dlverify.gpu.reference_cache import ReferenceCache

    def measure(run_reference, cache):
        result = GradeResult("triton_softmax", "", "", "", CaseStatus.PASSED, "")
        return measure_gpu(softmax_setup.job, softmax_setup.pack, softmax_setup.pack.context("cpu"),
                           [softmax_setup.sub["run"]], run_reference, result, speed_of_light=_cpu_sol,
                           clock=H.WallClock(), device="cpu", reference_cache=cache)

    runs = []

    def reference():
        runs.append(1)
        return softmax_setup.ref["run"]

    cache = ReferenceCache(softmax_setup.pack, {"device": "test gpu", "driver": "1"}, folder=tmp_path)
    first = measure(reference, cache)
    assert runs == [1] and first.reference_seconds
    again = measure(reference, cache)
    assert runs == [1]                                   # no second sandbox for the reference
    assert again.reference_seconds == first.reference_seconds and "this runner's, measured" in again.note
    other = ReferenceCache(softmax_setup.pack, {"device": "test gpu", "driver": "2"}, folder=tmp_path)
    measure(reference, other)
    assert runs == [1, 1]                                # a new driver: timed afresh
    measure(reference, False)
    assert runs == [1, 1, 1]                             # no cache: timed in the grading


# ----------------------------------------------------------------------------- generated benches

def _generated_bench(exercise_id: str, params: dict, calls: int = 40) -> PlannedBench:
    """A bench whose inputs the driver makes from seeds, as on a GPU (here on the CPU)."""
    driver = load_pack(get_exercise(exercise_id)).context("cpu").driver
    case = Case("bench_gen", params, seed=7, devices=("cpu",), kind="bench")
    return PlannedBench(case, [], H.bench_seeds(12345, calls + 1),
                        lambda seed: driver.bench_inputs(dict(params), seed, "cpu"))


@pytest.mark.parametrize("exercise_id, params", [
    ("triton_softmax", {"M": 5, "N": 33, "dtype": "float16", "scale": 2.0}),
    ("cuda_matmul", {"M": 7, "N": 5, "K": 9}),
    ("attention", {"entry": "attention", "B": 2, "H": 2, "Lq": 8, "Lk": 6, "D": 4, "dtype": "bfloat16",
                   "causal": True, "backward": True}),
    ("mixed_precision", {"d": 8, "hidden": 16, "classes": 4, "n_batches": 2, "batch": 4, "dtype": "bfloat16",
                         "param_samples": 10}),
])
def test_generated_inputs_are_the_cases_own_shapes_and_the_same_bits_from_the_same_seed(exercise_id, params):
    pack = load_pack(get_exercise(exercise_id))
    bench = _generated_bench(exercise_id, params, calls=3)
    made = pack.grader.make_inputs(Case("x", params, seed=1), 1)
    first, again, other = bench.host_inputs(1), bench.host_inputs(1), bench.host_inputs(2)
    assert set(first) == set(made) - {"attn_mask"}
    for key, value in made.items():
        if key in first:
            assert first[key].shape == value.shape and first[key].dtype == value.dtype, key
            assert first[key].device.type == "cpu"
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    assert len(set(bench.seeds)) == len(bench.seeds)


@pytest.fixture(scope="module")
def generated_setup(tmp_path_factory):
    pack = load_pack(get_exercise("triton_softmax"))
    bench = _generated_bench("triton_softmax", {"M": 8, "N": 300, "dtype": "float32", "scale": 2.0})
    folder = tmp_path_factory.mktemp("gen")
    job = Job(folder, folder / "job.json", folder / "submission.py", [], [], [bench])
    sub = _simulate(folder, "triton_softmax", pack.reference_path, bench, "submission")
    ref = _simulate(folder, "triton_softmax", pack.reference_path, bench, "reference")
    return SimpleNamespace(pack=pack, bench=bench, job=job, sub=sub, ref=ref, folder=folder)


def test_a_generated_bench_sends_seeds_and_times_fresh_inputs_until_precise(generated_setup):
    sub = generated_setup.sub
    assert sub["violations"] == []                     # making the inputs breaks none of the exercise's rules
    by_event = {h["event"]: h for h, _, _ in sub["frames"]}
    start, end = by_event["gpu_bench_start"], by_event["gpu_bench_end"]
    assert start["calls_at_most"] == 40
    # more calls than any pool of files gave (7 at most), each on its own input
    assert 1 <= len(end["seconds"]) <= 40 and end["stop"] in ("precise", "pool", "time")
    assert len({json.dumps(d) for d in end["digests"]}) == len(end["digests"])


def test_the_host_checks_a_generated_bench_on_inputs_it_makes_again(generated_setup):
    figure, result = _measure(generated_setup, generated_setup.sub["run"])
    assert result.cases == [], [c.message for c in result.cases]
    assert figure.submission_seconds > 0 and figure.vs_torch is not None
    # a call answered for other inputs than its seed's is caught: the host's inputs decide
    bench = generated_setup.bench
    shifted = PlannedBench(bench.case, [], bench.seeds[1:] + bench.seeds[:1], bench.generate)
    setup = SimpleNamespace(**{**vars(generated_setup), "bench": shifted,
                               "job": Job(generated_setup.folder, generated_setup.folder / "job.json",
                                          generated_setup.folder / "s.py", [], [], [shifted])})
    _, result = _measure(setup, generated_setup.sub["run"])
    assert [c.status for c in result.cases] == [CaseStatus.FAILED] and "wrong answer" in result.cases[0].message


def test_generated_calls_stop_where_their_outputs_would_not_fit(monkeypatch):
    worker = W.BenchWorker(SimpleNamespace(softmax=lambda x: x.clone()), SimpleNamespace(
        bench_inputs=lambda params, seed, device: {"x": torch.full((256,), float(seed % 97))},
        bench_call=lambda module, params, inputs, device: (lambda: inputs["x"].clone(), lambda y: {"y": y})),
        SimpleNamespace(watching_call=contextlib_null, forbidden_ops=()), "cpu", "torch", codec(),
        clock=H.WallClock())
    monkeypatch.setattr(H, "CPU_OUTPUT_MEMORY", 256 * 4 * 6)   # six calls' outputs
    monkeypatch.setattr(H, "WARMUP_SECONDS", 0.0)
    worker.handle({"op": "bench_gen", "params": {}, "seeds": H.bench_seeds(1, 30)}, b"")
    warm, _ = worker.handle({"op": "bench_warm"}, b"")
    timed, _ = worker.handle({"op": "bench_run"}, b"")
    assert len(timed["seconds"]) <= 6
    for index in range(len(timed["seconds"])):
        back = codec().loads(worker.handle({"op": "bench_output", "index": index}, b"")[1], "torch")
        assert torch.equal(back["y"], torch.full((256,), float(H.bench_seeds(1, 30)[index + 1] % 97)))


def contextlib_null():
    import contextlib

    return contextlib.nullcontext()


# ----------------------------------------------------------------------------- with a GPU

@pytest.mark.gpu
@needs_gpu
def test_cuda_events_time_a_known_matmul():
    clock = H.CudaClock()
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    assert clock.flush_bytes >= 2 * props.L2_cache_size
    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    slots = [H.Prepared(lambda: a @ a, lambda c: {"c": c}) for _ in range(12)]
    H.warm_up(slots[0], clock, seconds=0.2)
    timing = H.run_timed(slots[1:], clock)
    s = stats.summarize(timing.seconds)
    tflops = 2 * 4096 ** 3 / s.median / 1e12
    assert 5 < tflops < 2500                         # a real matmul, timed by events, in a sane range
    assert timing.stop in ("precise", "pool", "time")


@pytest.mark.gpu
@needs_gpu
def test_flush_evicts_l2():
    """Reading half the L2's worth of data is slower right after the flush than right after
    reading it: the flush really empties the L2.

    The clock's hold keeps the GPU busy between the flush and the start event, so the events
    time the read alone. Without it, a 16 MiB read (a few microseconds) was hidden by the launch
    overhead between the events: on an H200 it measured 14.0 us after the flush, 19.2 us warm.
    """
    clock = H.CudaClock()
    x = torch.ones(clock.l2_bytes // 2 // 4, device="cuda")  # float32, half the L2
    warm, cold = [], []
    for _ in range(50):
        x.sum()                      # x now sits in the L2
        clock.hold()
        start, end = clock.mark(), (x.sum(), clock.mark())[1]
        clock.flush()                # evicts, then holds
        start2, end2 = clock.mark(), (x.sum(), clock.mark())[1]
        clock.sync()
        warm.append(clock.seconds(start, end))
        cold.append(clock.seconds(start2, end2))
    warm_s, cold_s = stats.summarize(warm).median, stats.summarize(cold).median
    print(f"L2 {clock.l2_bytes >> 20} MiB, read {x.numel() * 4 >> 20} MiB: warm {warm_s * 1e6:.2f} us, "
          f"after the flush {cold_s * 1e6:.2f} us")
    assert cold_s > 1.15 * warm_s, (warm_s, cold_s)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.slow
def test_grading_twice_gives_throughput_within_two_percent():
    from dlverify.engine import grade

    figures = []
    for _ in range(2):
        result = grade("triton_softmax", paths.graders_dir() / "triton_softmax" / "reference.py", device="cuda")
        assert result.passed, result.summary
        assert result.throughput is not None and result.throughput.submission_seconds, result.throughput
        figures.append(result.throughput.submission_seconds)
    print(f"triton_softmax reference graded twice: {[f * 1e3 for f in figures]} ms, spread {stats.spread(figures):.2%}")
    assert stats.spread(figures) < 0.02, figures
