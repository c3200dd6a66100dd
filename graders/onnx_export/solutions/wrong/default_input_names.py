# WRONG(failed): leaves the exporter's default input names (the forward's argument names would do; these do not)
"""onnx_export, known wrong: inputs named input_0 and input_1."""

import torch
from torch.export import Dim


def export_model(model, example_inputs, path):
    b, s = Dim("b", min=1, max=1024), Dim("s", min=1, max=64)
    torch.onnx.export(model, example_inputs, path, dynamo=True, input_names=["input_0", "input_1"],
                      output_names=["y"], dynamic_shapes=({0: b, 1: s}, {0: b, 1: s}))
