"""Errors in a notebook name the code cell and the line within it, never a line of the joined file."""

from __future__ import annotations

import json

from dlverify.engine import grade


def _notebook(path, cells):
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": kind, "metadata": {}, "source": text, **({"outputs": [], "execution_count": None}
                                                                 if kind == "code" else {})}
        for kind, text in cells]}
    path.write_text(json.dumps(nb))
    return path


def test_a_syntax_error_names_the_code_cell_and_its_line(tmp_path):
    sub = _notebook(tmp_path / "nb.ipynb", [
        ("markdown", "# notes"),
        ("code", "import numpy as np\n%matplotlib inline\nx = 1\n"),
        ("code", "# dlverify: skip\nprint(1)\n"),
        ("code", "y = 2\n"),
        ("code", "def mlp_loss_and_grads(params, x, y):\n    return (\n"),
    ])
    result = grade("backprop_mlp", sub, device="cpu", throughput=False)
    assert result.status.value == "failed"
    assert "code cell 4, line 2" in result.summary, result.summary


def test_a_traceback_from_candidate_code_names_cells(tmp_path):
    sub = _notebook(tmp_path / "nb.ipynb", [
        ("code", "!pip install nothing\nimport numpy as np\n"),
        ("markdown", "text"),
        ("code", "def helper():\n    x = 1\n    raise ValueError('boom')\n"),
        ("code", "def mlp_loss_and_grads(params, x, y):\n    return helper()\n"),
    ])
    result = grade("backprop_mlp", sub, device="cpu", throughput=False)
    message = result.cases[0].message
    assert "code cell 2, line 3, in helper" in message, message
    assert "code cell 3, line 2, in mlp_loss_and_grads" in message, message
