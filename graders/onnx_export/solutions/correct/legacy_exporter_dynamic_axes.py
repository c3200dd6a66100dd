"""Correct, a third way: the TorchScript-based exporter with dynamic_axes. torch 2.11 to 2.13
inline a Python autograd.Function's forward when it has no symbolic, so no PythonOp is left."""

import torch


def export_model(model, example_inputs, path):
    axes = {"x": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}, "y": {0: "batch", 1: "length"}}
    torch.onnx.export(model, example_inputs, path, dynamo=False, input_names=["x", "attention_mask"],
                      output_names=["y"], dynamic_axes=axes)
