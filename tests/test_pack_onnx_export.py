"""Host-side tests of the onnx_export pack: the graph check on hand-made graphs, the trusted
answer, the check. The sandboxed path (every known solution, exported and run) is tests/test_packs.py."""

from __future__ import annotations

import pytest
import torch

onnx = pytest.importorskip("onnx", reason="the onnx_export pack needs pip install 'dlverify[onnx]'")
from onnx import TensorProto, helper  # noqa: E402

from dlverify.packs import registry  # noqa: E402
from dlverify.packs.loading import load_pack  # noqa: E402


@pytest.fixture(scope="module")
def pack():
    return load_pack(registry.get_exercise("onnx_export"))


@pytest.fixture(scope="module")
def ctx(pack):
    return pack.context("cpu")


def graph(node, x_dims=("b", "s", 16), mask_dims=("b", "s"), names=("x", "attention_mask"), out="y"):
    inputs = [helper.make_tensor_value_info(names[0], TensorProto.FLOAT, list(x_dims)),
              helper.make_tensor_value_info(names[1], TensorProto.BOOL, list(mask_dims))]
    output = helper.make_tensor_value_info(out, TensorProto.FLOAT, list(x_dims))
    return helper.make_model(helper.make_graph([node], "g", inputs, [output])).SerializeToString()


IDENTITY = helper.make_node("Identity", ["x"], ["y"])


def test_a_clean_graph_passes_the_graph_check(pack):
    assert pack.grader.graph_problem(graph(IDENTITY)) is None


@pytest.mark.parametrize("data, why", [
    (graph(helper.make_node("PythonOp", ["x"], ["y"], domain="")), "fallback"),
    (graph(helper.make_node("ScaledSiLU", ["x"], ["y"], domain="pkg.torch.onnx")), "fallback"),
    (graph(IDENTITY, x_dims=(2, "s", 16)), "fixed size on axis 0"),
    (graph(IDENTITY, mask_dims=("b", 5)), "fixed size on axis 1"),
    (graph(IDENTITY, names=("input_0", "attention_mask")), "no input named 'x'"),
    (graph(helper.make_node("Identity", ["x"], ["out"]), out="out"), "no output named 'y'"),
    (b"not a protobuf at all \xff\xfe", "not an ONNX model"),
])
def test_bad_graphs_are_named_in_one_line(pack, data, why):
    problem = pack.grader.graph_problem(data)
    assert problem is not None and why in problem and "\n" not in problem


def test_the_answer_is_the_model_itself_and_padding_is_zero(pack, ctx):
    c = pack.cases[2]
    inputs = pack.grader.make_inputs(c, 5)
    want = pack.grader.expected(c, inputs, ctx)
    model = ctx.driver.build_model(int(c.params["model_seed"]))
    with torch.no_grad():
        for i in range(len(c.params["sizes"])):
            assert torch.allclose(model(inputs[f"x{i}"], inputs[f"mask{i}"]), want[f"y{i}"], atol=1e-5)
            assert (want[f"y{i}"][~inputs[f"mask{i}"]] == 0).all()
            assert inputs[f"mask{i}"][0].all() and inputs[f"mask{i}"].sum(1).min() >= 1


def test_malformed_outputs_are_the_candidates_failure(pack, ctx):
    c = pack.cases[0]
    inputs = pack.grader.make_inputs(c, 5)
    want = pack.grader.expected(c, inputs, ctx)
    good = {k: v for k, v in want.items() if k != "graph"}
    clean = torch.frombuffer(bytearray(graph(IDENTITY)), dtype=torch.uint8)
    for outputs in ({}, {**good, "graph": "bytes"}, {**good, "graph": clean.float()},
                    {**good, "graph": clean, "y0": good["y0"].double()}):
        result = pack.grader.check(c, inputs, outputs, want, ctx)
        assert not result.ok and result.message
    assert pack.grader.check(c, inputs, {**good, "graph": clean}, want, ctx).ok
