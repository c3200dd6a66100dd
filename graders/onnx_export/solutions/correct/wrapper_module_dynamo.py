"""Correct, written another way: a thin wrapper module fixes the argument order and names, the
dynamic axes are given by name (Dim.AUTO), and the exporter's report is switched off."""

import torch
from torch.export import Dim


class Wrapped(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x, attention_mask):
        return self.inner(x, attention_mask)


def export_model(model, example_inputs, path):
    x, mask = example_inputs
    shapes = {"x": {0: Dim.AUTO, 1: Dim.AUTO}, "attention_mask": {0: Dim.AUTO, 1: Dim.AUTO}}
    program = torch.onnx.export(Wrapped(model).eval(), (x, mask), dynamo=True, dynamic_shapes=shapes,
                                input_names=["x", "attention_mask"], output_names=["y"], report=False)
    program.save(path)
