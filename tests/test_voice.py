"""emulator.domain.voice: what a call sends (the standard parameters, a <Gather>'s and a
fallback's additions, status callbacks), relative URLs, GET queries, content types (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from emulator.domain.calls import COMPLETED, IN_PROGRESS, QUEUED, RINGING, CallRecord
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
