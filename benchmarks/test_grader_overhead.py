"""What the grader itself costs on a CPU, measured with pytest-benchmark.

The kernels' own speed is benchmarks/run.py's job. This is the price of the
trust boundary: outputs decoded as hostile bytes, compared in float64 on the
host, the static screens, and a whole sandboxed grading with no timing. A
grading team sizing its runners, or anyone changing the codec or the sandbox,
runs:

    python -m pytest benchmarks/ --benchmark-only

(not part of the test suite: pyproject's testpaths names tests/ alone).
Every benchmark checks what it timed, so a broken path fails instead of
reporting a fast nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from dlverify import paths
from dlverify.judging.compare import compare_arrays
from dlverify.engine import grade
from dlverify.screening.introspection import violations as introspection_violations
from dlverify.packs.registry import get_exercise
from dlverify.screening.static_rules import violations as static_violations
from dlverify.submission.read import syntax_error

sys.path.insert(0, str(paths.sandbox_dir()))
import codec  # noqa: E402  (the sandbox's codec, shared by host and child)

MIB = 1 << 20


@pytest.fixture(scope="module")
def outputs_16mib():
    # About what an attention case sends back: 8 MiB of float32 in four tensors.
    generator = torch.Generator().manual_seed(0)
    return {"out": torch.randn(4, 8, 256, 64, generator=generator), "dq": torch.randn(4, 8, 256, 64, generator=generator),
            "dk": torch.randn(4, 8, 256, 64, generator=generator), "dv": torch.randn(4, 8, 256, 64, generator=generator)}


def test_torch_outputs_decoded_as_hostile_bytes(benchmark, outputs_16mib):
    data = codec.dumps(outputs_16mib, "torch")
    decoded = benchmark(codec.loads, data, "torch")
    assert all(torch.equal(decoded[k], v) for k, v in outputs_16mib.items())
    benchmark.extra_info["mib"] = round(len(data) / MIB, 1)


def test_numpy_outputs_decoded_as_hostile_bytes(benchmark):
    arrays = {f"g{i}": np.random.default_rng(i).standard_normal((512, 1024)) for i in range(4)}  # 16 MiB
    data = codec.dumps(arrays, "numpy")
    decoded = benchmark(codec.loads, data, "numpy")
    assert all(np.array_equal(decoded[k], v) for k, v in arrays.items())
    benchmark.extra_info["mib"] = round(len(data) / MIB, 1)


def test_compare_four_million_float32_against_the_reference(benchmark):
    want = torch.randn(2048, 2048, generator=torch.Generator().manual_seed(1))
    got = want + 1e-7 * torch.randn(2048, 2048, generator=torch.Generator().manual_seed(2))
    check = benchmark(compare_arrays, "out", got, want, 1e-5, 1e-5)
    assert check.ok, check.message
    assert not compare_arrays("out", got * 1.01, want, 1e-5, 1e-5).ok


@pytest.mark.parametrize("exercise_id", ["attention", "mixed_precision"])
def test_static_screens_of_a_reference(benchmark, exercise_id):
    source = (paths.graders_dir() / exercise_id / "reference.py").read_text()
    rules = get_exercise(exercise_id).rules

    def screen():
        return syntax_error(source), static_violations(source, rules) + introspection_violations(source)

    error, found = benchmark(screen)
    assert error is None and found == []


def test_one_sandboxed_grading_end_to_end(benchmark):
    """backprop_mlp's reference, 12 hidden cases, no timed calls: the fixed cost per submission."""
    reference = Path(paths.graders_dir() / "backprop_mlp" / "reference.py")
    result = benchmark.pedantic(grade, args=("backprop_mlp", reference),
                                kwargs={"device": "cpu", "sandbox": "local", "throughput": False},
                                rounds=3, iterations=1, warmup_rounds=1)
    assert result.passed, result.summary
    benchmark.extra_info["cases"] = len(result.cases)
    benchmark.extra_info["sandbox_layers"] = [layer["name"] for layer in result.sandbox["layers"] if layer["applied"]]
