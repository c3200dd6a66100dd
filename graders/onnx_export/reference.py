"""Reference solution for onnx_export: torch's exporter built on torch.export (dynamo=True),
which traces through the autograd.Function, with both axes of both inputs dynamic."""

import torch
from torch.export import Dim


def export_model(model, example_inputs, path):
    batch, length = Dim("batch", min=1, max=1024), Dim("length", min=1, max=64)
    torch.onnx.export(
        model, example_inputs, path, dynamo=True,
        input_names=["x", "attention_mask"], output_names=["y"],
        dynamic_shapes=({0: batch, 1: length}, {0: batch, 1: length}),
        verbose=False,
    )
