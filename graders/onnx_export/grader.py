"""Host side of onnx_export: the hidden shapes, the trusted answer (the model in float64 on the
host), and the checks of the outputs and of the exported graph.

The graph comes back as the file's bytes (at most 8 MiB, bounded by the driver and again here)
and is parsed here with onnx's own protobuf reader: no Python fallback op (PythonOp, ATen
fallbacks, a custom domain), the contract's input and output names, and batch and sequence
axes left symbolic.
"""

from __future__ import annotations

from typing import Any

import torch

from dlverify.judging.compare import Check, compare_arrays, exact_keys
from dlverify.packs.cases import Case
from dlverify.packs.loading import GraderContext

MAX_FILE_BYTES = 8 << 20
STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}
FALLBACK_OPS = {"PythonOp", "ATen", "aten_op"}


def make_inputs(case: Case, seed: int) -> dict[str, Any]:
    """params: model_seed; sizes, a list of [B, S] the export never saw (it saw [2, 5]);
    each row's real length is random, at least 1, and one row per batch is full."""
    g = torch.Generator().manual_seed(seed)
    inputs: dict[str, Any] = {}
    for i, (b, s) in enumerate(case.params["sizes"]):
        inputs[f"x{i}"] = torch.randn(b, s, 16, generator=g)
        lengths = torch.randint(1, s + 1, (b,), generator=g)
        lengths[0] = s
        inputs[f"mask{i}"] = torch.arange(s)[None, :] < lengths[:, None]
    return inputs


def expected(case: Case, inputs: dict[str, Any], ctx: GraderContext) -> dict[str, Any]:
    model = ctx.driver.build_model(int(case.params["model_seed"])).double()
    want: dict[str, Any] = {"graph": None}
    with torch.no_grad():
        for i in range(len(case.params["sizes"])):
            want[f"y{i}"] = model(inputs[f"x{i}"].double(), inputs[f"mask{i}"]).float()
    return want


def graph_problem(data: bytes) -> str | None:
    """What is wrong with the exported graph, in one line, or None."""
    import onnx

    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the candidate's file
        return f"the exported file is not an ONNX model ({type(exc).__name__})"
    nodes = list(model.graph.node)
    for function in model.functions:
        nodes += list(function.node)
    for node in nodes:
        if node.op_type in FALLBACK_OPS or node.domain not in STANDARD_DOMAINS | {f.domain for f in model.functions}:
            return f"the graph has a Python or ATen fallback node ({node.domain or 'ai.onnx'}::{node.op_type})"
    inputs = {i.name: i for i in model.graph.input}
    for name in ("x", "attention_mask"):
        if name not in inputs:
            return f"the graph has no input named {name!r} (it has {', '.join(sorted(inputs)) or 'none'})"
        dims = inputs[name].type.tensor_type.shape.dim
        fixed = [axis for axis in (0, 1) if axis < len(dims) and dims[axis].HasField("dim_value")]
        if fixed:
            return f"input {name!r} has a fixed size on axis {fixed[0]} (batch and sequence must be dynamic)"
    if "y" not in {o.name for o in model.graph.output}:
        return "the graph has no output named 'y'"
    return None


def check(case: Case, inputs: dict, outputs: dict, want: dict, ctx: GraderContext) -> Check:
    problem = exact_keys(outputs, want)
    if problem:
        return problem
    graph = outputs["graph"]
    if type(graph) is not torch.Tensor or graph.dtype != torch.uint8 or graph.dim() != 1 or graph.numel() > MAX_FILE_BYTES:
        return Check(False, "graph: expected the file's bytes, at most 8 MiB")
    why = graph_problem(bytes(graph.numpy().tobytes()))
    if why:
        return Check(False, why)
    tol = ctx.tolerances["float32"]
    result = Check(True, max_abs_error=0.0, max_rel_error=0.0)
    for i, (b, s) in enumerate(case.params["sizes"]):
        result = result & compare_arrays(f"y for batch {b}, length {s}", outputs[f"y{i}"], want[f"y{i}"],
                                         tol.atol, tol.rtol, expect_type=torch.Tensor)
    return result
