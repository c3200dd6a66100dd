"""What crosses the boundary is plain data: sandbox/codec.py refuses everything else before it is compared."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

from dlverify import paths
from dlverify.isolation.landlock_rules import sandbox_module

codec = sandbox_module(paths.sandbox_dir(), "codec")


def _torch_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def test_round_trips_plain_data():
    arrays = {"a": np.arange(6.0).reshape(2, 3), "y": np.array([1, 2]), "loss": np.array(3.5)}
    back = codec.loads(codec.dumps(arrays, "numpy"), "numpy")
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    tensors = {"x": torch.randn(2, 3), "mask": torch.ones(2, dtype=torch.bool), "scale": 2.0, "n": None}
    back = codec.loads(codec.dumps(tensors, "torch"), "torch")
    assert torch.equal(back["x"], tensors["x"]) and back["scale"] == 2.0 and back["n"] is None


@pytest.mark.parametrize("value, why", [
    (torch.zeros(1).expand(100_000, 100_000), "view of"),          # 10^10 elements over 4 bytes
    (torch.nn.Parameter(torch.randn(3)), "not plain data"),
    ([torch.randn(3)], "not plain data"),
    ({"nested": torch.randn(3)}, "not plain data"),
    (torch.randn(3, 3).to_sparse(), "dense CPU"),
    (torch.empty(4, device="meta"), "dense CPU"),
    ("x" * 5000, "string of"),
])
def test_refuses_what_is_not_plain_data(value, why):
    with pytest.raises(Exception, match=why):
        codec.loads(_torch_bytes({"out": value}), "torch")


def test_refuses_a_subclass_and_a_bare_tensor():
    class Liar(torch.Tensor):
        pass

    with pytest.raises(Exception):
        codec.loads(_torch_bytes({"out": torch.randn(3).as_subclass(Liar)}), "torch")
    with pytest.raises(Exception, match="dict"):
        codec.loads(_torch_bytes(torch.randn(3)), "torch")


def test_refuses_a_decompression_bomb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", b"\0" * (20 << 20))  # 20 MiB of zeros in a few KB
    assert len(buf.getvalue()) < 100_000
    for kind in ("numpy", "torch"):
        with pytest.raises(Exception, match="compressed"):
            codec.loads(buf.getvalue(), kind)


def test_refuses_an_array_header_that_lies_about_its_size():
    data = codec.dumps({"a": np.zeros(4)}, "numpy")
    index = data.find(b"(4,)")
    forged = data[:index] + b"(9,)" + data[index + 4:]
    with pytest.raises(Exception):
        codec.loads(forged, "numpy")


@pytest.mark.parametrize("array", [np.array([{"x": 1}], dtype=object), np.zeros(2, dtype=[("a", "f8")]),
                                   np.array(["text"])])
def test_refuses_arrays_that_are_not_numbers(array):
    buf = io.BytesIO()
    np.savez(buf, a=array)
    with pytest.raises(Exception):
        codec.loads(buf.getvalue(), "numpy")


def test_outputs_land_in_fresh_memory():
    base = torch.arange(12.0)
    back = codec.loads(_torch_bytes({"a": base[:6], "b": base[6:].view(2, 3).t()}), "torch")
    back["a"].zero_()
    assert back["b"].is_contiguous() and back["b"].sum() == base[6:].sum()
