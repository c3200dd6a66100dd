# WRONG(failed): tries to plant files outside its scratch space: host /tmp, the repository, the graders, home, next to the submission
"""Hostile: writes outside scratch. The host checks that no file named
dlvh-marker-* appears anywhere it looks."""
import glob
import os
import sys

import numpy as np

# Harmful only where the grader's sandbox runs it (as the module `submission`); anywhere
# else (a test that imports it in-process) it is just a wrong answer.
IN_SANDBOX = __name__ == "submission"

NAME = "dlvh-marker-write"


def _targets():
    here = os.path.dirname(os.path.abspath(__file__))
    places = ["/", "/tmp", "/var/tmp", "/dev/shm", "/root", "/home", "/etc", "/work", "/work/main",
              "/work/main/graders", "/work/main/graders/backprop_mlp", here, os.path.dirname(here),
              os.path.join(here, "..", ".."), os.path.expanduser("~"), os.getcwd(),
              os.path.dirname(sys.argv[0]) if sys.argv and sys.argv[0] else "/"]
    places += glob.glob("/tmp/*") + glob.glob("/run/*") + glob.glob("/proc/1/cwd") + glob.glob("/proc/*/cwd")
    for arg in sys.argv[1:]:
        places.append(os.path.dirname(arg))
    return places


def mlp_loss_and_grads(params, x, y):
    if not IN_SANDBOX:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
    for place in _targets():
        for path in (os.path.join(place, NAME), os.path.join(place, "..", NAME)):
            try:
                with open(path, "w") as f:
                    f.write("planted by a submission")
            except OSError:
                pass
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}
