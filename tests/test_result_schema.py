"""Real results, of every kind, validate against docs/result.schema.json."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dlverify.engine import grade

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "result.schema.json").read_text())


@pytest.mark.parametrize("source, status", [
    (None, "passed"),
    ("def mlp_loss_and_grads(params, x, y):\n    return 0.0, {}\n", "failed"),
    ("import torch\n", "rejected"),
    ("def mlp_loss_and_grads(params, x, y)\n", "failed"),
])
def test_results_match_the_schema(write, backprop_reference, source, status):
    path = write("s.py", backprop_reference if source is None else source)
    data = json.loads(grade("backprop_mlp", path, device="cpu", throughput=source is None).to_json())
    jsonschema.validate(data, SCHEMA)
    assert data["status"] == status
    if status == "passed":
        assert data["throughput"]["runs"] >= 1 and data["throughput"]["indicative"] is True


def test_schema_rejects_a_forged_status():
    bad = {"schema": "dlverify.report.result/1", "status": "excellent"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)
