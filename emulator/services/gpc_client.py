"""Twilio's side of a Generic Pay Connector exchange: the POST(s) to the merchant's endpoint.

:func:`run` sends the request, retries it when no answer comes, reports every attempt as a
:class:`ConnectorAttempt` (masked: no card digits) and returns the session's settlement. It
never raises for anything the endpoint does; only cancellation (and an exception raised by
``on_attempt`` itself) comes out of it.

One attempt is one POST, with ``timeout_s`` for all of it: connecting (TLS included), sending,
and reading the whole answer. An attempt *answers* when a complete HTTP response arrives in
time (any status), or when its body goes over :data:`MAX_ANSWER_BYTES` (read no further:
malformed). Anything else (refused, reset, closed before the answer was complete, timed out,
TLS or name-resolution failure) is *no answer*: the same request, with the same
``transaction_id``, is sent again at once, up to ``retries`` more times. An endpoint URL that
cannot be requested at all (not http or https, no host) is one failed attempt, not retried.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Final
from uuid import UUID, uuid4

import httpx

from emulator.domain.gpc import (
    MAX_ANSWER_BYTES,
    ConnectorAttempt,
    GenericConnector,
    PaymentData,
    judge_answer,
    masked,
    no_answer_settlement,
    refusal_in_test_mode,
    request_body,
    scrub,
)
from emulator.domain.machine import Settlement
from emulator.outgoing.client import USER_AGENT, Outgoing, OutgoingRequest, Reply
from emulator.outgoing.resolver import ResolveError

__all__ = [
    "EXCERPT_BYTES",
    "USER_AGENT",
    "endpoint_problem",
    "request_url",
    "run",
]

logger = logging.getLogger("emulator.gpc")

EXCERPT_BYTES: Final = 2048
"""How much of an answer an attempt record keeps."""


OnAttempt = Callable[[ConnectorAttempt], Awaitable[None] | None]


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint URL, or ``None`` when it can (for checking a
    connector's configuration up front; :func:`run` checks it too)."""
    try:
        parsed = httpx.URL(url)
    except Exception:  # httpx.InvalidURL, and ValueError of some hosts
        return "the endpoint URL is not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return "the endpoint URL must start with http:// or https://"
    if not parsed.host:
        return "the endpoint URL has no host"
    return None


def request_url(connector: GenericConnector, charging: bool) -> str:
    """Where the request goes: the endpoint URL as entered, or with ``/charge`` or
    ``/tokenize`` added to its path (one slash between) in legacy mode. User information in
    the URL (``user:password@``) is dropped: the connector's credentials are what is sent."""
    url = httpx.URL(connector.endpoint_url).copy_with(userinfo=b"")
    if not connector.legacy_paths:
        return str(url)
    path, _, query = url.raw_path.partition(b"?")
    suffix = b"/charge" if charging else b"/tokenize"
    return str(
        url.copy_with(raw_path=path.rstrip(b"/") + suffix + (b"?" + query if query else b""))
    )


def _headers(connector: GenericConnector) -> dict[str, str]:
    credentials = f"{connector.username}:{connector.password}".encode()
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Accept-Encoding": "identity",  # the bound on the answer is on the bytes received
    }
    if not connector.legacy_paths:
        headers["Content-Type"] = "application/json"
    return headers


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it (``__cause__``, ``__context__``, exception groups)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)


def _describe(exc: BaseException, timeout_s: float, status_code: int | None) -> str:
    """A short reason for a failed attempt (never the request: it holds card digits)."""
    during = "" if status_code is None else f" reading the answer (HTTP {status_code} received)"
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"timed out after {timeout_s:g} s{during}"
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return f"connection reset{during}"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or cause}"
        if isinstance(cause, socket.gaierror):
            return f"name resolution failed: {cause.strerror or cause}"
        if isinstance(cause, ResolveError):
            return f"name resolution failed: {cause}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        if status_code is None:
            return "connection closed without an answer"
        return f"connection closed{during}"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed: {exc}" if str(exc) else "connection failed"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _exchange(outgoing: Outgoing, request: _Request) -> tuple[Reply, str | None]:
    """One POST through the one way out: the reply, and why it is no answer (None: it is
    an answer, whatever its status)."""
    timeout_s = request.connector.timeout_s
    reply = await outgoing.send(
        OutgoingRequest(
            "POST",
            request.url,
            request.headers,
            request.payload,
            timeout_s=timeout_s,
            deadline_s=timeout_s,
            max_answer_bytes=MAX_ANSWER_BYTES,
        )
    )
    if reply.refusal is not None:
        return reply, reply.refusal
    if reply.error is not None:
        return reply, _describe(reply.error, timeout_s, reply.partial_status)
    return reply, None


async def _notify(on_attempt: OnAttempt | None, attempt: ConnectorAttempt) -> None:
    if on_attempt is None:
        return
    result = on_attempt(attempt)
    if inspect.isawaitable(result):
        await result


def _scrubbed(settlement: Settlement, data: PaymentData) -> Settlement:
    return Settlement(
        settlement.result,
        confirmation_code=scrub(settlement.confirmation_code, data),
        token=scrub(settlement.token, data),
        profile_id=scrub(settlement.profile_id, data),
        error=scrub(settlement.error, data),
        pay_error_code=settlement.pay_error_code,
        connector_error=scrub(settlement.connector_error, data),
        parameters=tuple(
            (scrub(key, data), scrub(value, data)) for key, value in settlement.parameters
        ),
    )


@dataclass(frozen=True, slots=True)
class _Request:
    """What every attempt of one run sends, and what it records instead."""

    connector: GenericConnector
    data: PaymentData
    url: str
    headers: dict[str, str]
    payload: bytes  # holds the card digits: sent, never kept
    recorded_body: str  # the masked copy
    transaction_id: str


def _without_credentials(url: str) -> str:
    """``url`` without ``user:password@`` (also when it is not a valid URL)."""
    try:
        return str(httpx.URL(url).copy_with(userinfo=b""))
    except Exception:
        return re.sub(r"^([^:/?#]*:)?//[^/?#]*@", r"\1//", url)


async def run(
    connector: GenericConnector,
    data: PaymentData,
    *,
    now_ms: Callable[[], int],
    on_attempt: OnAttempt | None = None,
    outgoing: Outgoing | None = None,
    new_transaction_id: Callable[[], UUID | str] = uuid4,
) -> Settlement:
    """Charge or tokenize ``data`` through the merchant's endpoint; the session's settlement.

    In TEST mode a card or bank account that is not a test one is refused (64022, 64023)
    without any request and without any attempt. Otherwise ``on_attempt`` is called (and
    awaited, if it returns an awaitable) after each attempt, before the next one starts.
    ``now_ms`` dates the attempts. The requests go through ``outgoing`` (the emulator's one
    way out: its host policy, transport and TLS settings), or one made for this run.
    """
    refusal = refusal_in_test_mode(connector, data)
    if refusal is not None:
        return refusal
    transaction_id = str(new_transaction_id())
    body = request_body(data, transaction_id, connector.legacy_paths)
    recorded_body = json.dumps(masked(body))
    problem = endpoint_problem(connector.endpoint_url)
    if problem is not None:
        await _notify(
            on_attempt,
            ConnectorAttempt(
                url=_without_credentials(connector.endpoint_url),
                transaction_id=transaction_id,
                attempt=1,
                status_code=None,
                latency_ms=0.0,
                error=problem,
                request_body=recorded_body,
                response_excerpt="",
                started_at_ms=now_ms(),
            ),
        )
        return no_answer_settlement(data.charging)
    request = _Request(
        connector=connector,
        data=data,
        url=request_url(connector, data.charging),
        headers=_headers(connector),
        payload=json.dumps(body).encode(),
        recorded_body=recorded_body,
        transaction_id=transaction_id,
    )
    if outgoing is not None:
        return await _attempts(outgoing, request, now_ms, on_attempt)
    own = Outgoing()
    try:
        return await _attempts(own, request, now_ms, on_attempt)
    finally:
        await own.aclose()


async def _attempts(
    outgoing: Outgoing,
    request: _Request,
    now_ms: Callable[[], int],
    on_attempt: OnAttempt | None,
) -> Settlement:
    data = request.data
    for number in range(1, request.connector.retries + 2):
        started_at_ms = now_ms()
        started = time.perf_counter()
        reply, error = await _exchange(outgoing, request)
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        settlement: Settlement | None = None
        if error is None:  # answered
            assert reply.status_code is not None
            settlement, error = judge_answer(
                data.charging,
                reply.status_code,
                reply.body,
                truncated=reply.truncated,
                legacy=request.connector.legacy_paths,
            )
        if error is not None:
            error = scrub(error, data)
            logger.info("GPC %s, attempt %d: %s", request.url, number, error)
        excerpt = reply.body[:EXCERPT_BYTES].decode("utf-8", "replace")
        await _notify(
            on_attempt,
            ConnectorAttempt(
                url=request.url,
                transaction_id=request.transaction_id,
                attempt=number,
                status_code=None if settlement is None else reply.status_code,
                latency_ms=latency_ms,
                error=error,
                request_body=request.recorded_body,
                response_excerpt=scrub(excerpt, data),
                started_at_ms=started_at_ms,
            ),
        )
        if settlement is not None:
            return _scrubbed(settlement, data)
        if reply.refusal is not None:
            break  # final: the policy refuses this endpoint, trying again cannot help
    return no_answer_settlement(data.charging)
