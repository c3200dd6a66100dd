"""Turning inputs and outputs into bytes and back, without pickle of objects.

io = "numpy": .npz with allow_pickle=False (flat dict of arrays).
io = "torch": torch.save / torch.load(weights_only=True) (tensors, numbers,
strings, and lists/tuples/dicts of them). The host uses the same rules when it
loads what the child sent.
"""

from __future__ import annotations

import io
from typing import Any


def dumps(obj: dict[str, Any], kind: str) -> bytes:
    buf = io.BytesIO()
    if kind == "numpy":
        import numpy as np

        np.savez(buf, **{k: np.asarray(v) for k, v in obj.items()})
    else:
        import torch

        torch.save(obj, buf)
    return buf.getvalue()


def loads(data: bytes, kind: str) -> dict[str, Any]:
    buf = io.BytesIO(data)
    if kind == "numpy":
        import numpy as np

        with np.load(buf, allow_pickle=False) as archive:
            return {k: archive[k] for k in archive.files}
    import torch

    obj = torch.load(buf, weights_only=True, map_location="cpu")
    if not isinstance(obj, dict):
        raise ValueError(f"expected a dict of outputs, got {type(obj).__name__}")
    return obj
