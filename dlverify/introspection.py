"""No reaching into the interpreter: a static rule for every exercise that has rules.

The run-time guards (sandbox/guards.py) live in the same process as the
candidate's code. Python lets that code find and switch them off only through
introspection: the garbage collector, frames, `sys.modules`, `ctypes`,
dynamic imports and attribute names built from strings, torch's switches for
its own hooks, and private library internals. None of that is needed to solve
an exercise, so a submission that uses any of it is rejected before it runs,
with the line named. This closes the general route to tampering instead of
listing tricks one by one.
"""

from __future__ import annotations

import ast
import sys

from .parsing import UnparsableSource, parse_source

FORBIDDEN_MODULES = {"gc", "ctypes", "_ctypes", "cffi", "inspect", "importlib", "builtins", "_thread",
                     "marshal", "pickle", "dill", "cloudpickle", "code", "codeop", "types", "pydoc", "runpy",
                     "zipimport", "pkgutil", "faulthandler", "tracemalloc", "sysconfig", "site", "mmap"}
FORBIDDEN_NAMES = {"__import__", "eval", "exec", "compile", "globals", "vars", "locals", "__builtins__",
                   "breakpoint", "DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch",
                   "_disabled_torch_function_impl", "__torch_function__", "__torch_dispatch__"}
# Attribute and string names that lead from an ordinary object to the interpreter's insides.
SENSITIVE = {"__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__", "__dict__",
             "__self__", "__func__", "__wrapped__", "__loader__", "__spec__", "__import__", "__reduce__",
             "__reduce_ex__", "__getattribute__", "__setattr__", "__delattr__", "__class_getitem__",
             "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "tb_next", "gi_frame",
             "cr_frame", "ag_frame", "cell_contents", "__torch_function__", "__torch_dispatch__",
             "DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch"}
SYS_SENSITIVE = {"modules", "_getframe", "settrace", "setprofile", "meta_path", "path_hooks",
                 "path_importer_cache", "addaudithook", "_current_frames"}
DYNAMIC_ATTRIBUTE_CALLS = {"getattr", "setattr", "delattr", "hasattr"}


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def violations(source: str) -> list[tuple[str, str]]:
    try:
        tree = parse_source(source)
    except UnparsableSource as exc:  # the candidate's `rejected`, never the grader's `error`
        return [("unparsable", str(exc))]
    found: list[tuple[str, str]] = []
    library_aliases: set[str] = set()

    def flag(node: ast.AST, what: str) -> None:
        found.append(("no-introspection", f"line {getattr(node, 'lineno', '?')}: {what}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.partition(".")[0]
                if top in FORBIDDEN_MODULES:
                    flag(node, f"importing {alias.name!r} reaches into the interpreter")
                elif any(_private(p) for p in alias.name.split(".")):
                    flag(node, f"importing {alias.name!r}: private library internals are off-limits")
                if top not in sys.stdlib_module_names:
                    library_aliases.add(alias.asname or top)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.partition(".")[0] in FORBIDDEN_MODULES:
                flag(node, f"importing from {module!r} reaches into the interpreter")
            elif any(_private(p) for p in module.split(".")):
                flag(node, f"importing from {module!r}: private library internals are off-limits")
            for alias in node.names:
                if _private(alias.name) or alias.name in FORBIDDEN_NAMES or alias.name in SENSITIVE:
                    flag(node, f"importing {alias.name!r} from {module!r} is off-limits")
                if node.level == 0 and module == "sys" and alias.name in SYS_SENSITIVE:
                    flag(node, f"sys.{alias.name} is off-limits")
                if module.partition(".")[0] not in sys.stdlib_module_names:
                    library_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            flag(node, f"{node.id!r} is off-limits in this exercise")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in FORBIDDEN_NAMES:
            flag(node, f"defining {node.name!r} is off-limits in this exercise")
        elif isinstance(node, ast.Attribute):
            if node.attr in SENSITIVE:
                flag(node, f"the attribute {node.attr!r} is off-limits in this exercise")
            chain = _dotted(node)
            if chain and chain[0] == "sys" and chain[1] in SYS_SENSITIVE:
                flag(node, f"sys.{chain[1]} is off-limits in this exercise")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in SENSITIVE:
            flag(node, f"the name {node.value!r} is off-limits in this exercise")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in DYNAMIC_ATTRIBUTE_CALLS and len(node.args) >= 2:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                flag(node, f"{node.func.id}() with a computed attribute name is off-limits in this exercise")
            elif name.value.startswith("_"):
                flag(node, f"{node.func.id}(..., {name.value!r}) is off-limits in this exercise")

    # Private internals of the third-party libraries it imported (torch._C, F._in_projection, ...).
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = _dotted(node)
            if chain and chain[0] in library_aliases and any(_private(p) for p in chain[1:]):
                flag(node, f"{'.'.join(chain)}: private library internals are off-limits")
    return list(dict.fromkeys(found))
