"""Parsing XML from outside (exports, policy files, scanner answers) without trusting it: the one
safe XML helper every vendor plugin uses (`scanguard.safexml.iterparse` and `fromstring`).

Two layers: the prolog is read first and a document that declares entities or refers to an
external DTD is refused (an entity-expansion bomb or an external entity never reaches the parser);
then lxml parses with entity resolution, network access and huge trees all off.
"""

from __future__ import annotations

import re
from typing import IO, Iterator

from lxml import etree

from .errors import UnsafeInput

PROLOG_LIMIT = 1 << 20
"""How far into a file a DOCTYPE's internal subset may run before the file is refused as hostile."""
_NOISE = re.compile(rb"<!--.*?-->|<\?.*?\?>", re.DOTALL)
_ROOT = re.compile(rb"<[A-Za-z_]")
_DOCTYPE = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+\s*(?P<ext>SYSTEM|PUBLIC)?\s*[^\[>]*(?P<open>\[)?", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


class _Prefixed:
    """A binary stream with some bytes already read put back in front."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            return data
        return self._rest.read(n)


def _refuse(source: str) -> UnsafeInput:
    return UnsafeInput(
        source,
        "refused: the XML declares entities or an external DTD (an entity-expansion bomb or an external "
        "entity); scan exports never need them",
    )


def guard(stream: IO[bytes], source: str) -> IO[bytes]:
    """Read the prolog of `stream`, refuse a document with entity declarations or an external
    DTD (UnsafeInput naming `source`), and return a stream that reads the whole document."""
    head = stream.read(65536) or b""
    while True:
        text = _NOISE.sub(b"", head)
        root = _ROOT.search(text)
        m = _DOCTYPE.search(text)
        if m is None or (root is not None and root.start() < m.start()):
            break  # no document type declaration before the root element: nothing to expand
        if m.group("ext"):
            raise _refuse(source)
        if _ENTITY.search(text, m.start()):
            raise _refuse(source)
        if not m.group("open") or re.search(rb"\]\s*>", text[m.end():]):
            break  # the internal subset (if any) is closed and declares no entity
        chunk = stream.read(65536)
        if not chunk:
            break
        head += chunk
        if len(head) > PROLOG_LIMIT:
            raise UnsafeInput(source, "refused: the document type declaration runs over 1 MiB")
    return _Prefixed(head, stream)  # type: ignore[return-value]


class _Tail:
    """A binary stream that remembers whether it reached its end and where its last line is, so
    that a syntax error can be told to be the end of a file cut short."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.eof = False
        self.lines = 1

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        if not data:
            self.eof = True
        self.lines += data.count(b"\n")
        return data


def _cut_short(e: etree.XMLSyntaxError, tail: _Tail, root_closed: bool) -> bool:
    # input cut mid-document: the whole file was read, the root never closed, and the parser
    # stumbled on its last line (garbage elsewhere, or content after the root, is still refused)
    line = e.position[0] if e.position else e.lineno
    return tail.eof and not root_closed and line is not None and line >= tail.lines and e.code != 5


def iterparse(stream: IO[bytes], source: str, *, tag: str | tuple[str, ...] | None = None,
              events: tuple[str, ...] = ("end",), allow_truncated: bool = False
              ) -> Iterator[tuple[str, etree._Element]]:
    """lxml iterparse over a guarded stream with every dangerous feature off; a syntax error
    becomes UnsafeInput naming `source`.

    `allow_truncated`: a document that simply stops (a file cut by a scan stopped early) ends
    the iteration quietly after the last complete element instead of raising; malformed XML
    anywhere else is still refused."""
    guarded = guard(stream, source)
    tail = _Tail(guarded) if allow_truncated else None  # counting lines costs: only when it is needed
    parser = etree.iterparse(
        tail or guarded, events=events, tag=tag, resolve_entities=False, no_network=True,
        huge_tree=False, load_dtd=False, dtd_validation=False, remove_comments=True,
        remove_pis=True,
    )
    root_closed = False
    try:
        for event, el in parser:
            if event == "end" and el.getparent() is None:
                root_closed = True
            yield event, el
    except etree.XMLSyntaxError as e:
        if tail is not None and _cut_short(e, tail, root_closed):
            return
        raise UnsafeInput(source, f"not well-formed XML: {e}") from None


def fromstring(data: bytes, source: str) -> etree._Element:
    """Parse a whole (small) document safely; see `guard`."""
    import io

    guarded = guard(io.BytesIO(data), source)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             remove_comments=True, remove_pis=True)
    try:
        return etree.fromstring(guarded.read(), parser)
    except etree.XMLSyntaxError as e:
        raise UnsafeInput(source, f"not well-formed XML: {e}") from None
