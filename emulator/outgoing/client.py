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
* **credentials in URLs** (``https://user:pass@host/...``) are sent as HTTP Basic the way
  Twilio sends them (https://www.twilio.com/docs/usage/security#http-authentication): "Twilio
  will first send a request with no Authorization header. After your server responds with a
  401 Unauthorized status code, a WWW-Authenticate header and a realm in the response, Twilio
  will make the same request with an Authorization header". They are shown masked
  (``user:****@host``) in everything recorded.

:meth:`Outgoing.send` never raises for anything the other side does (only for cancellation):
a :class:`Reply` says what came back, or why nothing did.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import httpx

from emulator.domain.urls import (
    MASK,
    basic_authorization,
    basic_challenge,
    mask_url_password,
    scrub_password,
)
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
    HTTP Basic, once the server asks for them, unless ``headers`` has an ``Authorization``).
    ``timeout_s`` bounds each phase (connecting, sending, reading the answer), but connecting
    when ``connect_timeout_s`` is set; ``deadline_s``, when set, the whole exchange (a
    challenge and the request that answers it together). At most ``max_answer_bytes`` of the
    answer are read (None: the client's own cap)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    timeout_s: float = 15.0
    deadline_s: float | None = None
    max_answer_bytes: int | None = None
    connect_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """What came of a request.

    ``status_code`` is None when no complete answer came: then ``error`` is what went wrong
    (an exception, whose causes are kept), or ``refusal`` says why nothing was sent (final:
    trying again cannot help). ``partial_status`` and ``body`` are what came of an answer cut
    short.
    ``body`` is at most the cap; ``truncated`` says more came. ``url`` and ``headers`` are as
    shown: the password masked, credentials masked; ``headers`` is empty when nothing was sent.
    ``challenged``: the server answered 401 with a Basic challenge first, and the request was
    sent again with the URL's credentials (this is the answer to that one).
    ``answer_headers`` are the answer's headers (names in lower case; a repeated one joined
    with ``, ``).
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
    challenged: bool = False
    answer_headers: dict[str, str] = field(default_factory=dict)  # names in lower case


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
        credentials: str | None = None  # sent once the server asks for them
        if "Authorization" in headers:
            shown_headers["Authorization"] = headers["Authorization"].split(" ")[0] + " " + MASK
        elif target.username or target.password:
            credentials = basic_authorization(target.username, target.password)
        origin = (target.scheme, target.raw_host.decode("ascii").lower(), target.port or 0)
        progress = Progress()
        async with self._host_slots.hold(origin), self._sending:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(request.deadline_s):
                    reply, challenges = await self._exchange(
                        request, target, headers, progress, shown, shown_headers
                    )
                    if credentials is not None and _asks_for_basic(reply, challenges):
                        headers["Authorization"] = credentials
                        shown_headers["Authorization"] = "Basic " + MASK
                        progress = Progress()
                        reply, _ = await self._exchange(
                            request, target, headers, progress, shown, shown_headers
                        )
                        reply = dataclasses.replace(reply, challenged=True)
            except TimeoutError as exc:  # the deadline passed
                reply = Reply(
                    shown,
                    dict(shown_headers),
                    body=b"".join(progress.body),
                    error=exc,
                    partial_status=progress.status_code,
                    challenged=credentials is not None and "Authorization" in headers,
                )
        return dataclasses.replace(reply, duration_ms=_since(started))

    async def _exchange(
        self,
        request: OutgoingRequest,
        target: httpx.URL,
        headers: dict[str, str],
        progress: Progress,
        shown: str,
        shown_headers: dict[str, str],
    ) -> tuple[Reply, list[str]]:
        """One request: its reply (not timed: :meth:`send` times the whole), and the
        answer's ``WWW-Authenticate`` challenges."""
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), request.timeout_s)
        if request.connect_timeout_s is not None:
            timeouts["connect"] = request.connect_timeout_s
        extensions: dict[str, object] = {"timeout": timeouts, PROGRESS: progress}
        if request.max_answer_bytes is not None:
            extensions[MAX_ANSWER] = request.max_answer_bytes
        message = httpx.Request(
            request.method, target, content=request.body, headers=headers, extensions=extensions
        )
        try:
            response = await self._transport.handle_async_request(message)
        except RefusedAddress as exc:
            return Reply(shown, refusal=str(exc)), []
        except httpx.HTTPError as exc:
            reply = Reply(
                shown,
                dict(shown_headers),
                body=b"".join(progress.body),
                error=exc,
                partial_status=progress.status_code,
            )
            return reply, []
        reply = Reply(
            shown,
            dict(shown_headers),
            status_code=response.status_code,
            body=response.content,
            truncated=bool(response.extensions.get(TRUNCATED)),
            answer_headers=_answer_headers(response.headers),
        )
        return reply, response.headers.get_list("www-authenticate")

    def _parse(self, url: str) -> httpx.URL:
        """Parsed once per distinct URL."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= URL_CACHE_SIZE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed


def _asks_for_basic(reply: Reply, challenges: list[str]) -> bool:
    """A 401 whose ``WWW-Authenticate`` offers Basic with a realm: Twilio then sends the
    request again with the URL's credentials (a Digest challenge is not answered)."""
    return reply.status_code == 401 and any(basic_challenge(value) for value in challenges)


def _answer_headers(headers: httpx.Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers.multi_items():
        name = name.lower()
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
