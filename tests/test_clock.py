"""The clock's date formats against the standard library's own."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.clock import Clock, format_iso_ms, format_rfc2822

MOMENTS = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 to 2100


@settings(max_examples=500, deadline=None, database=None)
@given(MOMENTS)
def test_rfc2822_is_what_email_utils_prints(ms: int) -> None:
    assert format_rfc2822(ms) == format_datetime(datetime.fromtimestamp(ms // 1000, UTC))


@settings(max_examples=500, deadline=None, database=None)
@given(MOMENTS)
def test_iso_with_milliseconds(ms: int) -> None:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    assert format_iso_ms(ms) == moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def test_examples_from_twilios_docs() -> None:
    assert format_rfc2822(1730829600000) == "Tue, 05 Nov 2024 18:00:00 +0000"
    assert format_iso_ms(1628567753408) == "2021-08-10T03:55:53.408Z"


def test_freeze_advance_reset() -> None:
    clock = Clock()
    clock.freeze_at(datetime(2030, 1, 1, tzinfo=UTC))
    assert format_iso_ms(clock.now_ms()) == "2030-01-01T00:00:00.000Z"
    clock.advance(90.5)
    assert format_iso_ms(clock.now_ms()) == "2030-01-01T00:01:30.500Z"
    assert clock.frozen
    clock.reset()
    assert not clock.frozen
    assert abs(clock.now().year - datetime.now(UTC).year) <= 1


def test_hold_stops_the_clock_and_release_goes_on_from_there() -> None:
    clock = Clock()
    clock.hold()
    held = clock.now_ms()
    assert clock.frozen
    time.sleep(0.05)
    assert clock.now_ms() == held  # nothing moves while held
    clock.release()
    assert not clock.frozen
    resumed = clock.now_ms()
    assert held <= resumed < held + 40  # from the held instant, not real time
    time.sleep(0.02)
    assert clock.now_ms() > resumed  # and at real time's pace


def test_release_of_a_frozen_clock_goes_on_from_the_frozen_moment() -> None:
    clock = Clock()
    clock.freeze_at(datetime(2030, 1, 1, tzinfo=UTC))
    clock.hold()  # already stopped: stays where it is
    assert format_iso_ms(clock.now_ms()) == "2030-01-01T00:00:00.000Z"
    clock.release()
    assert not clock.frozen
    assert clock.now().year == 2030
