"""The one way out: every HTTP request the emulator sends goes through :class:`Outgoing`.

StatusCallbacks, Generic Pay Connector requests (and the voice webhooks of simulated calls)
share one set of rules:

* **the host policy** (:class:`~emulator.outgoing.policy.HostPolicy`): ``callback_hosts``,
  and never the emulator's own addresses; a refusal is final and nothing is sent;
* **one transport** (:class:`~emulator.outgoing.transport.LeanTransport`): keep-alive
  connections, names resolved through one shared cache (:mod:`emulator.outgoing.resolver`),
  at most ``max_answer_bytes`` of an answer read;
* **fairness**: at most ``host_concurrency`` requests in flight to one host (scheme, host,
  port), so a hanging receiver holds only slots of its own, and at most
  :data:`MAX_IN_FLIGHT` in all;
* **credentials in URLs** (``https://user:pass@host/...``) are sent as HTTP Basic, and shown
  masked (``user:****@host``) in everything recorded.

:meth:`Outgoing.send` never raises for anything the other side does (only for cancellation):
a :class:`Reply` says what came back, or why nothing did.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx

from emulator.domain.urls import MASK, basic_authorization, mask_url_password, scrub_password
from emulator.outgoing.policy import HostPolicy
from emulator.outgoing.resolver import Resolver
from emulator.outgoing.transport import (
    MAX_ANSWER,
    PROGRESS,
    TRUNCATED,
    LeanTransport,
    Progress,
    RefusedAddress,
)

__all__ = ["MAX_IN_FLIGHT", "USER_AGENT", "Outgoing", "OutgoingRequest", "Reply"]

USER_AGENT = "TwilioProxy/1.1"
"""The ``User-Agent`` of Twilio's webhooks and connector requests."""
MAX_IN_FLIGHT = 512  # all hosts together: a safety net for file descriptors, far above need
URL_CACHE_SIZE = 4096  # parsed URLs kept: most requests of a test suite share a few


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One request to send. ``url`` is absolute, as configured (credentials in it are sent as
    HTTP Basic unless ``headers`` has an ``Authorization``). ``timeout_s`` bounds each phase
    (connecting, sending, reading the answer); ``deadline_s``, when set, the whole exchange.
    At most ``max_answer_bytes`` of the answer are read (None: the client's own cap)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    timeout_s: float = 15.0
    deadline_s: float | None = None
    max_answer_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What came of a request.

    ``status_code`` is None when no complete answer came: then ``error`` is what went wrong
    (an exception, whose causes are kept), or ``refusal`` says why nothing was sent (final:
    trying again cannot help). ``partial_status`` and ``body`` are what came of an answer cut
    short.
    ``body`` is at most the cap; ``truncated`` says more came. ``url`` and ``headers`` are as
    shown: the password masked, credentials masked; ``headers`` is empty when nothing was sent.
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    status_code: int | None = None
    body: bytes = b""
    truncated: bool = False
    error: BaseException | None = None
    refusal: str | None = None
    partial_status: int | None = None
    duration_ms: float = 0.0


class _HostSlots:
    """At most ``limit`` holders per key at a time; a key's entry lives while it is used."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[tuple[str, str, int], tuple[asyncio.Semaphore, list[int]]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: tuple[str, str, int]) -> AsyncIterator[None]:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = (asyncio.Semaphore(self._limit), [0])
        semaphore, users = slot
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0 and self._slots.get(key) is slot:
                del self._slots[key]

    def __len__(self) -> int:
        return len(self._slots)


class Outgoing:
    """The emulator's one HTTP client; see the module's docstring."""

    def __init__(
        self,
        policy: HostPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_answer_bytes: int = 65536,
        host_concurrency: int = 32,
    ) -> None:
        self.policy = policy if policy is not None else HostPolicy()
        self._transport = LeanTransport(
            ssl_context,
            resolver=resolver,
            max_response_bytes=max_answer_bytes,
            refuse_address=self.policy.refuse_address,
        )
        self._host_slots = _HostSlots(host_concurrency)
        self._sending = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._urls: dict[str, httpx.URL] = {}

    @property
    def resolver(self) -> Resolver:
        return self._transport.resolver

    def serving(self, listeners: list[tuple[str, int]]) -> None:
        """The emulator's listening sockets are bound: never send a request to them."""
        self.policy.serving(listeners)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def send(self, request: OutgoingRequest) -> Reply:
        """Send ``request`` under the policy; see :class:`Reply`."""
        url = request.url
        shown = mask_url_password(url)
        try:
            target = self._parse(url)
        except httpx.InvalidURL as exc:
            return Reply(shown, refusal=scrub_password(f"invalid URL: {exc}", url))
        if target.scheme not in ("http", "https") or not target.raw_host:
            return Reply(shown, refusal="invalid URL: not an absolute http(s) URL")
        refusal = self.policy.refuse_url(target.host)
        raw_host = target.raw_host.decode("ascii")  # an IDN as written, in its ASCII form
        if refusal is not None and raw_host != target.host:
            refusal = self.policy.refuse_url(raw_host)
        if refusal is not None:
            return Reply(shown, refusal=refusal)
        headers = dict(request.headers)
        shown_headers = dict(headers)
        if "Authorization" in headers:
            shown_headers["Authorization"] = headers["Authorization"].split(" ")[0] + " " + MASK
        elif target.username or target.password:
            headers["Authorization"] = basic_authorization(target.username, target.password)
            shown_headers["Authorization"] = "Basic " + MASK
        progress = Progress()
        extensions: dict[str, object] = {
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), request.timeout_s),
            PROGRESS: progress,
        }
        if request.max_answer_bytes is not None:
            extensions[MAX_ANSWER] = request.max_answer_bytes
        message = httpx.Request(
            request.method, target, content=request.body, headers=headers, extensions=extensions
        )
        origin = (target.scheme, target.raw_host.decode("ascii").lower(), target.port or 0)
        async with self._host_slots.hold(origin), self._sending:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(request.deadline_s):
                    response = await self._transport.handle_async_request(message)
            except RefusedAddress as exc:
                return Reply(shown, refusal=str(exc), duration_ms=_since(started))
            except (httpx.HTTPError, TimeoutError) as exc:
                return Reply(
                    shown,
                    shown_headers,
                    body=b"".join(progress.body),
                    error=exc,
                    partial_status=progress.status_code,
                    duration_ms=_since(started),
                )
        return Reply(
            shown,
            shown_headers,
            status_code=response.status_code,
            body=response.content,
            truncated=bool(response.extensions.get(TRUNCATED)),
            duration_ms=_since(started),
        )

    def _parse(self, url: str) -> httpx.URL:
        """Parsed once per distinct URL."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
