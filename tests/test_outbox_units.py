"""Pure parts of the outbox."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.forms import form_body

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.tuples(TEXT, TEXT), max_size=12))
def test_form_body_is_what_urlencode_makes(params: list[tuple[str, str]]) -> None:
    assert form_body(params) == urlencode(params).encode()


def test_form_body_examples() -> None:
    params = [("Sid", "PK" + "a" * 32), ("DateCreated", "2021-08-10T03:55:53.408Z"), ("E", "")]
    assert (
        form_body(params) == b"Sid=PK" + b"a" * 32 + b"&DateCreated=2021-08-10T03%3A55%3A53.408Z&E="
    )
