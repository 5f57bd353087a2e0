"""Fuzzing in CI: schemathesis against the two Payments operations of Twilio's spec.

A bounded, derandomized run (``CASES`` cases, the same ones on every run) against an emulator of
its own; ``tests/fuzzing.py`` says how cases are made, sent and checked, and ``bench/fuzz.py``
runs the same for 10,000 cases. The statuses the spec cannot describe (``EXPECTED_STATUSES``:
400, 401, 404, 409; the spec documents only 201 and 202) are the expected deviations: the
"undocumented status code" check is not applied to them (nor "positive data accepted" to a 400:
a rule the spec states only in prose), and every other check is. ``KNOWN_DEVIATIONS`` names the
one reading of the emulator's that the spec could describe, allowed narrowly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing import EmulatorServer
from tests.fuzzing import (
    CALLBACK,
    EXPECTED_STATUSES,
    SERVER_ARGS,
    Fuzzer,
    LeavesMachine,
    Tally,
    fuzz,
    guard_request,
    local_callback,
)

# About half a minute on this project's 2-core machine (generation is most of it).
CASES = 300

pytestmark = pytest.mark.timeout(600)  # a ceiling for a loaded machine, not a timed assertion


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[EmulatorServer]:
    """An emulator of its own: manual callers, StatusCallbacks deliverable to 127.0.0.1 only."""
    with EmulatorServer(*SERVER_ARGS) as server:
        yield server


@pytest.fixture(scope="module")
def fuzzed(fuzz_server: EmulatorServer) -> Iterator[tuple[Tally, str]]:
    """The run's figures, and the account it ran as."""
    control = fuzz_server.control
    account, stranger = control.create_account(), control.create_account()
    fuzzer = Fuzzer(fuzz_server.base_url, control, account, stranger)
    try:
        yield fuzz(fuzzer, CASES, derandomize=True), account.account_sid
    finally:
        fuzzer.close()


def test_no_server_error_and_every_answer_keeps_the_contract(fuzzed: tuple[Tally, str]) -> None:
    tally, _ = fuzzed
    report = tally.failure_report()
    assert tally.total == CASES
    assert tally.server_errors == 0, f"5xx answers:\n{report}"
    assert tally.schema_violations == 0, f"2xx answers off the response schema:\n{report}"
    assert tally.shape_violations == 0, f"error answers not in Twilio's shape:\n{report}"
    assert tally.other_violations == 0, f"other check failures:\n{report}"
    seen = {status for _, status in tally.statuses}
    assert seen <= {201, 202, *EXPECTED_STATUSES}, sorted(seen)
    # The run reached what it is meant to reach: sessions created and updated (so the 2xx
    # answers were checked against the schema), and refusals of both kinds of data.
    assert tally.statuses[("create", 201)] > 0
    assert tally.statuses[("update", 202)] > 0
    assert {400, 401, 404} <= seen
    assert {mode for _, mode in tally.modes} == {"positive", "negative"}


def test_no_status_callback_left_the_machine(
    fuzz_server: EmulatorServer, fuzzed: tuple[Tally, str]
) -> None:
    _, account_sid = fuzzed
    callbacks = fuzz_server.control.callbacks(account_sid=account_sid)
    assert callbacks  # the run made sessions, and so callbacks
    assert all(callback["url"].startswith(CALLBACK + "/") for callback in callbacks)


def test_generated_status_callbacks_are_made_local() -> None:
    assert local_callback("") == ""  # names no host; the emulator takes it as missing (20001)
    guard_request("http://127.0.0.1:1/x", "StatusCallback=")
    for value in ("https://example.com/pay", "//example.com", "☃", 5, None, {"a": 1}):
        made = local_callback(value)
        assert isinstance(made, str)
        assert made.startswith(CALLBACK + "/")
        guard_request("http://127.0.0.1:1/x", f"StatusCallback={made}")
    assert local_callback(["https://a.example", "b"]) == [
        local_callback("https://a.example"),
        local_callback("b"),
    ]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("http://example.com/2010-04-01/x", ""),
        ("http://localhost:8080/x", ""),
        ("http://127.0.0.1:1/x", "StatusCallback=https%3A%2F%2Fexample.com%2Fcb"),
        ("http://127.0.0.1:1/x", b"a=1&StatusCallback=http://127.0.0.1:9/elsewhere"),
        ("http://127.0.0.1:1/x", f"StatusCallback={CALLBACK}/ok&StatusCallback=//example.com"),
    ],
)
def test_the_session_refuses_requests_that_would_leave_the_machine(
    url: str, body: str | bytes
) -> None:
    with pytest.raises(LeavesMachine):
        guard_request(url, body)


def test_the_known_deviation_is_allowed_narrowly() -> None:
    """Only a body the spec refuses for Confirmation's case alone: an empty enum value is
    refused by the emulator too (64020), so it is no deviation."""
    from tests.fuzzing import _valid_as_the_emulator_reads_it as allowed

    form = {"IdempotencyKey": "k", "StatusCallback": CALLBACK + "/x"}
    assert allowed({**form, "Confirmation": "TRUE"})
    assert allowed({**form, "Confirmation": "False"})
    assert not allowed({**form, "PaymentMethod": ""})
    assert not allowed({**form, "Confirmation": ""})
    assert not allowed(form)  # valid as it is: nothing to allow
    assert not allowed({**form, "PaymentMethod": "cash"})
    assert not allowed({**form, "Confirmation": "TRUE", "Timeout": "soon"})
    assert not allowed({**form, "PaymentMethod": 5})
