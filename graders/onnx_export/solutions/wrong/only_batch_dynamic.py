# WRONG(failed): makes only the batch axis dynamic; the sequence length stays fixed at 5
"""onnx_export, known wrong: the sequence axis forgotten."""

import torch
from torch.export import Dim


def export_model(model, example_inputs, path):
    batch = Dim("batch", min=1, max=1024)
    torch.onnx.export(model, example_inputs, path, dynamo=True, input_names=["x", "attention_mask"],
                      output_names=["y"], dynamic_shapes=({0: batch}, {0: batch}))
