"""The names a submission must define (the manifest's entry_points), checked statically, once.

Without this an empty file ran the sandbox once per case, 22 times for attention, and said
"does not define attention" 22 times. A name counts as defined when the module binds it at
the top level: a def, a class, an assignment (plain, annotated, augmented, a tuple's part, a
`for` target, `:=`), an import (`import x as name`, `from m import name`), or inside a top-level
`if`/`try`/`with`/`for`/`while`/`match` block, or by `global name` in a function. `from m import *`
may bind anything, so it satisfies every name (the sandbox then says what is really there).
Parsing runs no candidate code.
"""

from __future__ import annotations

import ast
from typing import Iterable, Iterator

_BLOCKS = (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While) + \
    ((ast.TryStar,) if hasattr(ast, "TryStar") else ()) + ((ast.Match,) if hasattr(ast, "Match") else ())


def _targets(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement the module runs at its top level, blocks entered, functions and classes not."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, _BLOCKS):
            for field in ("body", "orelse", "finalbody"):
                yield from _top_level(getattr(stmt, field, None) or [])
            for part in (getattr(stmt, "handlers", None) or []) + (getattr(stmt, "cases", None) or []):
                yield from _top_level(part.body)


def bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    """The names the module binds at the top level, and whether a star import may bind more."""
    names: set[str] = set()
    star = False
    for stmt in _top_level(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for alias in stmt.names:
                if alias.name == "*":
                    star = True
                else:
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                names.update(_targets(target))
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            names.update(_targets(stmt.target))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    names.update(_targets(item.optional_vars))
    for node in ast.walk(tree):
        if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Global):
            names.update(node.names)
    return names, star


def missing_names(tree: ast.Module, required: Iterable[str]) -> list[str]:
    """The required names the module surely does not define, in the manifest's order."""
    names, star = bound_names(tree)
    return [] if star else [name for name in required if name not in names]
