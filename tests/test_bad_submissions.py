"""Every way a submission can be broken gets a status and a clear message, never a grader traceback."""

from __future__ import annotations

import pytest

from dlverify.engine import grade
from dlverify.outcome import CaseStatus, Status

GOOD_HEAD = "import numpy as np\n"


def _grade(write, source: str, name: str = "sub.py"):
    return grade("backprop_mlp", write(name, source), device="cpu", throughput=False)


def test_syntax_error_names_the_line(write):
    result = _grade(write, "def mlp_loss_and_grads(params, x, y)\n    return 1\n")
    assert result.status is Status.FAILED
    assert "syntax error at line 1" in result.summary


def test_missing_function(write):
    result = _grade(write, GOOD_HEAD + "def something_else():\n    pass\n")
    assert result.status is Status.FAILED
    assert "does not define mlp_loss_and_grads" in result.summary


def test_wrong_signature(write):
    result = _grade(write, GOOD_HEAD + "def mlp_loss_and_grads(params):\n    return 0.0, {}\n")
    assert result.status is Status.FAILED
    assert "positional argument" in result.cases[0].message  # the TypeError, from the candidate's call


def test_wrong_return_type(write):
    result = _grade(write, GOOD_HEAD + "def mlp_loss_and_grads(params, x, y):\n    return 'loss'\n")
    assert result.status is Status.FAILED
    assert result.cases[0].message.startswith("contract:")


def test_wrong_shape(write):
    src = GOOD_HEAD + ("def mlp_loss_and_grads(params, x, y):\n"
                       "    return 1.0, {k: np.zeros(v.shape + (1,)) for k, v in params.items()}\n")
    result = _grade(write, src)
    assert result.status is Status.FAILED
    assert "shape" in result.cases[0].message


def test_wrong_dtype(write, backprop_reference):
    # Right values, wrong dtype: only the dtype check can catch it.
    src = backprop_reference + (
        "\n_real = mlp_loss_and_grads\n"
        "def mlp_loss_and_grads(params, x, y):\n"
        "    loss, grads = _real(params, x, y)\n"
        "    return loss, {k: g.astype('float32') for k, g in grads.items()}\n")
    result = _grade(write, src)
    assert result.status is Status.FAILED
    assert "float32" in result.cases[0].message


def test_nan_outputs_fail(write):
    src = GOOD_HEAD + ("def mlp_loss_and_grads(params, x, y):\n"
                       "    return float('nan'), {k: np.full(v.shape, np.nan) for k, v in params.items()}\n")
    result = _grade(write, src)
    assert result.status is Status.FAILED
    assert all(c.status is CaseStatus.FAILED for c in result.cases)
    assert "NaN" in result.cases[0].message


def test_exception_in_candidate_code_carries_its_trimmed_traceback(write):
    src = GOOD_HEAD + ("def helper(x):\n    raise ValueError('shapes do not line up')\n\n"
                       "def mlp_loss_and_grads(params, x, y):\n    return helper(x)\n")
    result = _grade(write, src)
    assert result.status is Status.FAILED
    message = result.cases[0].message
    assert "ValueError: shapes do not line up" in message
    assert "line 3, in helper" in message
    assert "child.py" not in message and "drivers" not in message  # only the candidate's frames


def test_exception_at_import(write):
    result = _grade(write, GOOD_HEAD + "raise RuntimeError('boom at import')\n"
                           "def mlp_loss_and_grads(params, x, y):\n    pass\n")
    assert result.status is Status.FAILED
    assert "boom at import" in result.cases[0].message


def test_one_failing_case_does_not_stop_the_others(write, backprop_reference):
    # Wrong only when the batch has one row: the other cases must still pass.
    src = backprop_reference + (
        "\n_real = mlp_loss_and_grads\n"
        "def mlp_loss_and_grads(params, x, y):\n"
        "    if x.shape[0] == 1:\n        raise ValueError('no single rows')\n"
        "    return _real(params, x, y)\n")
    result = _grade(write, src)
    statuses = {c.name: c.status for c in result.cases}
    assert result.status is Status.FAILED
    assert statuses["batch_of_one"] is CaseStatus.FAILED
    assert sum(s is CaseStatus.PASSED for s in statuses.values()) >= len(statuses) - 2


@pytest.mark.parametrize("cells_extra", [True])
def test_notebook_code_cells_are_the_submission(tmp_path, backprop_reference, cells_extra):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# my solution\nthis is markdown: not code"),
        nbformat.v4.new_code_cell("%matplotlib inline\n!pip install nothing\n" + backprop_reference),
        nbformat.v4.new_code_cell("# dlverify: skip\nthis cell is not python at all ("),
    ]
    path = tmp_path / "solution.ipynb"
    nbformat.write(nb, str(path))
    result = grade("backprop_mlp", path, device="cpu", throughput=False)
    assert result.status is Status.PASSED, result.summary


def test_a_fault_in_our_own_grader_is_error_not_the_candidates(write, backprop_reference, monkeypatch):
    from dlverify.packs.loading import load_pack
    from dlverify.packs.registry import get_exercise

    pack = load_pack(get_exercise("backprop_mlp"))

    def broken_check(*args, **kwargs):
        raise KeyError("a bug in the pack")

    monkeypatch.setattr(pack.grader, "check", broken_check)
    monkeypatch.setattr("dlverify.engine.load_pack", lambda exercise: pack)
    result = _grade(write, backprop_reference)
    assert result.status is Status.ERROR
    assert "grader fault" in result.summary and "a bug in the pack" in result.summary


def test_the_candidates_output_holds_no_warning_of_ours(write):
    """torch warns when the guards replace a forbidden op's kernel: that is ours, not the candidate's."""
    source = ("import warnings\nimport torch\nwarnings.warn('the candidate warns')\n"
              "def attention(q, k, v, *, causal=False, attn_mask=None):\n    raise ValueError('x')\n"
              "class MultiHeadSelfAttention(torch.nn.Module):\n    pass\n")
    result = grade("attention", write("att.py", source), device="cpu", throughput=False)
    stderr = result.output["stderr"]
    assert "the candidate warns" in stderr
    assert "Overriding a previously registered kernel" not in stderr and "guards.py" not in stderr, stderr


@pytest.mark.parametrize("source", ["", "# nothing yet\n", GOOD_HEAD + "def something_else():\n    pass\n"])
def test_a_missing_definition_is_said_once_before_any_sandbox_run(write, monkeypatch, source):
    from dlverify import engine

    def no_sandbox(*args, **kwargs):
        raise AssertionError("the sandbox was started for a submission that defines nothing")

    monkeypatch.setattr(engine, "choose_launcher", no_sandbox)
    result = _grade(write, source)
    assert result.status is Status.FAILED
    assert result.summary.count("does not define mlp_loss_and_grads") == 1, result.summary
    assert result.cases == []


@pytest.mark.parametrize("source", [
    "from numpy import sum as mlp_loss_and_grads\n",
    "mlp_loss_and_grads = lambda params, x, y: None\n",
    "try:\n    import numpy\nexcept ImportError:\n    pass\nelse:\n    def mlp_loss_and_grads(params, x, y):\n        pass\n",
    "class mlp_loss_and_grads:\n    pass\n",
    "from numpy import *\n",
])
def test_a_definition_in_any_top_level_form_counts(source):
    from dlverify.screening.entry_points import missing_names
    from dlverify.submission.parsing import parse_source

    assert missing_names(parse_source(source), ["mlp_loss_and_grads"]) == []
