"""When the caller's silence ends a prompt (emulator.domain.timeouts). Pure."""

from __future__ import annotations

import pytest

from emulator.domain.machine import Session, SessionConfig, State
from emulator.domain.timeouts import INPUT_TIMEOUT_FROM, input_deadline_ms

NOW = 1_000_000
CAPTURING = Session(SessionConfig(), capturing="payment-card-number")


def test_twilios_reading_is_the_default() -> None:
    """The spec: "between each subsequent digit, after the first one"."""
    assert INPUT_TIMEOUT_FROM == "first-digit"


@pytest.mark.parametrize(
    ("starts", "under_way", "expected"),
    [
        ("first-digit", False, None),  # nothing keyed yet: no limit
        ("first-digit", True, NOW + 5000),  # a digit keyed: Timeout from it
        ("capture", False, NOW + 5000),  # from the Capture (and from every entry)
        ("capture", True, NOW + 5000),
    ],
)
def test_the_deadline_while_an_item_is_captured(
    starts: str, under_way: bool, expected: int | None
) -> None:
    found = input_deadline_ms(
        CAPTURING,
        5,
        NOW,
        entry_under_way=under_way,
        starts=starts,  # type: ignore[arg-type]
    )
    assert found == expected


@pytest.mark.parametrize("starts", ["first-digit", "capture"])
@pytest.mark.parametrize(
    "session",
    [
        Session(SessionConfig()),  # nothing being captured
        Session(SessionConfig(), state=State.ENDED, capturing="postal-code"),
    ],
)
def test_no_deadline_when_nothing_is_captured(session: Session, starts: str) -> None:
    assert input_deadline_ms(session, 5, NOW, entry_under_way=True, starts=starts) is None  # type: ignore[arg-type]
