"""YAML with line numbers: every value keeps the line it was written on, so that an error in a
deeply nested field can name the file and the line."""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[Any, ...]


class YAMLSourceError(ValueError):
    """The text is not valid YAML (or has a duplicate key); carries the line."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML safely; returns the data and a map from each key path to its 1-based line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = f"{e.problem or e}" + (f" ({e.context})" if e.context else "")
        raise YAMLSourceError(f"invalid YAML: {msg}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise YAMLSourceError(f"invalid YAML: {e}", None) from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines
    constructor = yaml.SafeLoader("")

    def walk(n: yaml.Node, path: Path_) -> Any:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            constructor.flatten_mapping(n)
            out: dict[Any, Any] = {}
            for k, v in n.value:
                key = constructor.construct_object(k, deep=True)
                if isinstance(key, list):
                    key = tuple(key)
                if key in out:
                    raise YAMLSourceError(f"duplicate key {key!r}", k.start_mark.line + 1)
                lines[path + (key,)] = k.start_mark.line + 1
                out[key] = walk(v, path + (key,))
                lines[path + (key,)] = k.start_mark.line + 1
            return out
        if isinstance(n, yaml.SequenceNode):
            return [walk(v, path + (i,)) for i, v in enumerate(n.value)]
        try:
            return constructor.construct_object(n, deep=True)
        except yaml.constructor.ConstructorError as e:
            raise YAMLSourceError(f"invalid value: {e.problem}", n.start_mark.line + 1) from None

    return walk(node, ()), lines


def line_for(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the longest prefix of `loc` that was written in the file."""
    loc = tuple(loc)
    for i in range(len(loc), -1, -1):
        if loc[:i] in lines:
            return lines[loc[:i]]
    return None
