# WRONG(failed): the TorchScript exporter without dynamic_axes: every axis is fixed at the example's size
"""onnx_export, known wrong: shapes frozen at batch 2, length 5."""

import torch


def export_model(model, example_inputs, path):
    torch.onnx.export(model, example_inputs, path, dynamo=False, input_names=["x", "attention_mask"],
                      output_names=["y"])
