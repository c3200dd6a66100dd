# WRONG(failed): exports a wrapper that takes the mask as float32, so the graph refuses the bool mask of the contract
"""onnx_export, known wrong: the mask input's type changed."""

import torch
from torch.export import Dim


class FloatMask(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x, attention_mask):
        return self.inner(x, attention_mask > 0.5)


def export_model(model, example_inputs, path):
    x, mask = example_inputs
    b, s = Dim("b", min=1, max=1024), Dim("s", min=1, max=64)
    torch.onnx.export(FloatMask(model), (x, mask.float()), path, dynamo=True, input_names=["x", "attention_mask"],
                      output_names=["y"], dynamic_shapes=({0: b, 1: s}, {0: b, 1: s}))
