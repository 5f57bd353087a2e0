"""Twilio's webhook connection overrides (emulator.domain.overrides): a URL fragment's keys,
ranges and defaults, and which failures a retry policy retries. Pure."""

from __future__ import annotations

import pytest

from emulator.domain import overrides
from emulator.domain.overrides import Overrides, parse, retried, without_fragment


def test_twilios_defaults() -> None:
    """The page's table: ct 5000, rt 15000, tt 15000, rc 1, rp ct."""
    assert parse("https://example.com/foo?query=123") == Overrides(
        connect_timeout_ms=5000,
        read_timeout_ms=15_000,
        total_ms=15_000,
        retry_count=1,
        retry_policy=frozenset({"ct"}),
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # the page's own examples
        ("https://example.com/foo?query=123#ct=1000", {"connect_timeout_ms": 1000}),
        (
            "https://example.com/foo?query=123#ct=1000&rt=1000",
            {"connect_timeout_ms": 1000, "read_timeout_ms": 1000},
        ),
        (
            "https://example.com/foo?query=123#rt=5000&rp=ct,rt",
            {"read_timeout_ms": 5000, "retry_policy": frozenset({"ct", "rt"})},
        ),
        ("https://example.com/foo?query=123#e=ashburn,umatilla", {}),
        (
            "https://example.com/foo?query=123#rc=2&ct=1000",
            {"retry_count": 2, "connect_timeout_ms": 1000},
        ),
        # out of range: brought into it
        ("http://h/#ct=1&rt=99999&tt=0&rc=9", {
            "connect_timeout_ms": 100, "read_timeout_ms": 15_000, "total_ms": 100, "retry_count": 5
        }),
        # not a number, not a policy, unknown keys, an empty fragment: ignored
        ("http://h/#ct=abc&rc=-1&rp=sometimes&sni=n&x=1&&=", {}),
        ("http://h/#", {}),
        ("http://h/#RC=3&Rp=ALL", {"retry_count": 3, "retry_policy": frozenset({"all"})}),
    ],
)  # fmt: skip
def test_the_fragments_keys(url: str, expected: dict[str, object]) -> None:
    base = Overrides()
    found = parse(url, base)
    for name in ("connect_timeout_ms", "read_timeout_ms", "total_ms", "retry_count"):
        assert getattr(found, name) == expected.get(name, getattr(base, name)), name
    assert found.retry_policy == expected.get("retry_policy", base.retry_policy)


def test_the_defaults_given_apply_where_the_fragment_says_nothing() -> None:
    settings = Overrides(total_ms=2000, retry_count=0, retry_policy=frozenset({"5xx"}))
    assert parse("http://h/cb", settings) == settings
    assert parse("http://h/cb#rc=2", settings).retry_count == 2
    assert parse("http://h/cb#rc=2", settings).retry_policy == frozenset({"5xx"})


@pytest.mark.parametrize(
    ("policy", "failure", "expected"),
    [
        ({"ct"}, "ct", True),
        ({"ct"}, "rt", False),
        ({"ct"}, "5xx", False),
        ({"4xx", "5xx"}, "4xx", True),
        ({"rt"}, "rt", True),
        ({"all"}, "5xx", True),
        ({"all"}, None, False),  # an answer cut short: "Twilio doesn't retry on partial response"
    ],
)
def test_which_failures_a_policy_retries(
    policy: set[overrides.RetryOn], failure: overrides.Failure | None, expected: bool
) -> None:
    assert retried(frozenset(policy), failure) is expected


def test_without_fragment() -> None:
    assert without_fragment("https://h/cb?x=1#rc=2") == "https://h/cb?x=1"
    assert without_fragment("https://h/cb") == "https://h/cb"
