"""A runner's self-test inside a real sandbox (`dlverify doctor`): no candidate code, only ours.

    python -I -B -u probe.py FRAMEWORK DEVICE CHANNEL_FD

Launched by the host exactly as a grading's child is (same layers, same
environment), it confines itself as the worker would, runs the worker's
preflight (CUDA, a Triton kernel compiled and run, nvcc and ninja), and for a
CUDA C++ runner builds and runs a tiny torch extension with load_inline, as
the cuda_matmul exercise does. One "probe" frame reports it all.
"""

from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from channel import Channel  # noqa: E402

EXTENSION_CPP = "torch::Tensor add_one(torch::Tensor x);"
EXTENSION_CUDA = r"""
#include <torch/extension.h>
__global__ void add_one_kernel(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] + 1.0f;
}
torch::Tensor add_one(torch::Tensor x) {
    auto y = torch::empty_like(x);
    int n = x.numel();
    add_one_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}
"""


def build_extension() -> str | None:
    """None when a load_inline extension builds and adds one to 1000 floats on the GPU, else why not."""
    try:
        import torch
        from torch.utils.cpp_extension import load_inline

        folder = os.path.join(os.environ.get("TMPDIR") or "/tmp", "probe_extension")
        os.makedirs(folder, exist_ok=True)
        module = load_inline("dlverify_probe", cpp_sources=EXTENSION_CPP, cuda_sources=EXTENSION_CUDA,
                             functions=["add_one"], build_directory=folder, verbose=False)
        x = torch.arange(1000, dtype=torch.float32, device="cuda")
        if not torch.equal(module.add_one(x), x + 1):
            return "the extension built and ran, but computed the wrong answer"
    except Exception as exc:  # noqa: BLE001 - every failure is the report
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[-600:]}"
    return None


def main(argv: list[str]) -> None:
    framework, device = argv[1], argv[2]
    channel = Channel(int(argv[3]))
    report: dict = {"event": "probe", "framework": framework, "device": device}
    import numpy  # noqa: F401

    if framework != "numpy":
        import torch  # noqa: F401  (imported before the confinement, as the runner does)
    from worker import confine

    try:
        report["confined"] = confine({"framework": framework, "device": device}, HERE)
    except OSError as exc:
        report["confined"] = f"not confined: {exc}"
    import preflight

    checks = {}
    if device == "cuda":
        checks["cuda"] = preflight.cuda
        if framework == "triton":
            checks["triton"] = preflight.triton
        if framework == "cuda":
            checks["toolchain"] = preflight.cuda_toolchain
            checks["extension"] = lambda: [problem] if (problem := build_extension()) else []
    for name, check in checks.items():
        started = time.monotonic()
        problems = check()
        report[name] = {"problems": [str(p)[:800] for p in problems],
                        "seconds": round(time.monotonic() - started, 3)}
        if problems and name == "cuda":
            break  # nothing else can work without the driver
    channel.send(report)


if __name__ == "__main__":
    main(sys.argv)
