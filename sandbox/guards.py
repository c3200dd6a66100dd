"""Run-time rule checks inside the child: imports, torch ops, Triton launches.

They run in the same process as the candidate's code, so a determined
submission could tear them down; they are one layer among several (the host's
static check, the filesystem allow-list, the host-side comparison). Each
violation is reported on the channel the moment it happens, so undoing a hook
afterwards cannot take back a report already sent.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from contextlib import ExitStack, contextmanager
from typing import Callable

SUBMISSION = "submission"


def _called_from_submission(depth: int = 2) -> bool:
    """True when the nearest frame outside the import machinery is the submission's."""
    frame = sys._getframe(depth)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.startswith("importlib") or name == __name__:
            frame = frame.f_back
            continue
        return name == SUBMISSION
    return False


class Guards:
    def __init__(self, rules: dict, report: Callable[[str, str], None]):
        self.forbidden_imports = tuple(rules.get("forbidden_imports") or ())
        allowed = rules.get("allowed_imports")
        self.allowed_imports = None if allowed is None else set(allowed) | set(sys.stdlib_module_names)
        self.forbidden_ops = frozenset(rules.get("forbidden_ops") or ())
        self.require_triton_launch = bool(rules.get("require_triton_launch"))
        self.report = report
        self.violations: list[tuple[str, str]] = []
        self.triton_launches = 0

    def _violate(self, rule: str, detail: str) -> None:
        self.violations.append((rule, detail))
        self.report(rule, detail)

    # -- imports ---------------------------------------------------------
    def _import_allowed(self, name: str, fromlist) -> str | None:
        top = name.partition(".")[0]
        if self.allowed_imports is not None and top not in self.allowed_imports:
            return f"importing {top!r} is not allowed (allowed: the standard library and " \
                   f"{', '.join(sorted(set(self.allowed_imports) - set(sys.stdlib_module_names)))})"
        for item in [name] + [f"{name}.{f}" for f in (fromlist or ()) if isinstance(f, str)]:
            for banned in self.forbidden_imports:
                if item == banned or item.startswith(banned + "."):
                    return f"importing {item!r} is not allowed"
        return None

    def install_import_hook(self) -> None:
        real_import = builtins.__import__
        real_import_module = importlib.import_module
        guards = self

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and _called_from_submission():
                why = guards._import_allowed(name, fromlist)
                if why:
                    guards._violate("forbidden-import", why)
                    raise ImportError(f"dlverify: {why}")
            return real_import(name, globals, locals, fromlist, level)

        def guarded_import_module(name, package=None):
            if not name.startswith(".") and _called_from_submission():
                why = guards._import_allowed(name, ())
                if why:
                    guards._violate("forbidden-import", why)
                    raise ImportError(f"dlverify: {why}")
            return real_import_module(name, package)

        builtins.__import__ = guarded_import
        importlib.import_module = guarded_import_module

    # -- torch ops -------------------------------------------------------
    @contextmanager
    def watching_ops(self):
        """Flag forbidden torch functions and aten ops while the candidate's call runs."""
        if not self.forbidden_ops or "torch" not in sys.modules:
            yield
            return
        import torch
        from torch.overrides import TorchFunctionMode
        from torch.utils._python_dispatch import TorchDispatchMode

        guards = self

        def check(name: str, kind: str) -> None:
            if name in guards.forbidden_ops:
                guards._violate("forbidden-op", f"{kind} {name!r} is not allowed in this exercise")
                raise RuntimeError(f"dlverify: calling {name!r} is not allowed in this exercise")

        class FunctionWatch(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                check(getattr(func, "__name__", ""), "torch function")
                return func(*args, **(kwargs or {}))

        class DispatchWatch(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                check(func.overloadpacket.__name__, "aten op")
                return func(*args, **(kwargs or {}))

        with ExitStack() as stack:
            stack.enter_context(FunctionWatch())
            stack.enter_context(DispatchWatch())
            yield
        del torch

    # -- Triton ----------------------------------------------------------
    def count_triton_launches(self) -> None:
        """Count kernel launches through every runner class Triton uses (compiled or interpreted)."""
        if not self.require_triton_launch:
            return
        import triton.runtime.jit as jit

        classes = [jit.JITFunction]
        try:
            from triton.runtime.interpreter import InterpretedFunction

            classes.append(InterpretedFunction)
        except ImportError:
            pass
        guards = self
        for cls in classes:
            real_run = cls.run

            def counted_run(self, *args, _real=real_run, **kwargs):
                guards.triton_launches += 1
                return _real(self, *args, **kwargs)

            cls.run = counted_run
