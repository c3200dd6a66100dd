"""What torch runs under a call: the names the packs' forbidden-op rules must cover."""

from __future__ import annotations


def ops_seen(call) -> set[str]:
    """Torch function names and aten op names (overload packets) seen while `call` runs."""
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: set[str] = set()

    class Functions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.add(getattr(func, "__name__", ""))
            return func(*args, **(kwargs or {}))

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    with Functions(), Ops():
        call()
    return seen
