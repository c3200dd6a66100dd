# WRONG(failed|rejected): hunts the trusted reference on disk (graders/, relative and absolute, /proc/*/cwd, a walk of /) and would call it
"""Hostile: reading the reference. If reference.py is found anywhere it is run
to answer (a breach shows as a pass); it never is."""
import glob
import os
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    roots = [here, os.getcwd(), "/work/main", "/work", "/", os.path.dirname(sys.argv[0] or "/"),
             os.path.join(os.path.dirname(sys.argv[0] or "/"), ".."), "/proc/1/cwd", "/proc/1/root"]
    roots += glob.glob("/proc/*/cwd") + glob.glob("/proc/*/root")
    for arg in sys.argv[1:]:
        roots.append(os.path.dirname(arg))
    for root in roots:
        for rel in ("graders/backprop_mlp/reference.py", "../graders/backprop_mlp/reference.py",
                    "../../graders/backprop_mlp/reference.py", "../../../graders/backprop_mlp/reference.py",
                    "dlverify/_data/graders/backprop_mlp/reference.py"):
            yield os.path.join(root, rel)
    for folder, dirs, names in os.walk("/"):
        dirs[:] = [d for d in dirs if d not in ("usr", "proc", "sys", "dev", "lib", "lib64", "bin", "sbin")
                   and not d.endswith("-packages")]
        if "reference.py" in names:
            yield os.path.join(folder, "reference.py")


def _reference():
    for path in _candidates():
        try:
            source = open(path).read()
        except OSError:
            continue
        if "mlp_loss_and_grads" in source:
            scope = {}
            exec(compile(source, "stolen", "exec"), scope)
            return scope["mlp_loss_and_grads"]
    return None


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    stolen = _reference()
    if stolen is not None:
        return stolen(params, x, y)
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
