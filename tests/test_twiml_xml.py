"""emulator.domain.twiml_xml: XML read safely (expat, no DTD, bounded)."""

from __future__ import annotations

import pytest

from emulator.domain.twiml_xml import MAX_DEPTH, MAX_ELEMENTS, XmlError, read_xml


def test_a_tree_with_text_and_children_in_order() -> None:
    root = read_xml(b'<a x="1">one <b>two</b> three<c/></a>')
    assert (root.name, root.attributes, root.line) == ("a", {"x": "1"}, 1)
    assert [child.name for child in root.elements()] == ["b", "c"]
    assert root.text() == "one two three"
    assert root.own_text() == "one  three"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "DOCTYPE"),
        (b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/dtd"><a/>', "DOCTYPE"),
        (b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1), "nested"),
        (b"<a>" + b"<b/>" * MAX_ELEMENTS + b"</a>", "elements"),
        (b"<a><b></a>", "mismatched tag (line 1, column"),
        (b"", "no element found"),
    ],
)
def test_refused(data: bytes, words: str) -> None:
    with pytest.raises(XmlError) as raised:
        read_xml(data)
    assert words in str(raised.value)


def test_as_deep_and_as_many_as_allowed() -> None:
    assert read_xml(b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH).name == "a"
    assert len(read_xml(b"<a>" + b"<b/>" * (MAX_ELEMENTS - 1) + b"</a>").elements()) == (
        MAX_ELEMENTS - 1
    )
