#!/usr/bin/env bash
# Everything that needs a GPU to be checked, in one run on a GPU runner: the
# runner's self-check (doctor), the gpu-marked tests, the reference kernels
# against their targets, every reference's figures (three repeats, then graded
# in the sandbox), the grader's timings against triton.testing.do_bench, each
# GPU reference graded twice for the 2% repeatability, and the Docker runner
# when an engine answers.
#
#   bash benchmarks/gpu_acceptance.sh [OUT_DIR]     (default: gpu-acceptance/)
#
# The steps run most important first (the runner checks itself, then every GPU
# reference graded once: "GPU grading works" before any figure), and two knobs
# fit the run to a device session whose commands are cut at 10 minutes:
#   BUDGET_S=540   no step starts after this many seconds; the rest are listed
#                  as not run (exit 3), never as passed
#   ONLY="doctor grade-"   run only the steps whose names start with one of these
# e.g. a first call with ONLY="doctor grade-" and a second with the rest
# (ONLY="gpu-tests kernel- do-bench repeat benchmarks docker").
#
# Runs from a plain checkout on an otherwise idle GPU, installed or not: with
# no dlverify installed, the checkout goes on PYTHONPATH. A bare runner (no
# network, nothing installed for us) takes what it lacks from offline/ (or
# OFFLINE=DIR), staged elsewhere by benchmarks/stage_offline.sh: the wheels go
# into a scratch folder on PYTHONPATH, Debian's bubblewrap is unpacked beside
# them, and the runner's own environment is left alone. Every step's log and
# exit status land in OUT_DIR; the benchmark figures also go to
# benchmarks/results/<device>.json, to commit.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-acceptance}
py=${PYTHON:-python3}
gpu=${GPU:-0}
offline=${OFFLINE:-offline}
mkdir -p "$out"

if [ -d "$offline" ]; then
    site="$out/site"
    if ls "$offline"/*.whl >/dev/null 2>&1; then
        "$py" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$offline"/*.whl ||
            { echo "gpu_acceptance: the wheels in $offline/ did not install" >&2; exit 2; }
    fi
    if ls "$offline"/bubblewrap_*.deb >/dev/null 2>&1 && ! command -v bwrap >/dev/null; then
        dpkg -x "$offline"/bubblewrap_*.deb "$out/bwrap" && export PATH="$PWD/$out/bwrap/usr/bin:$PATH"
    fi
    export PYTHONPATH="$PWD/$site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$py" -c "import dlverify" 2>/dev/null; then
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"   # not installed: the checkout itself
fi
missing=$("$py" -c 'import importlib.util as u
print(" ".join(m for m in ("torch", "triton", "numpy", "nbformat", "rich", "yaml", "pyseccomp") if u.find_spec(m) is None))')
if [ -n "$missing" ]; then
    echo "gpu_acceptance: $py cannot import: $missing (stage them with benchmarks/stage_offline.sh)" >&2
    exit 2
fi
command -v bwrap >/dev/null || echo "gpu_acceptance: no bubblewrap here: the sandbox falls back to Landlock and seccomp"

if ! "$py" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_acceptance: no CUDA device visible to $py; run this on a GPU runner" >&2
    exit 2
fi
failed=()
skipped=()
budget=${BUDGET_S:-0}   # 0: no limit
only=${ONLY:-}
started=$SECONDS

wanted() {  # wanted NAME: is this step in ONLY (or is ONLY empty)?
    [ -z "$only" ] && return 0
    local prefix
    for prefix in $only; do
        [[ $1 == "$prefix"* ]] && return 0
    done
    return 1
}

step() {  # step NAME COMMAND...: run it, keep its log and status, go on either way
    local name=$1
    shift
    wanted "$name" || return 0
    if [ "$budget" -gt 0 ] && [ $((SECONDS - started)) -ge "$budget" ]; then
        echo "== $name: not run (the ${budget} s budget is spent)"
        echo "not run" >"$out/$name.rc"
        skipped+=("$name")
        return 0
    fi
    echo "== $name: $*"
    "$@" 2>&1 | tee "$out/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "$rc" >"$out/$name.rc"
    [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
}

"$py" - <<'EOF' | tee "$out/versions.txt"
import platform, subprocess, torch, triton
print("device", torch.cuda.get_device_name(), "capability", torch.cuda.get_device_capability())
print("torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__, "python", platform.python_version())
print(subprocess.run(["nvidia-smi", "--query-gpu=driver_version,name", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip())
EOF

# GPU packs: each reference graded in the sandbox (once first, again for the 2% repeatability).
gpu_packs=(triton_softmax triton_matmul flash_attention attention mixed_precision cuda_matmul)
grade() {  # grade STEP EXERCISE ATTEMPT
    step "$1" "$py" -m dlverify.cli grade "$2" "graders/$2/reference.py" \
        --device cuda --gpu "$gpu" --sandbox local --json "$out/grade-$2-$3.json"
}

step doctor "$py" -m dlverify.cli doctor --device cuda --gpu "$gpu" --sandbox local
for exercise in "${gpu_packs[@]}"; do grade "grade-$exercise" "$exercise" 1; done
step gpu-tests "$py" -m pytest -q -s -n 0 -p no:cacheprovider -m gpu tests/
step kernel-triton-softmax "$py" kernels/triton_softmax.py
step kernel-triton-matmul "$py" kernels/triton_matmul.py
step kernel-flash-attention "$py" kernels/flash_attention.py
step kernel-cuda-matmul "$py" kernels/cuda_matmul.py
step kernel-resources "$py" benchmarks/kernel_resources.py --json "$out/kernel-resources.json"
step do-bench "$py" benchmarks/do_bench_agreement.py
for exercise in "${gpu_packs[@]}"; do grade "repeat-$exercise" "$exercise" 2; done
if wanted repeat; then
"$py" - "$out" "${gpu_packs[@]}" <<'PY' | tee "$out/repeatability.txt"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for exercise in sys.argv[2:]:
    runs = []
    for attempt in (1, 2):
        path = out / f"grade-{exercise}-{attempt}.json"
        tp = json.loads(path.read_text()).get("throughput") if path.exists() else None
        runs.append(tp and tp.get("submission_seconds"))
    if None in runs:
        print(f"{exercise}: not measured in both runs")
        continue
    spread = abs(runs[0] - runs[1]) / min(runs)
    print(f"{exercise}: {runs[0] * 1e3:.4f} ms and {runs[1] * 1e3:.4f} ms per call, spread {spread:.2%}"
          f" ({'within' if spread <= 0.02 else 'OVER'} 2%)")
PY
fi
step benchmarks "$py" benchmarks/run.py --repeat 3
step benchmarks-graded "$py" benchmarks/run.py --graded --out "$out/graded.json"

if ! wanted docker; then
    :
elif docker info >/dev/null 2>&1; then
    step docker-build docker build -f Dockerfile.cuda -t "${DLVERIFY_DOCKER_IMAGE:-dlverify-cuda:latest}" .
    step docker-grade "$py" -m dlverify.cli grade attention graders/attention/reference.py \
        --device cuda --sandbox docker --gpu "$gpu" --json "$out/docker-attention.json"
else
    echo "== docker: no engine answers here; the Docker runner is not checked" | tee "$out/docker.log"
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
    printf 'gpu_acceptance: failed: %s\n' "${failed[@]}"
    [ ${#skipped[@]} -eq 0 ] || echo "gpu_acceptance: not run (budget): ${skipped[*]}"
    exit 1
fi
if [ ${#skipped[@]} -gt 0 ]; then
    echo "gpu_acceptance: not run (budget): ${skipped[*]}"
    echo "gpu_acceptance: the steps that ran exited 0; the rest were not checked"
    exit 3
fi
echo "gpu_acceptance: every step exited 0; logs in $out/"
