"""Twilio's webhook connection overrides: ``#ct=1000&rc=2`` at the end of a webhook URL (pure).

https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides: "Connection
overrides will be passed on a per webhook URL basis in the form of "fragments" ... key and
value are separated by = , pairs are separated by & ." The fragment is never sent, and "these
URL fragments do not make it into the signature computation".

=====  ===================================================  ============  =======
key    what                                                 valid         default
=====  ===================================================  ============  =======
``ct`` connect timeout (TCP connect, TLS handshake), ms     100-10000     5000
``rt`` read timeout (waiting for the answer), ms            100-15000     15000
``tt`` total time of all attempts, ms                       100-15000     15000
``rc`` retry count                                          0-5           1
``rp`` retry policy: ``4xx``, ``5xx``, ``ct``, ``rt``,      a list        ``ct``
       ``all``
=====  ===================================================  ============  =======

``sni`` and ``e`` (SNI, Twilio's egress edge) mean nothing locally and are ignored, as are
unknown keys. A value out of range is brought into it, and one that is not a number (or not a
retry policy) is ignored: Twilio documents neither case (the emulator's choice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, get_args

__all__ = [
    "RETRY_ON",
    "TWILIO_RETRY_COUNT",
    "TWILIO_RETRY_POLICY",
    "Failure",
    "Overrides",
    "RetryOn",
    "parse",
    "retried",
    "without_fragment",
]

RetryOn = Literal["4xx", "5xx", "ct", "rt", "all"]
"""What a retry policy (``rp``) may name."""
RETRY_ON: Final[tuple[RetryOn, ...]] = get_args(RetryOn)

Failure = Literal["4xx", "5xx", "ct", "rt"]
"""How an attempt failed, as a retry policy names it: a 4xx or 5xx answer, no connection (TCP
connect or TLS handshake), no answer within the read timeout."""

TWILIO_RETRY_COUNT: Final = 1
TWILIO_RETRY_POLICY: Final[tuple[RetryOn, ...]] = ("ct",)

_RANGES: Final[dict[str, tuple[int, int]]] = {
    "ct": (100, 10_000),
    "rt": (100, 15_000),
    "tt": (100, 15_000),
    "rc": (0, 5),
}


@dataclass(frozen=True, slots=True)
class Overrides:
    """The connection settings of one webhook URL: what its fragment says, else the
    defaults the caller gives (Twilio's: 5 s to connect, 15 s to answer, 15 s in all, one
    retry, only when no connection could be made)."""

    connect_timeout_ms: int = 5000
    read_timeout_ms: int = 15_000
    total_ms: int = 15_000
    retry_count: int = TWILIO_RETRY_COUNT
    retry_policy: frozenset[RetryOn] = field(default_factory=lambda: frozenset(TWILIO_RETRY_POLICY))


def without_fragment(url: str) -> str:
    """``url`` without its ``#fragment`` (what is sent, and what is signed)."""
    return url.partition("#")[0]


def parse(url: str, defaults: Overrides | None = None) -> Overrides:
    """The overrides in ``url``'s fragment, over ``defaults`` (Twilio's when None)."""
    found = defaults if defaults is not None else Overrides()
    _, hash_sign, fragment = url.partition("#")
    if not hash_sign or not fragment:
        return found
    numbers: dict[str, int] = {}
    policy: frozenset[RetryOn] | None = None
    for pair in fragment.split("&"):
        key, _, value = pair.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key in _RANGES:
            if value.isascii() and value.isdigit() and len(value) <= 9:
                low, high = _RANGES[key]
                numbers[key] = min(max(int(value), low), high)
        elif key == "rp":
            named = [part.strip().lower() for part in value.split(",")]
            if named and all(part in RETRY_ON for part in named):
                policy = frozenset(part for part in RETRY_ON if part in named)
    return Overrides(
        connect_timeout_ms=numbers.get("ct", found.connect_timeout_ms),
        read_timeout_ms=numbers.get("rt", found.read_timeout_ms),
        total_ms=numbers.get("tt", found.total_ms),
        retry_count=numbers.get("rc", found.retry_count),
        retry_policy=found.retry_policy if policy is None else policy,
    )


def retried(policy: frozenset[RetryOn], failure: Failure | None) -> bool:
    """Whether ``policy`` retries an attempt that failed so (None: a failure no policy
    names, such as an answer cut short: "Twilio doesn't retry on partial response")."""
    return failure is not None and ("all" in policy or failure in policy)
