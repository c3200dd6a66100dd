"""Do the grader's GPU timings agree with the field's own tool? (the target: within 3%)

    python benchmarks/do_bench_agreement.py [--out FILE]

Grades the triton_softmax reference on the GPU, in the sandbox, with
throughput on; then, in this process and the same run, times the same
reference kernel on the same bench shapes with triton.testing.do_bench
(which flushes the L2 before each call, as the grader does). Prints, per
bench case, the grading's per-call time, do_bench's median, and their ratio,
and writes them to FILE (default benchmarks/results/do-bench-<device>.json).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.03


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("do_bench_agreement: needs a CUDA device", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    import triton
    import triton.testing

    from dlverify.engine import grade
    from dlverify.packs.loading import load_module_from_path, load_pack
    from dlverify.packs.registry import get_exercise

    pack = load_pack(get_exercise("triton_softmax"))
    result = grade("triton_softmax", pack.reference_path, device="cuda", sandbox="local")
    per_case = result.throughput.per_case if result.throughput else []
    if not result.passed or not per_case:
        print(f"do_bench_agreement: the reference did not grade with figures: {result.summary}", file=sys.stderr)
        return 1
    reference = load_module_from_path("_agreement_reference", pack.reference_path)
    driver = pack.context("cuda").driver
    rows = []
    for figures in per_case:
        case = next(c for c in pack.bench_cases("cuda") if c.name == figures["case"])
        x = driver.bench_inputs(case.params, 1, "cuda")["x"]
        seconds = triton.testing.do_bench(lambda: reference.softmax(x), warmup=100, rep=500,
                                          return_mode="median") / 1e3
        ratio = figures["seconds"] / seconds
        rows.append({"case": case.name, "shape": figures["shape"], "grading_seconds": figures["seconds"],
                     "grading_calls": figures["calls"], "grading_stop": figures["stop"],
                     "grading_rel_sem": figures["events"]["rel_sem"], "do_bench_seconds": seconds,
                     "ratio": ratio, "within_target": abs(ratio - 1) <= TARGET})
        print(f"{case.name}: grading {figures['seconds'] * 1e6:.1f} us/call ({figures['calls']} calls, "
              f"{figures['stop']}, rel. SEM {figures['events']['rel_sem']:.2%}), do_bench {seconds * 1e6:.1f} us, "
              f"ratio {ratio:.3f} ({'within' if abs(ratio - 1) <= TARGET else 'OUTSIDE'} {TARGET:.0%})")
    record = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "triton": triton.__version__,
              "cuda": torch.version.cuda, "measured_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "grading_wall_phases": result.phases, "cases": rows}
    slug = "".join(ch if ch.isalnum() else "-" for ch in record["device"].lower()).strip("-")
    out = args.out or ROOT / "benchmarks" / "results" / f"do-bench-{slug}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"written to {out}")
    return 0 if all(r["within_target"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
