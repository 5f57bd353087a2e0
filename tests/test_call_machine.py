"""emulator.domain.calls and emulator.domain.voice: the call's statuses and moves, and what it
sends (pure)."""

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
from emulator.domain.voice import (
    AUDIO,
    MISSING,
    PLAIN_TEXT,
    TWIML,
    UNSUPPORTED,
    callback_status,
    content_kind,
    fallback_result,
    gather_result,
    resolve,
    status_callback_params,
    webhook_params,
    with_query,
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


# --- what the call sends ----------------------------------------------------------------------


def test_the_standard_parameters() -> None:
    params = dict(webhook_params(call(direction="outbound-api"), IN_PROGRESS))
    assert params["AccountSid"] == AC
    assert params["CallSid"] == CA
    assert params["ApiVersion"] == "2010-04-01"
    assert params["CallStatus"] == "in-progress"
    assert params["Direction"] == "outbound-api"
    assert params["From"] == params["Caller"] == "+15555550100"
    assert params["To"] == params["Called"] == "+15555550199"
    for side in ("From", "To", "Caller", "Called"):
        for geo in ("City", "State", "Zip", "Country"):
            assert params[side + geo] == ""
    names = [name for name, _ in webhook_params(call(), RINGING)]
    assert names == sorted(names)


def test_gather_and_fallback_additions() -> None:
    assert gather_result("1234", "#") == [
        ("Digits", "1234"),
        ("FinishedOnKey", "#"),
        ("msg", "Gather End"),
    ]
    assert gather_result(None, "") == [("FinishedOnKey", ""), ("msg", "Gather End")]
    assert fallback_result(11200, "http://x/a") == [
        ("ErrorCode", "11200"),
        ("ErrorUrl", "http://x/a"),
    ]


def test_status_callback_parameters() -> None:
    ringing = dict(status_callback_params(call(status=RINGING), "ringing", 0, 1))
    assert ringing["CallStatus"] == "ringing"
    assert ringing["CallbackSource"] == "call-progress-events"
    assert ringing["SequenceNumber"] == "1"
    assert ringing["Timestamp"] == "Thu, 01 Jan 1970 00:00:00 +0000"
    assert "CallDuration" not in ringing
    initiated = dict(status_callback_params(call(status=QUEUED), "initiated", 0, 0))
    assert initiated["CallStatus"] == "initiated"
    done = call(status=COMPLETED, start_time_ms=0, end_time_ms=61_000)
    completed = dict(status_callback_params(done, "completed", 61_000, 3))
    assert (completed["CallDuration"], completed["Duration"]) == ("61", "2")
    assert completed["SipResponseCode"] == "200"
    assert callback_status("answered", IN_PROGRESS) == IN_PROGRESS


@pytest.mark.parametrize(
    ("base", "ref", "resolved"),
    [
        ("http://a.test/ivr/start?x=1", "next", "http://a.test/ivr/next"),
        ("http://a.test/ivr/start", "../other", "http://a.test/other"),
        ("http://a.test/ivr/start", "/root", "http://a.test/root"),
        ("http://a.test/ivr/start", "?step=2", "http://a.test/ivr/start?step=2"),
        ("http://a.test/ivr/start", "https://b.test/x", "https://b.test/x"),
        (None, "https://b.test/x", "https://b.test/x"),
        (None, "/relative", None),
        ("http://a.test/ivr/start", "mailto:x@y", None),
    ],
)
def test_relative_urls_resolve_against_the_document(
    base: str | None, ref: str, resolved: str | None
) -> None:
    assert resolve(base, ref) == resolved


def test_get_parameters_go_in_the_query() -> None:
    params = [("A", "1 2"), ("B", "+")]
    assert with_query("http://a.test/x", params) == "http://a.test/x?A=1+2&B=%2B"
    assert with_query("http://a.test/x?k=v", params) == "http://a.test/x?k=v&A=1+2&B=%2B"
    assert with_query("http://a.test/x?", params) == "http://a.test/x?A=1+2&B=%2B"
    assert with_query("http://a.test/x#rc=2", params) == "http://a.test/x?A=1+2&B=%2B#rc=2"
    assert with_query("http://a.test/x", []) == "http://a.test/x"


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/xml", TWIML),
        ("application/xml; charset=utf-8", TWIML),
        ("TEXT/HTML", TWIML),
        ("text/plain", PLAIN_TEXT),
        ("audio/mpeg", AUDIO),
        (None, MISSING),
        ("", MISSING),
        ("application/json", UNSUPPORTED),
        ("image/png", UNSUPPORTED),
    ],
)
def test_content_types(content_type: str | None, kind: str) -> None:
    assert content_kind(content_type) == kind
