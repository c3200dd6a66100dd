"""doctor: a runner checks itself (each sandbox layer, CUDA, Triton and nvcc inside the sandbox, Docker)."""

from __future__ import annotations

import argparse

from ..outcome import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check that this machine can grade: sandbox layers, and on a GPU, CUDA, "
                                      "Triton and load_inline inside the sandbox")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="what to check for: cpu (the sandbox alone) or cuda (a GPU runner)")
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"],
                   help="docker: the Docker engine and image must work too; auto: checked when an engine answers")
    p.add_argument("--gpu", type=int, default=None, metavar="N",
                   help="the GPU to check, numbered as nvidia-smi does (default: the first this process may use)")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args, env) -> int:
    from ..doctor import FAILED, run_checks
    from ..launch.environment import cuda_available
    from ..launch.gpus import GpuChoiceError, physical_gpu

    if args.device == "cuda" and not cuda_available():
        env.stderr.write("dlverify: --device cuda: no CUDA device is visible on this machine\n")
        return ExitCode.USAGE
    if args.gpu is not None and args.gpu < 0:
        env.stderr.write("dlverify: --gpu must be a GPU index (0, 1, ...)\n")
        return ExitCode.USAGE
    try:
        gpu = physical_gpu(args.gpu) if args.device == "cuda" else None
    except GpuChoiceError as exc:
        env.stderr.write(f"dlverify: {exc}\n")
        return ExitCode.USAGE
    with env.err_console.status("checking this runner") as status:
        checks = run_checks(args.device, args.sandbox, gpu, progress=lambda msg: status.update(msg))
    width = max(len(c.name) for c in checks)
    for check in checks:
        # plain lines: read in terminals and CI logs alike, never wrapped into a table
        env.stdout.write(f"{check.state:<9} {check.name:<{width}}  {check.detail}\n")
    failed = [c.name for c in checks if c.state == FAILED]
    env.stdout.write(f"doctor: {len(checks) - len(failed)} of {len(checks)} checks not failed"
                     + (f"; failed: {', '.join(failed)}\n" if failed else "\n"))
    return ExitCode.NOT_PASSED if failed else ExitCode.OK
