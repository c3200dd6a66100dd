# WRONG(rejected): imports onnxruntime, which the rules keep for the grader
"""onnx_export, known wrong: checks its own file with onnxruntime."""

import onnxruntime  # noqa: F401
import torch


def export_model(model, example_inputs, path):
    torch.onnx.export(model, example_inputs, path, dynamo=True, input_names=["x", "attention_mask"],
                      output_names=["y"])
