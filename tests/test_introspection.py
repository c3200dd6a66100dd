"""The static rule that keeps a submission from reaching the interpreter's insides (and the guards)."""

from __future__ import annotations

import pytest

from dlverify import paths
from dlverify.engine import grade
from dlverify.introspection import violations
from dlverify.registry import EXERCISE_IDS


@pytest.mark.parametrize("source, needle", [
    ("import gc\n", "'gc'"),
    ("import ctypes as c\n", "'ctypes'"),
    ("from importlib import import_module\n", "importlib"),
    ("x = __import__('torch')\n", "__import__"),
    ("eval('1')\n", "eval"),
    ("import sys\nm = sys.modules['numpy']\n", "sys.modules"),
    ("import sys\nf = sys._getframe(1)\n", "sys._getframe"),
    ("def f():\n    pass\ng = f.__globals__\n", "__globals__"),
    ("try:\n    1/0\nexcept Exception as e:\n    fr = e.__traceback__.tb_frame.f_back\n", "tb_frame"),
    ("k = getattr(object, 'sub' + 'classes')\n", "computed attribute name"),
    ("k = getattr(object, '__subclasses__')\n", "__subclasses__"),
    ("import torch\nwith torch._C.DisableTorchFunction():\n    pass\n", "DisableTorchFunction"),
    ("import torch\nm = torch._higher_order_ops\n", "private library internals"),
    ("from torch._higher_order_ops.flex_attention import math_attention\n", "private library internals"),
    ("import torch.nn.functional as F\ny = F._in_projection\n", "private library internals"),
    ("class T:\n    def __torch_function__(self, *a):\n        pass\n", "__torch_function__"),
])
def test_introspection_is_flagged(source, needle):
    found = violations(source)
    assert found, source
    assert any(needle in detail for _, detail in found), found


@pytest.mark.parametrize("source", [
    "import math\nimport torch\nimport torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n"
    "        super().__init__()\n        self._cache = None\n",
    "import os\nimport sys\nprint('x', file=sys.stderr)\nos._exit\n",
    "import numpy as np\nx = getattr(np, 'float64')\n",
])
def test_ordinary_code_is_not_flagged(source):
    assert violations(source) == []


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_no_known_good_solution_is_flagged(exercise_id):
    folder = paths.graders_dir() / exercise_id
    files = [folder / "reference.py", *sorted((folder / "solutions" / "correct").glob("*.py")),
             paths.exercises_dir() / exercise_id / "starter.py"]
    for path in files:
        assert violations(path.read_text()) == [], path


def test_guard_silencing_through_gc_is_rejected_before_it_runs(write):
    source = (
        "import gc\nimport numpy as np\n"
        "for obj in gc.get_objects():\n"
        "    if type(obj).__name__ == 'Guards':\n        obj.forbidden_ops = frozenset()\n"
        "def mlp_loss_and_grads(params, x, y):\n    return 0.0, {}\n"
    )
    result = grade("backprop_mlp", write("gc_silence.py", source), device="cpu", throughput=False)
    assert result.status.value == "rejected"
    assert result.cases == [] and result.violations[0]["rule"] == "no-introspection"


def test_exercises_without_rules_are_not_bound_by_it(write):
    # mixed_precision has no rules to protect: introspection there is the candidate's own business.
    source = (paths.graders_dir() / "mixed_precision" / "reference.py").read_text() + "\nimport gc\n"
    result = grade("mixed_precision", write("mp.py", source), device="cpu", throughput=False)
    assert result.status.value == "passed", result.summary
