"""Throughput of each exercise's reference solution against the speed of light and against torch.

    python benchmarks/run.py                     # every exercise, this machine's device
    python benchmarks/run.py attention --repeat 3
    python benchmarks/run.py --graded            # GPU: through the grader (sandbox, cross-check)

For every bench case of the device (graders/<id>/cases.toml, kind = "bench")
it prints the work per call (bytes, FLOPs), the reference's time per call,
GB/s or TFLOP/s, the fraction of the measured speed of light and of the
datasheet peak, and the ratio against torch's own implementation timed in
the same run on the same inputs. The timing is the grader's own harness
(sandbox/gpu_timing.py: warm-up by time, L2 flush, CUDA events, one fresh
input per call, stop at 1% relative standard error), run in this process on
trusted code. With --graded, each reference is graded in the sandbox instead,
so the figures are the ones a submission would get.

On a GPU the entries are written to benchmarks/results/<device>.json. On a
CPU the figures are indicative only (a shared machine, perf_counter, Triton
under its interpreter) and nothing is written unless --write is given; the
GPU cases, and cuda_matmul entirely, need a GPU.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import sys
from pathlib import Path

import torch

HAVE_CUDA = torch.cuda.is_available()
if not HAVE_CUDA:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before anything imports triton

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dlverify import paths  # noqa: E402
from dlverify.packs.cases import case_seed, new_run_secret  # noqa: E402
from dlverify.launch.environment import versions  # noqa: E402
from dlverify.gpu import harness, stats, worker_harness  # noqa: E402
from dlverify.gpu.crosscheck import cross_check  # noqa: E402
from dlverify.gpu.measure import GpuRun, case_figures, time_torch  # noqa: E402
from dlverify.gpu.sol import driver_version, speed_of_light  # noqa: E402
from dlverify.launch.jobs import PlannedBench  # noqa: E402
from dlverify.packs.loading import load_module_from_path, load_pack  # noqa: E402
from dlverify.packs.registry import EXERCISE_IDS, get_exercise  # noqa: E402

CPU_POOL = 4        # one warm-up slot and three timed calls: CPU figures are indicative anyway
GPU_POOL = 10       # when a case sets no pool: one warm-up slot and up to nine timed calls
RESULTS = ROOT / "benchmarks" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("exercises", nargs="*", default=list(EXERCISE_IDS))
    parser.add_argument("--repeat", type=int, default=1, help="measure each case N times and report the spread")
    parser.add_argument("--graded", action="store_true", help="GPU: grade each reference in the sandbox")
    parser.add_argument("--write", action="store_true", help="write the results file on a CPU too")
    parser.add_argument("--out", type=Path, default=None, help="results file (default benchmarks/results/<device>.json)")
    args = parser.parse_args(argv)
    device = "cuda" if HAVE_CUDA else "cpu"
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/run.py"] + (argv or sys.argv[1:]))

    sol = speed_of_light(device)
    print(f"device: {sol.device} ({device}); driver {sol.driver}, CUDA {sol.cuda}, torch {sol.torch}, "
          f"triton {versions().get('triton')}")
    print(f"speed of light (measured): copy {sol.copy_gbps:.4g} GB/s; matmul "
          + ", ".join(f"{k} {v:.4g} TFLOP/s" for k, v in sol.matmul_tflops.items()))
    if sol.datasheet:
        print(f"datasheet ({sol.datasheet['name']}): {sol.datasheet['gbps']:.0f} GB/s; "
              + ", ".join(f"{k} {v} TFLOP/s" for k, v in sol.datasheet["tflops"].items()))
    if device == "cpu":
        print("no GPU here: CPU figures below are indicative only; GPU figures need a GPU run")

    entries, failed = [], []
    for exercise_id in args.exercises:
        exercise = get_exercise(exercise_id)
        pack = load_pack(exercise)
        cases = pack.bench_cases(device)
        if exercise.needs_gpu and device == "cpu" or not cases:
            print(f"\n{exercise_id}: no {device} bench case" + (" (needs a GPU)" if exercise.needs_gpu else ""))
            continue
        print(f"\n{exercise_id}")
        repeats = max(1, args.repeat)
        try:
            graded = [grade_exercise(pack, device) for _ in range(repeats)] if args.graded else None
        except Exception as exc:  # noqa: BLE001 - one exercise failing must not cost the others' figures
            failed.append(exercise_id)
            print(f"  failed: {type(exc).__name__}: {str(exc)[:500]}")
            continue
        for case in cases:
            try:
                if graded is not None:
                    figures = [next((c for c in per_case if c["case"] == case.name), None) for per_case in graded]
                else:
                    figures = [time_case(pack, case, device, sol) for _ in range(repeats)]
            except Exception as exc:  # noqa: BLE001 - e.g. out of memory, or an extension that does not build
                failed.append(f"{exercise_id}:{case.name}")
                print(f"  {case.name}: failed: {type(exc).__name__}: {str(exc)[:500]}")
                if device == "cuda":
                    torch.cuda.empty_cache()
                continue
            figures = [f for f in figures if f]
            if not figures:
                continue
            entry = entry_for(exercise_id, figures, sol, device, command)
            entries.append(entry)
            print("  " + describe(entry))
    if device == "cuda" or args.write:
        write(entries, args.out or RESULTS / f"{slug(sol.device)}.json")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


_references: dict = {}


def reference_module(pack):
    """The exercise's reference, loaded once per run: cuda_matmul's builds its CUDA extension when
    it is imported (about a minute, in a fresh folder each time), so not once per case and repeat."""
    if pack.exercise.id not in _references:
        _references[pack.exercise.id] = load_module_from_path(f"_bench_reference_{pack.exercise.id}",
                                                              pack.reference_path)
    return _references[pack.exercise.id]


def time_case(pack, case, device: str, sol) -> dict | None:
    """The reference on a fresh pool, in this process, with the grader's harness."""
    H = harness()
    ctx = pack.context(device)
    secret = new_run_secret()
    size = int(case.params.get("pool", CPU_POOL if device == "cpu" else GPU_POOL))
    if device == "cpu":
        size = min(size, CPU_POOL)
    pool = [pack.grader.make_inputs(case, case_seed(secret, case, salt=str(i))) for i in range(size)]
    bench = PlannedBench(case, pool)
    sys.path.insert(0, str(paths.sandbox_dir()))  # drivers import contract.py from there
    driver = ctx.driver
    reference = reference_module(pack)
    clock = H.CudaClock() if device == "cuda" else H.WallClock()
    slots, exact = [], True
    for inputs in pool:
        prepared, exact = worker_harness().split_call(driver, reference, case.params, H.to_device(inputs, device), device)
        slots.append(prepared)
    H.warm_up(slots[0], clock)
    timing = H.run_timed([slots[s] for s in H.timed_slots(len(slots))], clock)
    del slots
    try:
        torch_seconds, label = time_torch(pack.exercise.id, bench, ctx, clock, device)
    except Exception as exc:  # noqa: BLE001 - a baseline that cannot run costs its ratio only
        print(f"  ({case.name}: torch baseline failed: {type(exc).__name__}: {exc})")
        torch_seconds, label = [], ""
    run = GpuRun(case.name, end={"seconds": timing.seconds, "stop": timing.stop})
    checked = cross_check(timing.seconds, None, 0.0)  # trusted code: the events stand
    figure = case_figures(pack.exercise.id, bench, run, checked, checked, torch_seconds, label, sol)
    figure["exact"] = exact or device == "cpu"  # on the CPU there is no copy to the host to time
    return figure


def grade_exercise(pack, device: str) -> list[dict]:
    """GPU only: the reference graded in the sandbox; the per-case figures the grader reports."""
    from dlverify.engine import grade

    if device != "cuda":
        raise SystemExit("--graded needs a GPU")
    result = grade(pack.exercise.id, pack.reference_path, device="cuda")
    per_case = getattr(result.throughput, "per_case", None) or []
    if not per_case:
        print(f"  (not graded: {result.summary}; {result.throughput.note if result.throughput else ''})")
    return per_case


def entry_for(exercise_id: str, figures: list[dict], sol, device: str, command: str) -> dict:
    """One results entry: the median run's figures, the spread over repeats, versions, the command."""
    figures = sorted(figures, key=lambda f: f["seconds"])
    middle = figures[len(figures) // 2]
    return {
        "kernel": f"{exercise_id}:{middle['case']}", "exercise": exercise_id, "case": middle["case"],
        "shape": middle["shape"], "dtype": middle["dtype"], "bound": middle["bound"],
        "bytes": middle["bytes"], "flops": middle["flops"], "seconds": middle["seconds"],
        "gbps": middle["gbps"], "tflops": middle["tflops"], "steps_per_second": middle["steps_per_second"],
        "sol_fraction": middle["sol_fraction"], "datasheet_fraction": middle["datasheet_fraction"],
        "vs_torch": middle["vs_torch"], "torch": middle["torch"], "calls": middle["calls"], "stop": middle["stop"],
        "rel_sem": middle["events"]["rel_sem"],
        "spread": stats.spread([f["seconds"] for f in figures]) if len(figures) > 1 else None,
        "repeats": len(figures), "indicative": device == "cpu", "timed_span_exact": middle.get("exact", True),
        "device": {"name": sol.device, "kind": device, "driver": sol.driver if device == "cuda" else None,
                   "cuda": sol.cuda},
        "speed_of_light": {"copy_gbps": sol.copy_gbps, "matmul_tflops": sol.matmul_tflops,
                           "datasheet": sol.datasheet["name"] if sol.datasheet else None},
        "versions": {**versions(), "cuda": torch.version.cuda,
                     "driver": driver_version() if device == "cuda" else None},
        "command": command,
        "measured_at": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
    }


def describe(e: dict) -> str:
    work = f"{e['bytes'] / 2**20:.1f} MiB, {e['flops'] / 1e9:.3g} GFLOP per call"
    speed = f"{e['gbps']:.4g} GB/s" if e["bound"] == "memory" else f"{e['tflops']:.4g} TFLOP/s"
    parts = [f"{e['case']}: {e['shape']}", work, f"{e['seconds'] * 1e3:.4g} ms", speed]
    if e["steps_per_second"]:
        parts.append(f"{e['steps_per_second']:.4g} steps/s")
    if e["sol_fraction"] is not None:
        parts.append(f"{e['sol_fraction']:.3f} of SOL")
    if e["datasheet_fraction"] is not None:
        parts.append(f"{e['datasheet_fraction']:.3f} of datasheet")
    if e["vs_torch"] is not None:
        parts.append(f"{e['vs_torch']:.3g}x {e['torch']}")
    parts.append(f"{e['calls']} calls ({e['stop']}), rel. SEM {e['rel_sem']:.2%}")
    if e["spread"] is not None:
        parts.append(f"spread {e['spread']:.2%} over {e['repeats']} runs")
    if not e["timed_span_exact"]:
        parts.append("timed span includes the driver's copies")
    return " | ".join(parts)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "device"


def write(entries: list[dict], path: Path) -> None:
    """Merge into the device's file: this run's entries replace those of the same kernel, and
    the kernels it did not run (a run of one exercise, or one that failed) keep their figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        earlier = json.loads(path.read_text()) if path.exists() else []
    except ValueError:
        earlier = []
    fresh = {e["kernel"] for e in entries}
    kept = [e for e in earlier if isinstance(e, dict) and e.get("kernel") not in fresh]
    path.write_text(json.dumps(kept + entries, indent=1) + "\n")
    print(f"\nwrote {len(entries)} entries to {path}" + (f" ({len(kept)} kept from earlier runs)" if kept else ""))


if __name__ == "__main__":
    sys.exit(main())
