"""One XML command read from a stream, the way gvmd and ospd read them: the first complete
top-level element, parsed without entities, DTDs or network access (the input is untrusted)."""

from __future__ import annotations

from typing import Callable

from lxml import etree


def read_element(recv: Callable[[], bytes | None]) -> etree._Element | None:
    """The next complete element from `recv` (which returns b"" at end of stream and None when
    there is nothing yet and it should be asked again); None at end of stream; a <bogus/>
    element for input that is not XML."""
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
    depth = 0
    while True:
        data = recv()
        if data is None:
            continue
        if not data:
            return None
        try:
            parser.feed(data)
            for event, el in parser.read_events():
                depth += 1 if event == "start" else -1
                if event == "end" and depth == 0:
                    return el
        except etree.XMLSyntaxError:
            return etree.Element("bogus")
