"""Rules checked by reading the source (no execution): imports the exercise forbids.

The run-time guards in sandbox/guards.py check the same rules as the code
runs; this catches what is plainly written, before anything starts, and names
the line.
"""

from __future__ import annotations

import ast
import sys

from ..packs.manifest import Rules
from ..submission.parsing import UnparsableSource, parse_source


def _imported_names(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def _bound_modules(tree: ast.AST) -> dict[str, str]:
    """Local name -> the dotted module (or module member) an import binds to it."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    bound[top] = top  # `import torch.optim` binds `torch`
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _reached_names(tree: ast.AST, bound: dict[str, str]):
    """(line, dotted name) for every attribute chain rooted at an imported name: `torch.optim.SGD`
    reaches `torch.optim` as surely as importing it does."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        parts, inner = [], node
        while isinstance(inner, ast.Attribute):
            parts.append(inner.attr)
            inner = inner.value
        if isinstance(inner, ast.Name) and inner.id in bound:
            yield node.lineno, ".".join([bound[inner.id]] + parts[::-1])


def violations(source: str, rules: Rules) -> list[tuple[str, str]]:
    """[(rule, detail)] for every import the rules forbid; ("unparsable", why) for a source that
    cannot be parsed (never an exception: that would be the grader's `error`)."""
    try:
        tree = parse_source(source)
    except UnparsableSource as exc:
        return [("unparsable", str(exc))]
    allowed = None if rules.allowed_imports is None else set(rules.allowed_imports) | set(sys.stdlib_module_names)
    found = []
    for line, name in _imported_names(tree):
        top = name.partition(".")[0]
        if allowed is not None and top not in allowed:
            found.append(("forbidden-import", f"line {line}: importing {top!r} is not allowed"))
            continue
        for banned in rules.forbidden_imports:
            if name == banned or name.startswith(banned + "."):
                found.append(("forbidden-import", f"line {line}: importing {name!r} is not allowed"))
    if rules.forbidden_imports:
        for line, name in _reached_names(tree, _bound_modules(tree)):
            for banned in rules.forbidden_imports:
                if name == banned or name.startswith(banned + "."):
                    found.append(("forbidden-import", f"line {line}: using {banned!r} is not allowed "
                                                      "(reaching it by attribute counts as importing it)"))
    unique = list(dict.fromkeys(found))
    return unique
