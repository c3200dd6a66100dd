"""Attribute names built at run time: the run-time half of the no-introspection rule.

The host's static rule (dlverify/screening/introspection.py) reads every attribute name
written in the source. A name computed at run time (`getattr(torch,
device_type)`, the device-agnostic idiom) it cannot read, so candidate code
gets its own `getattr`, `setattr`, `delattr` and `hasattr`, installed in the
submission's globals before it runs: they refuse the names, and the values,
that lead to the interpreter's insides. Library code keeps the real builtins.
The static rule forbids rebinding or deleting these names, and importing the
real ones from `builtins`, so the candidate has no other.

This file is also the one list of those names: the host's static rule loads
it by path, so the two halves never disagree.
"""

from __future__ import annotations

import builtins
import types

# Attribute names that lead from an ordinary object to the interpreter's insides (and the guards).
SENSITIVE = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__", "__dict__", "__self__",
    "__func__", "__wrapped__", "__loader__", "__spec__", "__import__", "__reduce__", "__reduce_ex__",
    "__getattribute__", "__setattr__", "__delattr__", "__class_getitem__",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_trace", "tb_frame", "tb_next", "gi_frame",
    "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "cell_contents",
    "__torch_function__", "__torch_dispatch__", "DisableTorchFunction", "DisableTorchFunctionSubclass",
    "_DisableTorchDispatch",
    # sys's hooks into the interpreter, and the private names that reach the guards whatever holds them
    "_getframe", "_current_frames", "_current_exceptions", "settrace", "setprofile", "settrace_all_threads",
    "setprofile_all_threads", "meta_path", "path_hooks", "path_importer_cache", "addaudithook", "_C",
    "_bootstrap", "_bootstrap_external",
})
# Private names (a leading underscore) that are public API in all but name.
BENIGN_PRIVATE = frozenset({
    "_exit",                                                    # os._exit
    "_assert", "_check",                                        # torch._assert, torch._check
    "_replace", "_asdict", "_fields", "_field_defaults", "_make",  # namedtuple's API
    "_init_handles",                                            # a compiled Triton kernel (the tutorials)
})
# Modules a computed name must not hand back: each one reaches the guards or the interpreter.
OFF_LIMITS_MODULES = frozenset({
    "sys", "builtins", "gc", "ctypes", "_ctypes", "inspect", "importlib", "_thread", "marshal", "pickle",
    "code", "codeop", "runpy", "zipimport", "pkgutil", "faulthandler", "tracemalloc", "sysconfig", "site",
    "torch._C", "triton._C",
})
_INSIDES = (types.FrameType, types.CodeType, types.TracebackType)


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def off_limits_name(name: object) -> bool:
    return isinstance(name, str) and (name in SENSITIVE or (private(name) and name not in BENIGN_PRIVATE))


def off_limits_value(value: object) -> bool:
    if isinstance(value, _INSIDES):
        return True
    name = getattr(value, "__name__", None) if isinstance(value, types.ModuleType) else None
    return isinstance(name, str) and (name in OFF_LIMITS_MODULES or name.partition(".")[0] in OFF_LIMITS_MODULES
                                      or name.startswith(("torch._", "triton._")))


def _refuse(name: object) -> AttributeError:
    return AttributeError(f"{name!r}: attributes that reach into the interpreter are off-limits in this exercise")


_getattr, _setattr, _delattr = builtins.getattr, builtins.setattr, builtins.delattr
_MISSING = object()


def checked_getattr(obj, name, default=_MISSING, /):
    if off_limits_name(name):
        raise _refuse(name)
    value = _getattr(obj, name) if default is _MISSING else _getattr(obj, name, default)
    if off_limits_value(value):
        raise _refuse(name)
    return value


def checked_hasattr(obj, name, /) -> bool:
    try:
        checked_getattr(obj, name)
    except AttributeError:
        return False
    return True


def checked_setattr(obj, name, value, /) -> None:
    if off_limits_name(name):
        raise _refuse(name)
    _setattr(obj, name, value)


def checked_delattr(obj, name, /) -> None:
    if off_limits_name(name):
        raise _refuse(name)
    _delattr(obj, name)


# The names the static rule protects from rebinding; the worker puts these in the submission's globals.
CHECKED = {"getattr": checked_getattr, "hasattr": checked_hasattr, "setattr": checked_setattr,
           "delattr": checked_delattr}
