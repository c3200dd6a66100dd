"""The static rule that keeps a submission from reaching the interpreter's insides (and the guards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlverify import paths
from dlverify.engine import grade
from dlverify.screening.introspection import FORBIDDEN_MODULES, RULE_TEXT, violations
from dlverify.packs.registry import EXERCISE_IDS, get_exercise
from dlverify.screening.static_rules import violations as static_violations


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
    ("import operator\nk = operator.attrgetter('sub' + 'classes')\n", "built at run time"),
    ("import sys as s\nm = s.modules\n", "sys.modules"),
    ("import os\nm = os.sys\n", "'sys'"),
    ("from os import sys\n", "'sys'"),
    ("import sys\nf = print\nf(sys)\n", "'sys' itself"),
    ("import builtins\n", "'builtins' whole"),
    ("from builtins import __import__\n", "__import__"),
    ("from builtins import getattr\n", "getattr"),
    ("g = getattr\ngetattr = print\n", "rebinding 'getattr'"),
    ("def f(getattr):\n    pass\n", "parameter named 'getattr'"),
    ("from types import FunctionType\n", "types.FunctionType"),
    ("import types\nF = types.CodeType\n", "types.CodeType"),
    ("import typing\nh = typing.get_type_hints\n", "get_type_hints"),
    ("import timeit\ntimeit.timeit('import gc')\n", "timeit.timeit"),
    ("import string\nf = string.Formatter()\n", "string.Formatter"),
    ("import logging.config\n", "logging.config"),
    ("import torch\nt = torch\ns = t._C\n", "'_C'"),
    ("import threading\nthreading.settrace(print)\n", "settrace"),
    ("class A:\n    def f(self):\n        return self.__dict__\n", "'__dict__'"),
    ("class A:\n    def f(self, other):\n        other.__dict__.update(x=1)\n", "'__dict__'"),
    ("x = object.__setattr__\n", "'__setattr__'"),
    ("class A:\n    def f(self):\n        self.__dict__.update(meta_path=[])\n", "meta_path"),
    ("k = getattr(object, '__subclasses__')\n", "__subclasses__"),
    ("import torch\nwith torch._C.DisableTorchFunction():\n    pass\n", "DisableTorchFunction"),
    ("import torch\nm = torch._higher_order_ops\n", "private library internals"),
    ("from torch._higher_order_ops.flex_attention import math_attention\n", "private library internals"),
    ("import torch.nn.functional as F\ny = F._in_projection\n", "private library internals"),
    ("class T:\n    def __torch_function__(self, *a):\n        pass\n", "__torch_function__"),
    # found by an independent red team: super() with arguments reads any object, attrgetter runs in C
    ("import os\nS = super(type(os), os).__getattribute__('s' + 'ys')\n", "'__getattribute__'"),
    ("import os\nclass A:\n    def f(self):\n        return super(type(os), os).__getattribute__('x')\n",
     "'__getattribute__'"),
    ("import os, operator\nS = operator.attrgetter('sys')(os)\n", "attrgetter('sys')"),
    ("import os, operator\nS = operator.attrgetter('path.modules')(os)\n", "attrgetter('path.modules')"),
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


# ----------------------------------------------------------------------------- the two corpora

ROOT = Path(__file__).resolve().parents[1]
HONEST = sorted((ROOT / "tests" / "honest").glob("*.py"))
# Every attack in the repository that reaches for the interpreter's insides. The others (a public
# function under a built name, a thread, a patched timer) meet the run-time guards instead.
INTROSPECTION_ATTACKS = [
    "graders/attention/solutions/wrong/attack_deferred_sdpa_mode.py",
    "graders/attention/solutions/wrong/attack_lying_subclass.py",
    "graders/attention/solutions/wrong/attack_sdpa_indirect_routes.py",
    "graders/attention/solutions/wrong/attack_unhook_guards.py",
    "graders/backprop_mlp/solutions/wrong/attack_daemon_grandchild.py",
    "graders/backprop_mlp/solutions/wrong/attack_forbidden_import_routes.py",
    "graders/backprop_mlp/solutions/wrong/attack_fork_bomb.py",
    "graders/backprop_mlp/solutions/wrong/attack_network.py",
    "graders/backprop_mlp/solutions/wrong/attack_read_reference.py",
    "graders/backprop_mlp/solutions/wrong/attack_segfault.py",
    "graders/triton_softmax/solutions/wrong/attack_numpy_import_routes.py",
    "graders/triton_softmax/solutions/wrong/ctypes_no_kernel.py",
    "tests/hostile/cpu_spin.py",
    "tests/hostile/fork_bomb_spinning.py",
    "tests/hostile/ignore_sigterm.py",
    "tests/hostile/sleep_forever.py",
]


@pytest.mark.parametrize("path", HONEST, ids=lambda p: p.stem)
def test_honest_idioms_pass_the_static_checks(path):
    source = path.read_text()
    exercise_id = source.split("HONEST(", 1)[1].split(",", 1)[0]
    assert violations(source) == [], path
    assert static_violations(source, get_exercise(exercise_id).rules) == [], path


@pytest.mark.parametrize("relative", INTROSPECTION_ATTACKS)
def test_introspection_attacks_do_not_pass(relative):
    assert violations((ROOT / relative).read_text()), relative


def test_every_attack_that_uses_introspection_is_listed():
    """A new attack importing a forbidden module joins the list above (or the rule has a hole)."""
    listed = set(INTROSPECTION_ATTACKS)
    for path in [*ROOT.glob("graders/*/solutions/wrong/*.py"), *ROOT.glob("tests/hostile/*.py")]:
        relative = str(path.relative_to(ROOT))
        if relative not in listed:
            assert not any(f"import {m}" in path.read_text() for m in FORBIDDEN_MODULES), relative


def test_readmes_state_the_rule_exactly():
    for exercise_id in EXERCISE_IDS:
        exercise = get_exercise(exercise_id)
        text = (paths.exercises_dir() / exercise_id / "README.md").read_text()
        if exercise.rules.any:
            assert RULE_TEXT in " ".join(text.split()), exercise_id
        else:
            assert "reaching into the interpreter" not in text, exercise_id


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


def test_an_honest_file_passes_end_to_end():
    """CS231n's header, a config namespace, kwargs into __dict__, a computed public getattr: passed."""
    result = grade("backprop_mlp", ROOT / "tests" / "honest" / "cs231n_mlp.py", device="cpu", throughput=False)
    assert result.status.value == "passed", result.summary


def test_names_built_at_run_time_are_checked_as_the_code_runs(write):
    # Right answers only if every route to a private or sensitive name was refused in the sandbox.
    source = (paths.graders_dir() / "backprop_mlp" / "reference.py").read_text().replace(
        "def mlp_loss_and_grads(", "def _honest(") + (
        "\nimport functools\n"
        "def _reached():\n"
        "    reached = []\n"
        "    for obj, name in ((np, chr(95) + 'core'), (np, '__dict' + '__'), (print, '__se' + 'lf__')):\n"
        "        try:\n"
        "            getattr(obj, name)\n"
        "            reached.append(name)\n"
        "        except AttributeError:\n"
        "            pass\n"
        "        if hasattr(obj, name):\n"
        "            reached.append('hasattr ' + name)\n"
        "    try:\n"
        "        functools.reduce(getattr, [chr(95) + 'core'], np)\n"
        "        reached.append('reduce')\n"
        "    except AttributeError:\n"
        "        pass\n"
        "    return reached\n"
        "def mlp_loss_and_grads(params, x, y):\n"
        "    loss, grads = _honest(params, x, y)\n"
        "    assert getattr(np, 'float' + '64') is np.float64\n"
        "    reached = _reached()\n"
        "    if reached:\n"
        "        raise RuntimeError('reached ' + ', '.join(reached))\n"
        "    return loss, grads\n")
    assert violations(source) == []
    result = grade("backprop_mlp", write("computed_names.py", source), device="cpu", throughput=False)
    assert result.status.value == "passed", result.summary
