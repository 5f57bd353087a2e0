"""The voice webhook: how a call asks the application for its TwiML.

A request of the one way out (:mod:`emulator.outgoing.client`: host policy, name look-ups,
answer cap), signed as Twilio signs it (``X-Twilio-Signature`` with the account's auth token:
for a POST the URL and the form's parameters; for a GET the URL with the parameters in its
query, "These will send as either POST parameters or URL query parameters, depending on which
HTTP method you've configured", https://www.twilio.com/docs/voice/twiml). Its connection
settings are Twilio's: "Twilio will try for 10 seconds to establish a TCP connection to your
URL (two 5-second attempts). Twilio will wait for a total of 15 seconds to receive an HTTP
response" (error 11205), unless the URL's connection overrides (``#ct=...&rt=...``) say
otherwise; the total is ``voice_webhook_timeout_s``.

What can go wrong, as Twilio's notifications name it:

=====  =============================================================================
11205  no connection could be made ("HTTP connection failure")
11210  the host name does not resolve ("HTTP bad host name")
11200  no answer in time, a 4xx or 5xx answer, no ``Content-Type``, a refused host
       ("HTTP retrieval failure")
11215  more than 10 HTTP redirects ("Twilio follows HTTP Redirects ... maximum of 10")
11750  an answer over 64 KiB ("TwiML response body too large")
12300  a ``Content-Type`` that is neither TwiML, text nor audio ("Invalid Content-Type")
=====  =============================================================================

:meth:`VoiceWebhook.fetch` never raises for what the other side does: a :class:`Fetched` says
what came back, or the notification.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from urllib.parse import urljoin

import httpx

from emulator.domain import overrides
from emulator.domain.overrides import Overrides
from emulator.domain.twiml import MAX_DOCUMENT_BYTES
from emulator.domain.urls import mask_url_password, scrub_password
from emulator.domain.voice import MISSING, UNSUPPORTED, content_kind
from emulator.ids import IdGenerator
from emulator.outgoing.client import Outgoing, Reply
from emulator.outgoing.resolver import ResolveError
from emulator.outgoing.webhooks import signed_webhook

__all__ = ["MAX_REDIRECTS", "Fetched", "VoiceWebhook"]

MAX_REDIRECTS = 10
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class Fetched:
    """What a document request came to: the answer (``status_code``, ``content_type``,
    ``body``), or the notification (``code`` and ``message``) of what went wrong. ``url`` is
    the URL last asked (after HTTP redirects), its password masked; ``final_url`` the same,
    unmasked, for resolving the document's relative URLs."""

    url: str
    final_url: str
    method: str
    status_code: int | None = None
    content_type: str | None = None
    body: bytes = b""
    duration_ms: float = 0.0
    code: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code is None


class VoiceWebhook:
    def __init__(self, outgoing: Outgoing, ids: IdGenerator, timeout_s: float = 15.0) -> None:
        self._outgoing = outgoing
        self._ids = ids
        self._timeout_s = timeout_s

    def _defaults(self) -> Overrides:
        total_ms = max(1, round(self._timeout_s * 1000))
        return Overrides(
            connect_timeout_ms=min(Overrides().connect_timeout_ms, total_ms),
            read_timeout_ms=total_ms,
            total_ms=total_ms,
        )

    async def fetch(
        self, auth_token: str, url: str, method: str, params: list[tuple[str, str]]
    ) -> Fetched:
        """Ask ``url`` for a TwiML document (see the module's docstring)."""
        settings = overrides.parse(url, self._defaults())
        target = overrides.without_fragment(url)
        started = time.monotonic()
        deadline = started + settings.total_ms / 1000
        token = self._ids.token()  # I-Twilio-Idempotency-Token: the same on every attempt
        for _ in range(MAX_REDIRECTS + 1):
            fetched, location = await self._follow(
                auth_token, target, method, params, settings, deadline, token
            )
            if location is None:
                return _timed(fetched, started)
            target = location
            if fetched.status_code == 303 or (
                fetched.status_code in (301, 302) and method == "POST"
            ):
                method, params = "GET", []  # as browsers and HTTP clients do
        return _timed(
            _failure(
                target,
                method,
                11215,
                f"HTTP too many redirects: more than {MAX_REDIRECTS} redirects",
            ),
            started,
        )

    async def _follow(
        self,
        auth_token: str,
        url: str,
        method: str,
        params: list[tuple[str, str]],
        settings: Overrides,
        deadline: float,
        token: str,
    ) -> tuple[Fetched, str | None]:
        """One request, with its retries; the answer, and where an HTTP redirect points."""
        attempt = 0
        while True:
            attempt += 1
            reply = await self._send(auth_token, url, method, params, settings, deadline, token)
            failure = _retry_failure(reply)
            if (
                reply.status_code is not None
                or attempt > settings.retry_count
                or not overrides.retried(settings.retry_policy, failure)
                or time.monotonic() >= deadline
            ):
                break
        fetched = _fetched(reply, url, method, self._timeout_s)
        location = reply.answer_headers.get("location")
        if reply.status_code in _REDIRECTS and location:
            return fetched, urljoin(url, location.strip())
        return fetched, None

    async def _send(
        self,
        auth_token: str,
        url: str,
        method: str,
        params: list[tuple[str, str]],
        settings: Overrides,
        deadline: float,
        token: str,
    ) -> Reply:
        request = signed_webhook(
            method,
            url,
            params,
            auth_token,
            token,
            settings,
            deadline,
            headers={"Accept": "*/*"},
            max_answer_bytes=MAX_DOCUMENT_BYTES,
        )
        return await self._outgoing.send(request)


def _retry_failure(reply: Reply) -> overrides.Failure | None:
    """A failure a retry policy names: no connection (``ct``) or no answer in time (``rt``);
    Twilio's default policy retries only the first."""
    exc = reply.error
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and not isinstance(
        exc.__cause__, ResolveError
    ):
        return "ct"
    if isinstance(exc, httpx.ReadTimeout):
        return "rt"
    return None


def _failure(
    url: str,
    method: str,
    code: int,
    message: str,
    reply: Reply | None = None,
) -> Fetched:
    """A failed request's notification, with what the answer was, if any."""
    return Fetched(
        mask_url_password(url),
        url,
        method,
        status_code=reply.status_code if reply is not None else None,
        content_type=reply.answer_headers.get("content-type") if reply is not None else None,
        body=reply.body if reply is not None else b"",
        code=code,
        message=scrub_password(message, url),
    )


def _fetched(reply: Reply, url: str, method: str, timeout_s: float) -> Fetched:
    """What a reply comes to (a redirect's is read by the caller)."""
    if reply.refusal is not None:
        return _failure(url, method, 11200, f"HTTP retrieval failure: {reply.refusal}")
    if reply.error is not None:
        exc = reply.error
        if isinstance(exc, httpx.ConnectError) and isinstance(exc.__cause__, ResolveError):
            return _failure(url, method, 11210, f"HTTP bad host name: {exc}")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return _failure(url, method, 11205, f"HTTP connection failure: {exc}")
        if isinstance(exc, httpx.ReadTimeout | TimeoutError):
            return _failure(
                url,
                method,
                11200,
                f"HTTP retrieval failure: no answer within {timeout_s:g} seconds",
            )
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return _failure(url, method, 11200, f"HTTP retrieval failure: {reason}")
    status = reply.status_code
    assert status is not None
    content_type = reply.answer_headers.get("content-type")
    if status in _REDIRECTS and reply.answer_headers.get("location"):
        return Fetched(mask_url_password(url), url, method, status, content_type, reply.body)
    if not 200 <= status < 300:
        return _failure(
            url, method, 11200, f"HTTP retrieval failure: Got HTTP {status} response", reply
        )
    if reply.truncated:
        return _failure(
            url,
            method,
            11750,
            f"TwiML response body too large: over {MAX_DOCUMENT_BYTES} bytes",
            reply,
        )
    kind = content_kind(content_type)
    if kind == MISSING:
        return _failure(
            url,
            method,
            11200,
            "HTTP retrieval failure: No Content-Type header attached to response",
            reply,
        )
    if kind == UNSUPPORTED:
        return _failure(
            url, method, 12300, f"Invalid Content-Type: {(content_type or '')[:100]}", reply
        )
    return Fetched(mask_url_password(url), url, method, status, content_type, reply.body)


def _timed(fetched: Fetched, started: float) -> Fetched:
    return replace(fetched, duration_ms=round((time.monotonic() - started) * 1000, 3))
