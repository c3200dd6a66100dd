"""Run-time rule checks inside the worker: imports, torch ops, Triton launches, and their integrity.

They run in the same process as the candidate's code, so a determined
submission can get around some of them; they are one layer among several (the
host's static check, the filesystem allow-list that leaves out every package
the exercise does not need, the host-side comparison). What makes them hard
to dodge:

- imports are checked in a meta-path finder and in `__import__` / `importlib`,
  and who imports is decided by the code's file (sandbox/import_guard.py, a
  base class of Guards);
- forbidden aten ops are replaced, at the dispatcher, by a kernel that reports
  and raises: in every thread, through every Python route (getattr, aliases,
  torch.ops, autograd), with a registration handle kept out of Python's reach;
- torch-function names are watched by a mode during the call, and in every
  thread the candidate starts;
- where the rules give an allow-list of aten ops (`allowed_ops`), a dispatch
  mode sees every aten op and higher-order op of the call, whatever Python
  route reached it (functions, methods, operators, torch.ops, nn.functional,
  a Tensor subclass, a C++ extension calling ATen), and any op not on the list
  is a violation when it is the candidate's: the harness's own ops (the
  driver, the digest) and Triton's launch plumbing are not charged to it;
  registering new kernels for torch ops (torch.library) is refused there too;
- after each call the hooks are checked still in place; tampering is a violation.

Each violation is reported the moment it happens, so undoing a hook afterwards
cannot take back a report already sent.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
import threading
import warnings
import _thread
from contextlib import ExitStack, contextmanager
from typing import Callable

try:
    from import_guard import ImportGuard   # in the worker, sandbox/ is on sys.path
except ModuleNotFoundError:                # loaded by path on the host (the calibration, tests)
    import importlib.util as _util

    _spec = _util.spec_from_file_location("import_guard", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                       "import_guard.py"))
    _module = _util.module_from_spec(_spec)
    sys.modules["import_guard"] = _module
    _spec.loader.exec_module(_module)
    ImportGuard = _module.ImportGuard

_HERE = os.path.dirname(os.path.abspath(__file__))
# Every dispatch key a kernel of a forbidden op could hide behind.
_BLOCK_KEYS = ("CPU", "CUDA", "XPU", "MPS", "CompositeImplicitAutograd", "CompositeExplicitAutograd",
               "CompositeExplicitAutogradNonFunctional", "SparseCPU", "SparseCUDA", "QuantizedCPU",
               "QuantizedCUDA", "NestedTensorCPU", "NestedTensorCUDA", "MkldnnCPU", "PrivateUse1")


def _trusted_roots() -> tuple[str, ...]:
    """Folders whose code is the grader's or a library's, never the candidate's."""
    roots = {_HERE}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_path(key)
        if path:
            roots.add(os.path.realpath(path))
    roots |= {os.path.realpath(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return tuple(r.rstrip("/") + "/" for r in roots)


def _own_code(cls: type) -> dict[str, object]:
    """Every attribute of the guards' classes (Guards and the rules it inherits), by name: a
    method swapped on a base class is as much tampering as one swapped on Guards."""
    code: dict[str, object] = {}
    for klass in reversed(cls.__mro__[:-1]):  # object's own attributes are nobody's to check
        code.update({f"{name}" if klass is cls else f"{klass.__name__}.{name}": value
                     for name, value in vars(klass).items()})
    return code


RULE_FIELDS = ("forbidden_imports", "allowed_imports", "forbidden_ops", "allowed_ops", "require_triton_launch",
               "report", "_trusted")


class Guards(ImportGuard):
    def __init__(self, rules: dict, report: Callable[[str, str], None], trusted: tuple[str, ...] = ()):
        """trusted: more folders whose code is never the candidate's (the host's own package, where
        the host runs the watch to measure what it costs: its calibration)."""
        self.forbidden_imports = tuple(rules.get("forbidden_imports") or ())
        allowed = rules.get("allowed_imports")
        self.allowed_imports = None if allowed is None else set(allowed) | set(sys.stdlib_module_names)
        self.forbidden_ops = frozenset(rules.get("forbidden_ops") or ())
        allowed_ops = rules.get("allowed_ops")
        self.allowed_ops = None if allowed_ops is None else frozenset(allowed_ops)
        self.require_triton_launch = bool(rules.get("require_triton_launch"))
        self.report = report
        self.violations: list[tuple[str, str]] = []
        self.triton_launches = 0
        self._trusted = _trusted_roots() + tuple(os.path.realpath(t).rstrip("/") + "/" for t in trusted)
        self._hooks: dict[str, tuple[object, str, object]] = {}  # what -> (owner, attribute, our object)
        self._modes: Callable[[], ExitStack] | None = None
        self._blocked_ops = 0
        self._triton_root: tuple[str, ...] | None = None

    def _violate(self, rule: str, detail: str) -> None:
        self.violations.append((rule, detail))
        try:
            self.report(rule, detail)
        except OSError:
            os._exit(3)  # the report pipe is gone: never carry on as if nothing happened

    def install(self) -> None:
        self.install_import_hook()
        self.count_triton_launches()
        self.block_forbidden_ops()
        self.refuse_op_registration()
        self.watch_new_threads()
        self.block_dlpack()
        # The guards' own code and rules, as installed: a submission that reaches this class or
        # this object and swaps a method (`Guards._judge_op = ...`) or a rule is tampering too.
        self._own_code = _own_code(type(self))
        self._own_rules = {k: getattr(self, k) for k in RULE_FIELDS}

    @property
    def watching_ops(self) -> bool:
        """Whether calls run under the op watch (a deny-list, an allow-list, or both)."""
        return bool(self.forbidden_ops or self.allowed_ops is not None) and "torch" in sys.modules

    # -- torch ops -------------------------------------------------------------
    def block_forbidden_ops(self) -> None:
        """Replace every kernel of every forbidden aten op with one that reports and raises."""
        if not self.forbidden_ops or "torch" not in sys.modules:
            return
        import torch

        module = torch._C._dispatch_library("IMPL", "aten", "")
        guards = self

        def kernel_for(name: str):
            def forbidden(*args, **kwargs):
                guards._violate("forbidden-op", f"aten op {name!r} is not allowed in this exercise")
                raise RuntimeError(f"dlverify: calling {name!r} is not allowed in this exercise")
            return forbidden

        # torch warns when a kernel is replaced ("Overriding a previously registered kernel"): that
        # is our doing, and would otherwise sit in the candidate's stderr as if theirs. Silenced
        # around the registration only; the candidate's own warnings are kept.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*Overriding a previously registered kernel",
                                    category=UserWarning)
            self._register_blocks(torch, module, kernel_for)
        # Keep the registrations alive with a reference Python cannot see (the module is not
        # tracked by the garbage collector), so no submission can find the handle and drop them.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(module))
        del module

    def _register_blocks(self, torch, module, kernel_for) -> None:
        for name in sorted(self.forbidden_ops):
            try:
                packet = getattr(torch.ops.aten, name)
                overloads = packet.overloads()
            except (AttributeError, RuntimeError):
                continue  # a Python-level name (Tensor.numpy, __pow__...): the function mode watches it
            for overload in overloads:
                schema = name if overload == "default" else f"{name}.{overload}"
                for key in _BLOCK_KEYS:
                    try:
                        if torch._C._dispatch_has_kernel_for_dispatch_key(f"aten::{schema}", key):
                            module.impl(schema, key, kernel_for(name), False)
                            self._blocked_ops += 1
                    except (RuntimeError, ValueError):
                        pass

    # -- the allow-list: whose op is it? ------------------------------------------
    def _in_triton(self, filename: str) -> bool:
        if self._triton_root is None:
            triton = sys.modules.get("triton")
            path = getattr(triton, "__file__", None)
            if not path:
                return False  # not loaded yet: no frame of it can be on the stack
            # as imported and as resolved: co_filename keeps the path the import used
            self._triton_root = tuple({os.path.dirname(os.path.abspath(path)) + "/",
                                       os.path.dirname(os.path.realpath(path)) + "/"})
        return filename.startswith(self._triton_root)

    def _charged_to_candidate(self) -> bool:
        """Is the op running now the candidate's? The innermost frame that is neither torch's, the
        standard library's nor the grader's decides. A candidate frame: yes (a stdlib helper called by
        the candidate, or torch's own Python, launders nothing). A frame of Triton's: no, it is the
        launch itself (the interpreter copies each argument to the host and back with torch). No
        candidate frame at all: the harness's own work around the call (the driver, the digest).
        Generated code ("<string>") is passed over: the static rules leave a candidate no way to make it."""
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if self._in_triton(filename):
                return False
            if not filename.startswith("<") and self._candidate_code(filename):
                return True
            frame = frame.f_back
        return False

    def _deny(self, name: str, kind: str) -> None:
        if name in self.forbidden_ops:
            self._violate("forbidden-op", f"{kind} {name!r} is not allowed in this exercise")
            raise RuntimeError(f"dlverify: calling {name!r} is not allowed in this exercise")

    def _judge_op(self, name: str, kind: str) -> None:
        """A dispatched op: the deny-list, whoever calls; then the allow-list, for the candidate's ops."""
        self._deny(name, kind)
        if self.allowed_ops is not None and name not in self.allowed_ops and self._charged_to_candidate():
            why = (f"{kind} {name!r} is not allowed: inside the graded call torch may only allocate, take "
                   "views and launch your kernels (allowed_ops in exercise.toml)")
            self._violate("forbidden-op", why)
            raise RuntimeError(f"dlverify: {why}")

    def block_dlpack(self) -> None:
        """DLPack hands a tensor's memory to another library with no aten op and no watched name:
        a red team computed the softmax in numpy that way (numpy reached as an attribute of
        Triton's interpreter). Where the rules forbid `__dlpack__`, every DLPack export torch has
        refuses the candidate's calls, in and out of the graded call; Triton's own stay free."""
        if "__dlpack__" not in self.forbidden_ops or "torch" not in sys.modules:
            return
        import torch
        import torch.utils.dlpack as dlpack

        guards = self
        targets = [(torch.Tensor, "__dlpack__"), (torch, "to_dlpack"), (dlpack, "to_dlpack")]
        targets += [(torch._C, name) for name in dir(torch._C) if "dlpack" in name.lower() and "from" not in name]
        for owner, attribute in targets:
            real = owner.__dict__.get(attribute) if isinstance(owner, type) else getattr(owner, attribute, None)
            if real is None:
                continue

            def refused(*args, _real=real, _name=attribute, **kwargs):
                if guards._charged_to_candidate():
                    guards._violate("forbidden-op", f"DLPack export {_name!r} is not allowed in this exercise")
                    raise RuntimeError(f"dlverify: calling {_name!r} is not allowed in this exercise")
                return _real(*args, **kwargs)

            setattr(owner, attribute, refused)
            self._hooks[f"{getattr(owner, '__name__', owner)}.{attribute}"] = (owner, attribute, refused)

    @contextmanager
    def after_call(self):
        """The op watch alone (no launch rule), for the worker's own work on what a call returned
        (checking inputs, encoding outputs): a submission that patched a function this work calls
        (torch.save, Tensor.detach) runs its code under the same rules as in the call."""
        if self.watching_ops:
            with self._mode_stack():
                yield
        else:
            yield

    def refuse_op_registration(self) -> None:
        """With an allow-list, no new kernels for torch ops: a Python kernel registered for an allowed op
        (torch.library) would run below the dispatch watch, which is off while its own handler runs."""
        if self.allowed_ops is None or "torch" not in sys.modules:
            return
        import torch

        real = torch._C._dispatch_library
        library_files = tuple(os.path.join(os.path.dirname(os.path.realpath(torch.__file__)), name)
                              for name in ("library.py", "_library" + os.sep))
        guards = self

        def dispatch_library(*args, **kwargs):
            # The frame that called into torch.library decides (torch's own lazy registrations pass).
            frame = sys._getframe(1)
            while frame is not None and (frame.f_code.co_filename.startswith(library_files)
                                         or frame.f_code.co_filename.startswith("<")):
                frame = frame.f_back
            if frame is not None and guards._candidate_code(frame.f_code.co_filename):
                why = "registering kernels for torch ops (torch.library) is not allowed in this exercise"
                guards._violate("forbidden-op", why)
                raise RuntimeError(f"dlverify: {why}")
            return real(*args, **kwargs)

        torch._C._dispatch_library = dispatch_library
        self._hooks["torch._C._dispatch_library"] = (torch._C, "_dispatch_library", dispatch_library)

    def _mode_stack(self) -> ExitStack:
        import torch  # noqa: F401
        from torch.overrides import TorchFunctionMode
        from torch.utils._python_dispatch import TorchDispatchMode

        guards = self

        class FunctionWatch(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                name = getattr(func, "__name__", "")
                # Names are judged as the candidate's calls: the Triton interpreter's own
                # untyped_storage() and the digest's numpy() on the host are not cheating.
                if name in guards.forbidden_ops and guards._charged_to_candidate():
                    guards._deny(name, "torch function")
                return func(*args, **(kwargs or {}))

        class DispatchWatch(TorchDispatchMode):
            # Higher-order ops (flex_attention, cond, ...) come here too, to be judged like any op:
            # without this torch raises NotImplementedError at them, a crash instead of a verdict.
            supports_higher_order_operators = True

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                packet = getattr(func, "overloadpacket", None)
                if packet is not None:
                    guards._judge_op(packet.__name__, "aten op")
                else:
                    guards._judge_op(str(getattr(func, "_name", "") or getattr(func, "__name__", "")),
                                     "higher-order op")
                return func(*args, **(kwargs or {}))

        stack = ExitStack()
        stack.enter_context(FunctionWatch())
        stack.enter_context(DispatchWatch())
        return stack

    def watch_new_threads(self) -> None:
        """Threads the candidate starts run under the same watch as the call itself."""
        if not self.watching_ops:
            return
        real_start = _thread.start_new_thread
        guards = self

        def start_new_thread(function, args=(), kwargs=None, *rest):
            def watched(*a, **k):
                with guards._mode_stack():
                    return function(*a, **k)
            return real_start(watched, args, kwargs or {}, *rest)

        # _thread.start_new is the old alias of start_new_thread: the same function, still exported.
        for owner, attribute in ((_thread, "start_new_thread"), (_thread, "start_new"),
                                 (threading, "_start_new_thread")):
            if not hasattr(owner, attribute):
                continue
            setattr(owner, attribute, start_new_thread)
            self._hooks[f"{owner.__name__}.{attribute}"] = (owner, attribute, start_new_thread)

    @contextmanager
    def watching_call(self):
        """Around one call of the candidate's code: the mode watch, then the Triton launch rule."""
        launches_before = self.triton_launches
        if self.watching_ops:
            with self._mode_stack():
                yield
        else:
            yield
        if self.require_triton_launch and self.triton_launches == launches_before:
            self._violate("triton-launch", "the call launched no @triton.jit kernel")

    # -- Triton ----------------------------------------------------------------
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
            self._hooks[f"{cls.__name__}.run"] = (cls, "run", counted_run)

    # -- integrity -------------------------------------------------------------
    def check_intact(self, when: str) -> None:
        """Every hook still ours, the finder still on the path: anything else is tampering."""
        broken = [what for what, (owner, attribute, ours) in self._hooks.items()
                  if owner.__dict__.get(attribute) is not ours]
        if getattr(self, "_finder", None) is not None and not any(f is self._finder for f in sys.meta_path):
            broken.append("sys.meta_path")
            self._finder = None
        own_code = getattr(self, "_own_code", None)
        if own_code is not None:
            now = _own_code(type(self))
            changed = [name for name in set(own_code) | set(now) if now.get(name) is not own_code.get(name)]
            changed += [name for name, value in self._own_rules.items() if self.__dict__.get(name) is not value]
            if changed:
                broken.append("the guards' own " + ", ".join(sorted(changed)[:5]))
                self._own_code = now
                self._own_rules = {k: self.__dict__.get(k) for k in RULE_FIELDS}
        if broken:
            self._hooks = {k: v for k, v in self._hooks.items() if k not in broken}  # report each once
            self._violate("tampering", f"the submission undid the grader's checks {when} ({', '.join(broken)})")
