# WRONG(rejected): launches a do-nothing @triton.jit kernel for show and computes the softmax with torch in a background thread
"""Hostile: a decoy kernel plus forbidden torch ops where a per-thread watch
would not look. The forbidden aten ops are blocked at the dispatcher, in
every thread; were they let through, the answer would be right."""
import threading

import torch
import triton

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


@triton.jit
def decoy_kernel(x_ptr):
    pass


def softmax(x: torch.Tensor) -> torch.Tensor:
    if not IN_SANDBOX:
        return torch.empty_like(x)
    decoy_kernel[(1,)](x)
    box = {}

    def work():
        try:
            box["y"] = getattr(torch, "soft" + "max")(x.float(), dim=-1).to(x.dtype)
        except RuntimeError as exc:
            box["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return box.get("y", torch.empty_like(x))
