# WRONG(failed): exports a float64 copy of the model, so the graph wants float64 inputs and gives float64 outputs
"""onnx_export, known wrong: the dtype changed on the way out."""

import copy

import torch
from torch.export import Dim


def export_model(model, example_inputs, path):
    x, mask = example_inputs
    b, s = Dim("b", min=1, max=1024), Dim("s", min=1, max=64)
    torch.onnx.export(copy.deepcopy(model).double(), (x.double(), mask), path, dynamo=True,
                      input_names=["x", "attention_mask"], output_names=["y"],
                      dynamic_shapes=({0: b, 1: s}, {0: b, 1: s}))
