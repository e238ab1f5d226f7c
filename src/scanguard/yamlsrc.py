"""YAML for the workspace's files: plain data read by YAML 1.2 rules, every value with its line.

PyYAML alone reads YAML 1.1, where `start: 22:00` is 79200 (base 60), `0443` is octal 291 and
`icmp: no` is a boolean; it expands aliases, so a few lines ("billion laughs") can take gigabytes,
and a self-referencing alias loops. Here:

- scalars resolve by the YAML 1.2 core schema: `22:00`, `yes`, `no`, `on`, `off` and dates are
  text (the model parses what it expects), `0443` is 443, `7100.0` is a float (which no port or
  count accepts), only `true`/`false` are booleans;
- aliases (`*name`), merge keys (`<<`) and explicit tags (`!!int`) are refused with their line: a
  workspace file is plain data, and refusing aliases stops alias bombs before anything expands;
- nesting depth and file size are bounded, duplicate keys and keys that are not scalars refused.

libyaml (PyYAML's C parser) builds the node tree when it is installed, the pure-Python parser
otherwise; both trees carry their marks and go through the same checks below, so the rules and
the line numbers are the same on either path.

With libyaml, a file is first read from its parser's events, without building the node tree
(a third faster; a first load parses 20,000 files). That path takes only the plain case: block
and flow mappings and lists of scalars, text keys, no anchor, alias, tag, duplicate or merge
key, shallow nesting, one document. Anything else, and any error, sends the file down the node
path, which gives the same data or raises the error with its line; the lines of a file read
from events are worked out from its node tree when first asked. A property test holds the two
paths to the same answers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

Path_ = tuple[Any, ...]

MAX_CHARS = 2 * 1024 * 1024
"""A workspace file is a few kilobytes; anything above this is refused before parsing."""
MAX_DEPTH = 64
"""The deepest nesting a workspace file may use (a profile needs six levels)."""

_PLAIN = "!scanguard/plain"  # a plain scalar without a tag: resolved below by the core schema
_TEXT = "!scanguard/text"  # a quoted or block scalar, or one tagged '!': always text
_COLLECTION = "!scanguard/collection"


class YAMLSourceError(ValueError):
    """The text is not a valid workspace YAML file; carries the 1-based line (None: the file)."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


class _MarkResolver:
    """Leaves scalar typing to `core_scalar` and marks every tag the author wrote explicitly."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _TEXT
        return _COLLECTION


class _PyLoader(_MarkResolver, yaml.SafeLoader):
    """The pure-Python parser (always available)."""


LOADERS: dict[str, type] = {"python": _PyLoader}
"""The parsers that can build the node tree, by name ("c" when libyaml is installed)."""
if getattr(yaml, "__with_libyaml__", False):

    class _CLoader(_MarkResolver, yaml.CSafeLoader):
        """libyaml's parser: the same node tree with the same marks, about 20 times faster."""

    LOADERS["c"] = _CLoader
DEFAULT_PARSER = "c" if "c" in LOADERS else "python"

_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_MAYBE_NOT_TEXT = frozenset("0123456789+-.~nNtTfF")


def core_scalar(text: str) -> Any:
    """A plain scalar's value by the YAML 1.2 core schema: null, true/false, integers (decimal,
    0o octal, 0x hex), floats; everything else is text, as written."""
    if text and text[0] not in _MAYBE_NOT_TEXT:
        return text  # the common case: a word
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.fullmatch(text):
        return int(text)
    if _INT8.fullmatch(text):
        return int(text[2:], 8)
    if _INT16.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text[0] == "-" else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return text


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


_SCALAR, _SEQUENCE, _MAPPING = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class _Builder:
    """Turns a node tree into plain data, refusing what a workspace file may not hold. It visits
    every node of every file (a million for 20,000 profiles), hence the plain, inlined code."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.text_keys = True  # every key is text (then the data survives JSON unchanged)

    def alias(self, node: yaml.Node, used_in: yaml.Node) -> YAMLSourceError:
        return YAMLSourceError(
            f"aliases (*name) are not allowed in workspace files (this one repeats the value anchored at line "
            f"{_line(node)}): write the value out", _line(used_in))

    def scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _PLAIN:
            text = node.value
            return text if text and text[0] not in _MAYBE_NOT_TEXT else core_scalar(text)
        if tag == _TEXT:
            return node.value
        raise _tag_error(node)

    def value(self, node: yaml.Node, depth: int, used_in: yaml.Node) -> Any:
        # Without aliases a node tree is a tree: a node met twice was reached through an alias
        # (a self-reference is a node met inside itself), so refusing it stops every alias bomb
        # before anything is expanded.
        seen = self.seen
        if id(node) in seen:
            raise self.alias(node, used_in)
        seen.add(id(node))
        kind = node.__class__
        if kind is _SCALAR:
            return self.scalar(node)
        if node.tag != _COLLECTION:
            raise _tag_error(node)
        if depth >= MAX_DEPTH:
            raise YAMLSourceError(f"nested more than {MAX_DEPTH} levels deep", _line(node))
        if kind is _SEQUENCE:
            return [self.value(item, depth + 1, node) for item in node.value]
        out: dict[Any, Any] = {}
        for knode, vnode in node.value:
            if knode.__class__ is not _SCALAR:
                raise YAMLSourceError("a key must be a single word or value, not a list or mapping", _line(knode))
            if id(knode) in seen:
                raise self.alias(knode, knode)
            seen.add(id(knode))
            key = self.scalar(knode)
            if type(key) is not str:
                self.text_keys = False
            elif key == "<<" and knode.tag == _PLAIN:
                raise YAMLSourceError("merge keys (<<) are not allowed in workspace files: write the keys out",
                                      _line(knode))
            if key in out:
                raise YAMLSourceError(f"duplicate key {key!r}", _line(knode))
            if vnode.__class__ is _SCALAR and id(vnode) not in seen:  # the common case, inlined
                seen.add(id(vnode))
                out[key] = self.scalar(vnode)
            else:
                out[key] = self.value(vnode, depth + 1, knode)
        return out


def _tag_error(node: yaml.Node) -> YAMLSourceError:
    shown = node.tag.replace("tag:yaml.org,2002:", "!!")
    return YAMLSourceError(f"explicit tags ({shown}) are not allowed in workspace files: write the value "
                           "plainly, in quotes to make it text", _line(node))


def _marks(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines.setdefault(path, _line(node))
    if isinstance(node, yaml.MappingNode):
        for knode, vnode in node.value:
            key = core_scalar(knode.value) if knode.tag == _PLAIN else knode.value
            lines[path + (key,)] = _line(knode)
            _marks(vnode, path + (key,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _marks(item, path + (i,), lines)


class YAMLDocument:
    """One parsed file: its data, and the line of any key path (worked out when first asked:
    most files are valid and never need it)."""

    __slots__ = ("data", "text_keys", "_node", "_lines", "_source")

    def __init__(self, data: Any, node: yaml.Node | None, text_keys: bool = True,
                 source: tuple[str, str] | None = None) -> None:
        self.data = data
        self.text_keys = text_keys
        self._node = node
        self._lines: dict[Path_, int] | None = None
        self._source = source  # (text, parser) of a file read from events: its node tree is built when asked

    @property
    def lines(self) -> dict[Path_, int]:
        """Every key path written in the file, to its 1-based line."""
        if self._lines is None:
            self._lines = {}
            if self._node is None and self._source is not None:
                self._node = _compose(*self._source)
            if self._node is not None:
                _marks(self._node, (), self._lines)
        return self._lines

    def line_for(self, loc: Path_) -> int | None:
        """The line of the longest prefix of `loc` written in the file."""
        return line_for(self.lines, loc)


_SCALAR_EVENT = yaml.ScalarEvent
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_NO_KEY = object()  # in `keys`: the mapping at this level waits for a key
_NODES = object()  # from `_from_events`: this file takes the node path


def _from_events(text: str, loader_class: type) -> Any:
    """The data of the plain case (module docstring) read from the parser's events; `_NODES` for
    anything else, errors included (the node path then says what, and where)."""
    loader = None
    try:
        loader = loader_class(text)
        get = loader.get_event
        if get().__class__ is not yaml.StreamStartEvent or get().__class__ is not yaml.DocumentStartEvent:
            return _NODES
        stack: list[Any] = []  # the open collections, outermost first
        keys: list[Any] = []  # per open collection: the key waiting for its value, or _NO_KEY
        root: Any = _NODES
        while True:
            ev = get()
            kind = ev.__class__
            if kind is _SCALAR_EVENT:
                if ev.anchor is not None or ev.tag is not None:
                    return _NODES
                value = ev.value
                if ev.implicit[0] and (not value or value[0] in _MAYBE_NOT_TEXT):
                    value = core_scalar(value)
            elif kind in _OPENS:
                if ev.anchor is not None or ev.tag is not None or len(stack) >= MAX_DEPTH - 1:
                    return _NODES
                value = {} if kind is yaml.MappingStartEvent else []
            elif kind in _CLOSES:
                stack.pop()
                keys.pop()
                if not stack:
                    break
                continue
            else:  # an alias, or anything unexpected
                return _NODES
            if not stack:
                root = value
                if kind is _SCALAR_EVENT:
                    break
            else:
                top = stack[-1]
                if top.__class__ is list:
                    top.append(value)
                elif keys[-1] is _NO_KEY:
                    if value.__class__ is not str or value == "<<" or value in top:
                        return _NODES  # a collection, a number or null as a key, a merge key, a duplicate
                    keys[-1] = value
                else:
                    top[keys[-1]] = value
                    keys[-1] = _NO_KEY
            if kind is not _SCALAR_EVENT:
                stack.append(value)
                keys.append(_NO_KEY)
        if get().__class__ is not yaml.DocumentEndEvent or get().__class__ is not yaml.StreamEndEvent:
            return _NODES  # a second document: the node path refuses it
        return root
    except Exception:  # noqa: BLE001 - the node path parses it again and raises the error with its line
        return _NODES
    finally:
        if loader is not None:
            loader.dispose()


def _compose(text: str, parser: str) -> yaml.Node | None:
    """The node tree of a file known to parse."""
    loader = LOADERS[parser](text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def parse(text: str, parser: str = DEFAULT_PARSER) -> YAMLDocument:
    """Parse one workspace file by the rules above; YAMLSourceError (with the line) when it
    breaks one. `parser` picks libyaml ("c") or the pure-Python parser ("python")."""
    if len(text) > MAX_CHARS:
        raise YAMLSourceError(f"the file is larger than {MAX_CHARS // (1024 * 1024)} MiB; a workspace file "
                              "is a few kilobytes", None)
    if parser == "c":
        data = _from_events(text, LOADERS["c"])
        if data is not _NODES:
            return YAMLDocument(data, None, True, (text, parser))
    return parse_nodes(text, parser)


def parse_nodes(text: str, parser: str = DEFAULT_PARSER) -> YAMLDocument:
    """`parse` by the node path alone (what a file the event path does not take goes through)."""
    loader = None
    try:
        loader = LOADERS[parser](text)  # the pure-Python reader checks the characters here
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = f"{e.problem or e}" + (f" ({e.context})" if e.context else "")
        raise YAMLSourceError(f"invalid YAML: {msg}", mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow; the reader knows its offset
        line = text.count("\n", 0, e.position) + 1
        raise YAMLSourceError(f"invalid YAML: character #x{e.character:04x} is not allowed in YAML text", line) from None
    except yaml.YAMLError as e:
        raise YAMLSourceError(f"invalid YAML: {e}", None) from None
    except RecursionError:  # the pure-Python composer recurses once per level
        raise YAMLSourceError(f"nested more than {MAX_DEPTH} levels deep", None) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return YAMLDocument(None, None)
    builder = _Builder()
    data = builder.value(node, 0, node)
    return YAMLDocument(data, node, builder.text_keys)


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML by the rules above; returns the data and a map from each key path to its
    1-based line."""
    doc = parse(text)
    return doc.data, doc.lines


def line_for(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the longest prefix of `loc` that was written in the file."""
    loc = tuple(loc)
    for i in range(len(loc), -1, -1):
        if loc[:i] in lines:
            return lines[loc[:i]]
    return None
