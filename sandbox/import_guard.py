"""The run-time import rule, one of the worker's guards (sandbox/guards.py holds the rest).

Imports are checked in a meta-path finder (every import route that loads a module passes
there) and in `__import__` / `importlib.import_module` (routes that reuse a loaded one). Who
imports is decided by the code's file, not by a `__name__` the candidate can set: the nearest
frame outside the import machinery (and outside these guards) decides.
"""

from __future__ import annotations

import builtins
import importlib
import os
import sys

# Frames never charged to anyone: the import machinery and the guards' own files.
MACHINERY = ("<frozen importlib._bootstrap", os.path.join(os.path.dirname(importlib.__file__), "__init__.py"),
             os.path.abspath(__file__), os.path.join(os.path.dirname(os.path.abspath(__file__)), "guards.py"))


class ImportGuard:
    """Mixed into Guards, which gives it allowed_imports, forbidden_imports, _trusted, _hooks
    and _violate."""

    # -- who is importing ----------------------------------------------------
    def _candidate_code(self, filename: str) -> bool:
        if filename.startswith("<frozen "):
            return False
        return not (filename.startswith(self._trusted) and os.path.isfile(filename))

    def _from_candidate(self, name: str, depth: int) -> bool:
        """Is this import the candidate's? The nearest frame outside the import machinery decides,
        so that libraries keep their own lazy imports. With an allow-list, a candidate frame anywhere
        on the stack counts too (a stdlib helper such as runpy must not launder the import), as long
        as the module is really there to be had: the standard library's own optional imports of
        modules that do not exist (copy tries `org.python.core`) are nobody's violation."""
        frame = sys._getframe(depth)
        nearest = True
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(MACHINERY):
                frame = frame.f_back
                continue
            if self._candidate_code(filename):
                return nearest or self._findable(name)
            if nearest and self.allowed_imports is None:
                return False
            nearest = False
            frame = frame.f_back
        return False

    @staticmethod
    def _findable(name: str) -> bool:
        import importlib.machinery

        top = name.partition(".")[0]
        try:
            return top in sys.modules or top in sys.builtin_module_names or \
                importlib.machinery.PathFinder.find_spec(top) is not None
        except (ImportError, ValueError, OSError):
            return False

    def _import_allowed(self, name: str, fromlist) -> str | None:
        top = name.partition(".")[0]
        if self.allowed_imports is not None and top not in self.allowed_imports:
            extra = sorted(set(self.allowed_imports) - set(sys.stdlib_module_names))
            allowed = f"the standard library and {', '.join(extra)}" if extra else "the standard library only"
            return f"importing {top!r} is not allowed (allowed: {allowed})"
        for item in [name] + [f"{name}.{f}" for f in (fromlist or ()) if isinstance(f, str)]:
            for banned in self.forbidden_imports:
                if item == banned or item.startswith(banned + "."):
                    return f"importing {item!r} is not allowed"
        return None

    def _check_import(self, name: str, fromlist, depth: int) -> None:
        if not isinstance(name, str) or name.startswith("."):
            return
        why = self._import_allowed(name, fromlist)
        if why and self._from_candidate(name, depth + 1):
            self._violate("forbidden-import", why)
            raise ImportError(f"dlverify: {why}")

    def install_import_hook(self) -> None:
        real_import = builtins.__import__
        real_import_module = importlib.import_module
        guards = self

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0:
                guards._check_import(name, fromlist, 2)
            return real_import(name, globals, locals, fromlist, level)

        def guarded_import_module(name, package=None):
            guards._check_import(name, (), 2)
            return real_import_module(name, package)

        class RuleFinder:
            """First on sys.meta_path: sees every import that has to find a module."""

            @staticmethod
            def find_spec(fullname, path=None, target=None):
                guards._check_import(fullname, (), 2)
                return None

        self._finder = RuleFinder
        sys.meta_path.insert(0, RuleFinder)
        for owner, attribute, ours in ((builtins, "__import__", guarded_import),
                                       (importlib, "import_module", guarded_import_module),
                                       (importlib, "__import__", guarded_import)):
            setattr(owner, attribute, ours)
            self._hooks[f"{owner.__name__}.{attribute}"] = (owner, attribute, ours)
