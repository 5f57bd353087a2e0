"""XML read safely, for TwiML (pure): expat, with no DTD.

A document with a ``<!DOCTYPE`` or an entity declaration is refused (:class:`XmlError`) as
soon as expat meets it, before anything is expanded: no entity expansion (the "billion
laughs") and no external entity can happen, with the standard library alone (no
``defusedxml`` needed). Elements nested deeper than :data:`MAX_DEPTH`, or more than
:data:`MAX_ELEMENTS` of them, are refused as well. What comes back is a small tree of
:class:`Element`: each one's name, attributes, line, and its text and children in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final
from xml.parsers import expat

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "Element", "XmlError", "read_xml"]

MAX_DEPTH: Final = 32  # nested elements (SSML inside a <Say> inside a <Gather> is 4)
MAX_ELEMENTS: Final = 4096


@dataclass(slots=True)
class Element:
    name: str
    attributes: dict[str, str]
    line: int
    parts: list[str | Element] = field(default_factory=list)

    def elements(self) -> list[Element]:
        return [part for part in self.parts if isinstance(part, Element)]

    def text(self) -> str:
        """All the text inside, SSML elements included, white space folded."""
        pieces: list[str] = []

        def walk(node: Element) -> None:
            for part in node.parts:
                if isinstance(part, str):
                    pieces.append(part)
                else:
                    walk(part)

        walk(self)
        return " ".join("".join(pieces).split())

    def own_text(self) -> str:
        return "".join(part for part in self.parts if isinstance(part, str)).strip()


class XmlError(Exception):
    """Not well-formed, or refused (a DOCTYPE, an entity declaration, too deep, too many)."""


def read_xml(data: bytes) -> Element:
    """The root element of ``data``, or :class:`XmlError` (what is wrong, and where)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    stack: list[Element] = []
    roots: list[Element] = []
    count = 0

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise XmlError(f"the document has more than {MAX_ELEMENTS} elements")
        if len(stack) >= MAX_DEPTH:
            raise XmlError(f"elements are nested more than {MAX_DEPTH} deep")
        node = Element(name, attributes, parser.CurrentLineNumber)
        (stack[-1].parts if stack else roots).append(node)
        stack.append(node)

    def end(_: str) -> None:
        stack.pop()

    def characters(text: str) -> None:
        if stack:
            stack[-1].parts.append(text)

    def doctype(*_: object) -> None:
        raise XmlError("a DOCTYPE is not accepted in TwiML")

    def entity(*_: object) -> None:
        raise XmlError("entity declarations are not accepted in TwiML")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        reason = expat.errors.messages.get(exc.code, str(exc)) if exc.code else str(exc)
        raise XmlError(f"{reason} (line {exc.lineno}, column {exc.offset + 1})") from None
    return roots[0]
