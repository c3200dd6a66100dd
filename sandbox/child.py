"""The sandbox child: the only process that ever runs candidate code.

    python -I child.py JOB.json START_CASE RUN_BENCH CHANNEL_FD

It reads the job (case parameters and paths of input files, never the
reference, the hidden-case file or the secret seed), loads the submission as
the module `submission`, runs each case through the exercise's driver and
sends back every output as data on the channel (an inherited pipe). It decides nothing:
the host compares, times and builds the result.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from channel import Channel  # noqa: E402
import codec  # noqa: E402

TRACEBACK_CHARS = 2000


def trimmed_traceback(exc: BaseException, submission_path: str) -> str:
    """The candidate's part of a traceback: frames from the submission, then the error."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == submission_path]
    lines = traceback.format_list(frames[-6:]) if frames else []
    text = "".join(lines) + "".join(traceback.format_exception_only(type(exc), exc))
    return text[-TRACEBACK_CHARS:]


def describe(exc: BaseException) -> str:
    return str(exc).strip()[:500] or type(exc).__name__


def load_submission(path: str):
    import types

    source = open(path, encoding="utf-8").read()
    module = types.ModuleType("submission")
    module.__file__ = path
    sys.modules["submission"] = module
    code = compile(source, path, "exec")
    exec(code, module.__dict__)
    return module


def load_driver(path: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location("driver", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "memory"
    if type(exc).__name__ == "OutOfMemoryError":  # torch.cuda.OutOfMemoryError
        return "memory"
    if type(exc).__name__ == "ContractError":
        return "contract"
    if isinstance(exc, SystemExit):
        return "exit"
    return "exception"


def main(argv: list[str]) -> None:
    job = json.load(open(argv[1], encoding="utf-8"))
    start_case = int(argv[2])
    run_bench = argv[3] == "1"
    # A local sandbox passes an inherited pipe's number; Docker a FIFO's path.
    target = argv[4]
    channel = Channel(int(target) if target.isdigit() else os.open(target, os.O_WRONLY))
    io_kind = job["io"]
    submission_path = job["submission"]

    # Heavy libraries first, before any hook, so their own imports are not the
    # candidate's. numpy-only exercises never import torch here.
    import numpy  # noqa: F401

    if io_kind == "torch":
        import torch

        torch.set_num_threads(max(1, int(job.get("threads", 1))))
    if job["framework"] == "triton":
        import triton  # noqa: F401  (TRITON_INTERPRET is set by the host's environment)

    from guards import Guards

    guards = Guards(job["rules"], lambda rule, detail: channel.send(
        {"event": "violation", "rule": rule, "detail": detail}))
    guards.install_import_hook()
    guards.count_triton_launches()
    driver = load_driver(job["driver"])

    try:
        module = load_submission(submission_path)
    except BaseException as exc:  # noqa: BLE001 - everything the candidate raises is data
        channel.send({"event": "load_error", "kind": error_kind(exc),
                      "message": trimmed_traceback(exc, submission_path)})
        os._exit(0)
    missing = [name for name in job["entry_points"] if not hasattr(module, name)]
    if missing:
        channel.send({"event": "load_error", "kind": "contract",
                      "message": f"the submission does not define {', '.join(missing)}"})
        os._exit(0)
    channel.send({"event": "ready"})

    def run_one(params, inputs_path):
        inputs = codec.loads(open(inputs_path, "rb").read(), io_kind)
        launches_before = guards.triton_launches
        with guards.watching_ops():
            outputs = driver.run(module, params, inputs, job["device"])
        if guards.require_triton_launch and guards.triton_launches == launches_before:
            guards._violate("triton-launch", "the call launched no @triton.jit kernel")
        return codec.dumps(outputs, io_kind)

    for case in job["cases"][start_case:]:
        channel.send({"event": "case_start", "name": case["name"]})
        started = time.perf_counter()
        try:
            payload = run_one(case["params"], case["inputs"])
        except BaseException as exc:  # noqa: BLE001
            kind = error_kind(exc)
            message = describe(exc) if kind == "contract" else trimmed_traceback(exc, submission_path)
            channel.send({"event": "case_error", "name": case["name"], "kind": kind, "message": message})
            continue
        channel.send({"event": "case_end", "name": case["name"],
                      "child_seconds": time.perf_counter() - started}, payload)

    if run_bench:
        from bench import run_benches

        run_benches(job, run_one, channel, lambda exc: trimmed_traceback(exc, submission_path), error_kind)

    channel.send({"event": "done"})
    # os._exit: no atexit handlers, no waiting on threads the candidate left behind.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
