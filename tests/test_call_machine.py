"""emulator.domain.calls: the call's statuses, its moves, what ``Status=canceled|completed``
does, its events and SIP codes (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from emulator.domain import calls
from emulator.domain.calls import (
    BUSY,
    CANCELED,
    COMPLETED,
    ENDED,
    FAILED,
    IN_PROGRESS,
    LIVE,
    NO_ANSWER,
    QUEUED,
    RINGING,
    STATUSES,
    CallNotLive,
    CallRecord,
    can_move,
    event_of,
    requested_end,
    sip_response_code,
)

AC, CA = "AC" + "a" * 32, "CA" + "b" * 32


def call(**changes: object) -> CallRecord:
    base = CallRecord(CA, AC, IN_PROGRESS, 1_000, 1_000, to="+15555550199", from_="+15555550100")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_statuses_are_the_specs() -> None:
    assert STATUSES == (
        "queued",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "failed",
        "no-answer",
        "canceled",
    )
    assert set(STATUSES) == LIVE | ENDED
    assert not LIVE & ENDED


@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        (QUEUED, {RINGING, IN_PROGRESS, CANCELED, FAILED}),
        (RINGING, {IN_PROGRESS, CANCELED, BUSY, NO_ANSWER, FAILED}),
        (IN_PROGRESS, {COMPLETED}),
        *((status, set()) for status in sorted(ENDED)),
    ],
)
def test_moves(current: str, allowed: set[str]) -> None:
    assert {to for to in STATUSES if can_move(current, to)} == allowed


@pytest.mark.parametrize(
    ("current", "requested", "ends"),
    [
        (QUEUED, CANCELED, CANCELED),
        (RINGING, CANCELED, CANCELED),
        (QUEUED, COMPLETED, CANCELED),
        (RINGING, COMPLETED, CANCELED),
        (IN_PROGRESS, CANCELED, None),  # "it will not affect calls already in progress"
        (IN_PROGRESS, COMPLETED, COMPLETED),
    ],
)
def test_what_status_canceled_or_completed_does(current: str, requested: str, ends: str) -> None:
    assert requested_end(current, requested) == ends


@pytest.mark.parametrize("current", sorted(ENDED))
def test_an_ended_call_cannot_be_ended_again(current: str) -> None:
    with pytest.raises(CallNotLive):
        requested_end(current, COMPLETED)


def test_events_and_sip_codes() -> None:
    assert [event_of(s) for s in (QUEUED, RINGING, IN_PROGRESS)] == [None, "ringing", "answered"]
    assert all(event_of(status) == "completed" for status in ENDED)
    codes = {s: sip_response_code(s) for s in ENDED}
    assert codes == {
        COMPLETED: "200",
        BUSY: "486",
        FAILED: "404",
        NO_ANSWER: "487",
        CANCELED: "487",
    }


def test_duration_is_whole_seconds_from_answer_to_end() -> None:
    assert call(start_time_ms=1_000, end_time_ms=62_999).duration == 61
    assert call(start_time_ms=1_000).duration is None
    assert calls.duration_s(None, 5_000) is None
