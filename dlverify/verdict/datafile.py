"""Reading the verdict engine's input files: YAML or JSON, strictly.

PyYAML quietly keeps the last of two equal keys; a questionnaire file that says
`cuda: 2` and later `cuda: 9` must not be read as either, so duplicates are an
error here, with the line they are on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A file could not be read or parsed; the message names the file."""


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when present: 10x faster
    pass


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key]})", key_node.start_mark
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def parse_text(text: str, name: str, *, json_only: bool = False) -> Any:
    """Parse YAML (a superset of the JSON we accept) or, with json_only, JSON."""
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "unreadable"
        raise DataFileError(f"{name}: not valid YAML ({where}{problem})") from None
    except yaml.YAMLError as exc:
        raise DataFileError(f"{name}: not valid YAML ({exc})") from None


def read_data_file(path: Path) -> Any:
    """Read a .json file as JSON and anything else as YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a folder, not a file") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_text(text, str(path), json_only=path.suffix.lower() == ".json")
