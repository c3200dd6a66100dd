"""No reaching into the interpreter: a static rule for every exercise that has rules.

The run-time guards (sandbox/guards.py) live in the same process as the
candidate's code. Python lets that code find and switch them off only through
introspection: the garbage collector, frames, `sys.modules`, `ctypes`,
dynamic imports, code run from strings, torch's switches for its own hooks,
and private library internals. A submission that uses any of them is
rejected before it runs, with the line named.

The rule is precise rather than broad, so that honest code passes: `from
builtins import range` (CS231n's header), `from types import SimpleNamespace`,
`self.__dict__.update(...)`, `super().__setattr__(...)`, `torch._assert` and
`getattr(torch, device_type)` are ordinary idioms that reach nothing. An
attribute name computed at run time is checked at run time: candidate code
gets its own `getattr` and friends (sandbox/attribute_rule.py, which also
holds the sensitive names, so the two halves share one list).
`RULE_TEXT` is what each exercise's README states, word for word.
"""

from __future__ import annotations

import ast
import builtins
import sys
from functools import lru_cache
from types import ModuleType

from .. import paths
from ..packs.loading import load_module_from_path
from ..submission.parsing import UnparsableSource, parse_source

# Whole modules that reach the interpreter's insides or run code from strings.
FORBIDDEN_MODULES = frozenset({
    "gc", "ctypes", "_ctypes", "cffi", "inspect", "importlib", "_thread", "marshal", "pickle", "dill",
    "cloudpickle", "shelve", "copyreg", "code", "codeop", "pydoc", "runpy", "zipimport", "pkgutil",
    "faulthandler", "tracemalloc", "sysconfig", "site", "mmap", "pdb", "bdb", "trace", "cProfile", "profile",
    "doctest", "unittest", "imp",
})
# Modules of which only some members are safe: an import names them, or uses `module.member`.
ONLY_MEMBERS = {
    "builtins": None,   # any builtin but FORBIDDEN_NAMES and the attribute functions (computed below)
    "types": frozenset({"SimpleNamespace", "MappingProxyType", "MethodType", "GeneratorType", "NoneType",
                        "EllipsisType", "NotImplementedType", "GenericAlias", "UnionType"}),
    "timeit": frozenset({"default_timer"}),
}
# Members that run code from strings or reach frames, in modules that are otherwise fine.
FORBIDDEN_MEMBERS = {
    "sys": frozenset({"modules", "_getframe", "_current_frames", "_current_exceptions", "settrace", "setprofile",
                      "meta_path", "path_hooks", "path_importer_cache", "addaudithook", "__dict__"}),
    "typing": frozenset({"get_type_hints", "ForwardRef"}),      # evaluate annotations written as strings
    "string": frozenset({"Formatter"}),                          # get_field: attribute paths from strings
    "logging": frozenset({"config"}),                            # dictConfig: objects from dotted strings
    "threading": frozenset({"settrace", "setprofile", "settrace_all_threads", "setprofile_all_threads"}),
    "os": frozenset({"sys"}),
    "operator": frozenset(),   # attrgetter / methodcaller: checked as calls below
}
FORBIDDEN_NAMES = frozenset({
    "__import__", "eval", "exec", "compile", "globals", "vars", "locals", "__builtins__", "breakpoint",
    "DisableTorchFunction", "DisableTorchFunctionSubclass", "_DisableTorchDispatch",
    "_disabled_torch_function_impl", "__torch_function__", "__torch_dispatch__",
})
ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})   # checked at run time
NAME_GETTERS = frozenset({"attrgetter", "methodcaller"})    # operator's: only with names written out
GETTER_OFF_LIMITS = frozenset({"sys"} | FORBIDDEN_NAMES | {m for members in FORBIDDEN_MEMBERS.values() for m in members})
# `self.__dict__.update(...)` and `super().__setattr__(...)` touch the candidate's own object only.
OWN_OBJECT_DUNDERS = frozenset({"__setattr__", "__getattribute__", "__delattr__", "__getattr__"})

RULE_TEXT = (
    "no reaching into the interpreter (the grader's rule checks must not be reachable from your code); "
    "rejected before it runs: importing "
    + ", ".join(f"`{m}`" for m in sorted(FORBIDDEN_MODULES, key=str.lower))
    + "; from `builtins` anything but ordinary builtins; from `types` anything but `SimpleNamespace`, "
      "`MappingProxyType`, `MethodType` and the plain type names; `sys.modules`, `sys._getframe`, "
      "`sys.settrace`/`setprofile`, `sys.meta_path` and the import hooks; `typing.get_type_hints`, "
      "`string.Formatter`, `logging.config`, `os.sys`; "
      "`eval`, `exec`, `compile`, `__import__`, `globals`, `locals`, `vars`, `breakpoint`, `__builtins__`; "
      "frames, code objects and tracebacks' frames (`f_back`, `f_globals`, `tb_frame`, `gi_frame`, `__code__`, "
      "`__globals__`, `__closure__`, `cell_contents`); `__subclasses__`, `__self__`, "
      "`__func__`, `__wrapped__`, `__reduce__`; `__dict__` and `object.__getattribute__`/`__setattr__` except "
      "on your own object (`self.__dict__.update(...)`, `super().__setattr__(...)`); rebinding `getattr`, "
      "`setattr`, `delattr`, `hasattr`, and `operator.attrgetter`/`methodcaller` with a name built at run time; "
      "torch's switches for its own hooks (`DisableTorchFunction`, `__torch_function__`, "
      "`__torch_dispatch__`) and private library internals (`torch._C`, `F._in_projection`; "
      "`torch._assert`, `torch._check` and `os._exit` are fine). "
      "`getattr(torch, device_type)` and other names built at run time are checked as your code runs: "
      "a private or listed name is refused with an `AttributeError`."
)


@lru_cache(maxsize=1)
def attribute_rule() -> ModuleType:
    """sandbox/attribute_rule.py: the sensitive names, shared with the run-time half."""
    return load_module_from_path("_dlverify_attribute_rule", paths.sandbox_dir() / "attribute_rule.py")


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return None


def _is_super_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def _method_selves(tree: ast.AST) -> dict[int, str]:
    """id(function node) -> its first parameter, for functions defined directly in a class body."""
    selves = {}
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for fn in cls.body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.args.args:
                    selves[id(fn)] = fn.args.args[0].arg
    return selves


class _Checker(ast.NodeVisitor):
    def __init__(self):
        rule = attribute_rule()
        self.sensitive = rule.SENSITIVE
        self.benign_private = rule.BENIGN_PRIVATE
        self.found: list[tuple[str, str]] = []
        self.modules: dict[str, str] = {}        # local name -> the module it is bound to
        self.libraries: set[str] = set()         # local names of third-party modules and their members
        self.parents: dict[int, ast.AST] = {}
        self.selves: dict[int, str] = {}
        self.function_stack: list[ast.AST] = []
        self.imports_read = False   # imports are read first, wherever they are (see violations)

    def flag(self, node: ast.AST, what: str) -> None:
        self.found.append(("no-introspection", f"line {getattr(node, 'lineno', '?')}: {what}"))

    def private(self, name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__")) \
            and name not in self.benign_private

    # ------------------------------------------------------------------ imports

    def visit_Import(self, node: ast.Import) -> None:
        if self.imports_read:
            return
        for alias in node.names:
            top = alias.name.partition(".")[0]
            self.check_module(node, alias.name)
            bound = alias.asname or top
            self.modules[bound] = alias.name if alias.asname else top
            if top not in sys.stdlib_module_names:
                self.libraries.add(bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if self.imports_read:
            return
        module = node.module or ""
        if node.level == 0:
            self.check_module(node, module, whole=False)
        for alias in node.names:
            name, bound = alias.name, alias.asname or alias.name
            if name in FORBIDDEN_NAMES or name in self.sensitive or name in ATTRIBUTE_FUNCTIONS \
                    or self.private(name):
                self.flag(node, f"importing {name!r} from {module!r} is off-limits")
            elif node.level == 0:
                self.check_member(node, module, name)
            if node.level == 0 and f"{module}.{name}".partition(".")[0] not in sys.stdlib_module_names:
                self.libraries.add(bound)
            self.modules.pop(bound, None)
            if node.level == 0 and name in ONLY_MEMBERS | FORBIDDEN_MEMBERS:   # `from os import sys`
                self.flag(node, f"importing {name!r} from {module!r} is off-limits")

    def check_module(self, node: ast.AST, module: str, whole: bool = True) -> None:
        parts = module.split(".")
        if parts[0] in FORBIDDEN_MODULES or module in ("logging.config",):
            self.flag(node, f"importing {module!r} reaches into the interpreter")
        elif any(self.private(p) for p in parts):
            self.flag(node, f"importing {module!r}: private library internals are off-limits")
        elif whole and parts[0] == "builtins":
            self.flag(node, "importing 'builtins' whole is off-limits (import the names you use from it)")

    def check_member(self, node: ast.AST, module: str, name: str) -> None:
        if module == "builtins":
            if not hasattr(builtins, name) or name in FORBIDDEN_NAMES or name in ATTRIBUTE_FUNCTIONS:
                self.flag(node, f"builtins.{name} is off-limits: import only ordinary builtins from it")
            return
        allowed = ONLY_MEMBERS.get(module)
        if allowed is not None and name not in allowed:
            self.flag(node, f"{module}.{name} is off-limits in this exercise")
        if name in FORBIDDEN_MEMBERS.get(module, ()):
            self.flag(node, f"{module}.{name} is off-limits in this exercise")

    # ------------------------------------------------------------------ names and attributes

    def visit_FunctionDef(self, node) -> None:
        if node.name in FORBIDDEN_NAMES:
            self.flag(node, f"defining {node.name!r} is off-limits in this exercise")
        if node.name in ATTRIBUTE_FUNCTIONS:
            self.flag(node, f"defining {node.name!r} is off-limits: it is checked as your code runs")
        self.function_stack.append(node)
        self.generic_visit(node)
        self.function_stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if node.name in ATTRIBUTE_FUNCTIONS:
            self.flag(node, f"defining {node.name!r} is off-limits: it is checked as your code runs")
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        if node.arg in ATTRIBUTE_FUNCTIONS or node.arg in FORBIDDEN_NAMES:
            self.flag(node, f"a parameter named {node.arg!r} is off-limits in this exercise")

    def visit_Global(self, node) -> None:
        for name in node.names:
            if name in ATTRIBUTE_FUNCTIONS:
                self.flag(node, f"rebinding {name!r} is off-limits: it is checked as your code runs")

    visit_Nonlocal = visit_Global

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, f"{node.id!r} is off-limits in this exercise")
        elif node.id in ATTRIBUTE_FUNCTIONS and not isinstance(node.ctx, ast.Load):
            self.flag(node, f"rebinding {node.id!r} is off-limits: it is checked as your code runs")
        elif isinstance(node.ctx, ast.Load) and self.modules.get(node.id) in ("sys", "types", "builtins") \
                and not isinstance(self.parents.get(id(node)), ast.Attribute):
            self.flag(node, f"the module {self.modules[node.id]!r} itself is off-limits as a value")

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg in self.sensitive:      # `x.__dict__.update(meta_path=...)`
            self.flag(node, f"the name {node.arg!r} is off-limits in this exercise")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr in self.sensitive or attr in OWN_OBJECT_DUNDERS:
            if not self.own_object(node):
                self.flag(node, f"the attribute {attr!r} is off-limits in this exercise")
        if attr == "sys":
            self.flag(node, "a module's own 'sys' is off-limits in this exercise")
        chain = _dotted(node)
        if chain and len(chain) >= 2 and chain[0] in self.modules:
            module = self.modules[chain[0]]
            if module.partition(".")[0] in ONLY_MEMBERS or module in FORBIDDEN_MEMBERS:
                self.check_member(node, module, chain[1])
        if chain and chain[0] in self.libraries and any(self.private(p) for p in chain[1:]):
            self.flag(node, f"{'.'.join(chain)}: private library internals are off-limits")
        if chain and chain[0] in self.modules and self.modules[chain[0]] in sys.stdlib_module_names \
                and self.private(chain[1]):
            self.flag(node, f"{'.'.join(chain[:2])}: private internals are off-limits")
        self.generic_visit(node)

    def own_object(self, node: ast.Attribute) -> bool:
        """`self.__dict__.update(...)` in a method, or `super().__setattr__(...)`: the candidate's own object.

        Only the zero-argument `super()` or `super(Class, self)` inside a method counts: with other
        arguments, `super(type(os), os).__getattribute__("sys")` reads any object's attributes."""
        if node.attr in OWN_OBJECT_DUNDERS:
            return self.own_super(node.value)
        if node.attr != "__dict__" or not isinstance(node.value, ast.Name) or not self.function_stack:
            return False
        if self.selves.get(id(self.function_stack[-1])) != node.value.id:
            return False
        parent = self.parents.get(id(node))
        grand = self.parents.get(id(parent))
        return isinstance(parent, ast.Attribute) and parent.attr == "update" and isinstance(grand, ast.Call) \
            and grand.func is parent

    def own_super(self, node: ast.AST) -> bool:
        if not _is_super_call(node) or node.keywords or not self.function_stack:
            return False
        if not node.args:
            return True
        me = self.selves.get(id(self.function_stack[-1]))
        return len(node.args) == 2 and isinstance(node.args[1], ast.Name) and me is not None \
            and node.args[1].id == me

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and (node.value in self.sensitive or node.value in FORBIDDEN_NAMES):
            self.flag(node, f"the name {node.value!r} is off-limits in this exercise")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name in NAME_GETTERS:
            for arg in node.args:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    self.flag(node, f"{name}() with a name built at run time is off-limits in this exercise")
                elif any(self.private(p) or p in self.sensitive or p in GETTER_OFF_LIMITS
                         for p in arg.value.split(".")):
                    # attrgetter runs in C, past the run-time attribute rule: judged here in full
                    self.flag(node, f"{name}({arg.value!r}) is off-limits in this exercise")
        elif isinstance(func, ast.Name) and name in ATTRIBUTE_FUNCTIONS and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and self.private(arg.value):
                self.flag(node, f"{name}(..., {arg.value!r}) is off-limits in this exercise")
        self.generic_visit(node)


def violations(source: str) -> list[tuple[str, str]]:
    try:
        tree = parse_source(source)
    except UnparsableSource as exc:  # the candidate's `rejected`, never the grader's `error`
        return [("unparsable", str(exc))]
    checker = _Checker()
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            checker.parents[id(child)] = parent
    checker.selves = _method_selves(tree)
    # Imports first, wherever they are, so a use above a late import is judged by it too.
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            checker.visit_Import(node)
        elif isinstance(node, ast.ImportFrom):
            checker.visit_ImportFrom(node)
    checker.imports_read = True
    checker.visit(tree)
    return list(dict.fromkeys(checker.found))
