"""Child side of onnx_export: the grader's model, the candidate's export of it, and onnxruntime
running the exported file on the case's inputs.

The model is built here from the case's seed (the host builds the same one from this file). The
candidate's export_model writes a file in a fresh scratch folder; this driver then reads it back,
runs it with onnxruntime (imported before the submission loads, and forbidden to it) on inputs of
shapes the export never saw, and hands back the outputs and the file's bytes, which the host
parses itself to check the graph.
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

import onnxruntime as _ort
import torch
from torch import nn

from contract import ContractError  # sandbox/contract.py: on the child's path

MAX_FILE_BYTES = 8 << 20
_Session, _SessionOptions = _ort.InferenceSession, _ort.SessionOptions   # bound before candidate code runs


class ScaledSiLU(torch.autograd.Function):
    """The model's custom op: a Python autograd.Function (no ONNX symbolic of its own)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 1.25 * x * torch.sigmoid(1.5 * x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(1.5 * x)
        return grad * 1.25 * (s + 1.5 * x * s * (1 - s))


class Encoder(nn.Module):
    """One pre-norm attention block with a learned position table, a masked attention over the
    real tokens only, the custom activation, and padded positions zeroed at the end."""

    def __init__(self, dim: int = 16, heads: int = 2, max_len: int = 64):
        super().__init__()
        self.heads = heads
        self.pos = nn.Embedding(max_len, dim)
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.up = nn.Linear(dim, 2 * dim)
        self.down = nn.Linear(2 * dim, dim)

    def forward(self, x: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        B, S, D = x.shape                                                     # (B, S, D)
        x = x + self.pos(torch.arange(S, device=x.device))[None]
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        q, k, v = (t.reshape(B, S, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D // self.heads)         # (B, H, S, S)
        scores = scores.masked_fill(~attention_mask[:, None, None, :], -1e4)   # padded keys
        att = torch.softmax(scores, dim=-1) @ v                               # (B, H, S, Dh)
        x = x + self.proj(att.transpose(1, 2).reshape(B, S, D))
        x = x + self.down(ScaledSiLU.apply(self.up(x)))
        return x * attention_mask[..., None].to(x.dtype)                      # padded positions zero


def build_model(seed: int) -> Encoder:
    gen = torch.Generator().manual_seed(seed)
    model = Encoder()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    return model.eval()


def example_inputs(batch: int = 2, length: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[1, 3:] = False
    return torch.randn(batch, length, 16, generator=gen), mask


_exported: dict[int, str] = {}   # model seed -> the file: one export per grading, not one per case


def _export(fn, seed: int) -> str:
    if seed not in _exported:
        folder = tempfile.mkdtemp(prefix="onnx-")
        path = os.path.join(folder, "model.onnx")
        fn(build_model(seed), example_inputs(), path)
        _exported[seed] = path
    return _exported[seed]


def run(module: Any, params: dict, inputs: dict, device: str) -> dict[str, Any]:
    fn = getattr(module, "export_model", None)
    if not callable(fn):
        raise ContractError("the submission does not define export_model")
    path = _export(fn, int(params["model_seed"]))
    if not os.path.isfile(path):
        raise ContractError("export_model wrote no file at the path it was given")
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ContractError(f"the exported file is {size} bytes; the limit is {MAX_FILE_BYTES}")
    with open(path, "rb") as f:
        graph = f.read()
    options = _SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = _Session(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - any refusal of the file is the candidate's
        raise ContractError(f"onnxruntime cannot load the exported file: {str(exc).strip().splitlines()[0][:300]}") from None
    outputs: dict[str, Any] = {"graph": torch.frombuffer(bytearray(graph), dtype=torch.uint8).clone()}
    for i in range(len(params["sizes"])):
        x, mask = inputs[f"x{i}"], inputs[f"mask{i}"]
        try:
            (y,) = session.run(["y"], {"x": x.numpy(), "attention_mask": mask.numpy()})
        except Exception as exc:  # noqa: BLE001 - a graph that cannot take these shapes is the candidate's
            raise ContractError(f"onnxruntime could not run the file on shape {tuple(x.shape)}: "
                                f"{str(exc).strip().splitlines()[0][:300]}") from None
        outputs[f"y{i}"] = torch.from_numpy(y.copy())
    return outputs
