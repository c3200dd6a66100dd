"""kernels/flash_attention.py on the CPU: the Triton kernels under the interpreter, forward and
every gradient against float64 SDPA, on odd lengths, causal and not, in the pytest process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

KERNEL = Path(__file__).resolve().parent.parent / "kernels" / "flash_attention.py"


def test_forward_and_backward_match_sdpa_under_the_interpreter():
    # A child process: TRITON_INTERPRET must be set before triton is first imported.
    env = dict(os.environ, TRITON_INTERPRET="1", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, str(KERNEL)], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("check ")]
    assert len(lines) == 12 and all(line.endswith(" ok") for line in lines), done.stdout


@pytest.mark.parametrize("shape, why", [((1, 2, 8, 24), "head dim 24"), ((1, 2, 8), "expected q")])
def test_unsupported_shapes_get_a_clear_error(shape, why, monkeypatch):
    import torch

    monkeypatch.setenv("TRITON_INTERPRET", "1")   # the module would set it for good; this undoes it after

    spec = importlib.util.spec_from_file_location("_flash_attention_under_test", KERNEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    q = torch.zeros(shape)
    with pytest.raises(ValueError, match=why):
        module.attention(q, q, q)
