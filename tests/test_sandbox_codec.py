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


def test_round_trips_every_plain_dtype_and_shape():
    base = torch.arange(24.0)
    tensors = {"f64": torch.randn(3, dtype=torch.float64), "bf16": torch.randn(2, 2).bfloat16(),
               "c64": torch.randn(2, dtype=torch.complex64), "i64": torch.tensor([-2**63, 2**63 - 1]),
               "u8": torch.arange(3, dtype=torch.uint8), "zero_d": torch.tensor(2.5), "empty": torch.zeros(0, 4),
               "view": base[3:].view(3, 7)[:, 1:5].t(), "same_storage": base[:4],
               "n": 2**63 - 1, "flag": True, "text": "ok"}
    back = codec.loads(_torch_bytes(tensors), "torch")
    for key, value in tensors.items():
        if isinstance(value, torch.Tensor):
            assert back[key].dtype == value.dtype and torch.equal(back[key], value), key
        else:
            assert back[key] == value and type(back[key]) is type(value)


@pytest.fixture
def no_full_unpickling(monkeypatch):
    """torch.load and the codec's own unpickler both fail the test: refusal must come from the opcodes."""
    def boom(*_, **__):
        raise AssertionError("unpickled before it was refused")

    monkeypatch.setattr(torch, "load", boom)
    monkeypatch.setattr(codec, "_Unpickler", boom, raising=False)


@pytest.mark.parametrize("value, why", [
    ([0.5] * 10, "a list"),
    ([0.5] * 1_000_000, "pickle of"),               # 9 MB of pickle: refused by its size alone
    ({1, 2}, "builtins.set"),
    (b"bytes", "_codecs.encode"),
    (10**400, "integer of 1329 bits"),
    (2**64, "integer of 65 bits"),
    (complex(1, 2), "complex"),
    (torch.nn.Parameter(torch.randn(3)), "Parameter"),
    ({"a": {"b": 1}}, "nested"),
], ids=["short_list", "long_list", "set", "bytes", "huge_int", "int_past_64_bits", "complex", "parameter",
        "nested_dict"])
def test_refuses_from_the_opcodes_before_anything_is_built(no_full_unpickling, value, why):
    with pytest.raises(codec.UnsafeData, match=why):
        codec.loads(_torch_bytes({"out": value}), "torch")


def _with_pickle(data: bytes, edit) -> bytes:
    """The same torch archive with its data.pkl edited (and its CRC right)."""
    original = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for member in original.infolist():
            body = original.read(member)
            archive.writestr(member.filename, edit(body) if member.filename.endswith("data.pkl") else body)
    return buf.getvalue()


def test_refuses_a_memo_index_that_would_size_the_memo(no_full_unpickling):
    # PROTO 2, EMPTY_DICT, LONG_BINPUT 2**31 - 1, STOP: the C unpickler would grow its memo to it
    forged = _with_pickle(_torch_bytes({"out": 1.0}), lambda _: b"\x80\x02}r\xff\xff\xff\x7f.")
    with pytest.raises(codec.UnsafeData, match="memo"):
        codec.loads(forged, "torch")


def test_a_refusal_is_one_line():
    forged = _with_pickle(_torch_bytes({"out": torch.randn(4)}), lambda b: b.replace(b"FloatStorage", b"FlortStorage"))
    with pytest.raises(codec.UnsafeData) as refused:
        codec.loads(forged, "torch")
    assert "\n" not in str(refused.value) and "torch.FlortStorage" in str(refused.value)
    truncated = _with_pickle(_torch_bytes({"out": torch.randn(4)}), lambda b: b[:-20])
    with pytest.raises(codec.UnsafeData, match="not a valid pickle"):
        codec.loads(truncated, "torch")


def test_numpy_bounds_the_number_and_rank_of_arrays():
    buf = io.BytesIO()
    np.savez(buf, **{f"a{i}": np.zeros(1) for i in range(codec.MAX_OUTPUTS + 20)})
    with pytest.raises(codec.UnsafeData, match="members"):
        codec.loads(buf.getvalue(), "numpy")
    with pytest.raises(codec.UnsafeData, match="dimensions"):
        codec.loads(codec.dumps({"a": np.zeros((1,) * 40)}, "numpy"), "numpy")
