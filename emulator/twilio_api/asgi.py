"""The Twilio REST edge: everything under ``/2010-04-01/``, as a plain ASGI app.

The routes themselves (what each path does) are in ``twilio_api/routes.py``.

It reads the path and the body once, authenticates, hands a parsed request to a handler and
renders what comes back. No framework sits on this path: it is the hot one, and Twilio's
answers for unknown paths (404, 20404), wrong methods (405, 20004), bad credentials (401,
20003) and crashes (500, 20500) are simplest to get exactly right by hand. Every answer
carries ``Twilio-Request-Id`` and the CORS headers; ``OPTIONS`` is a preflight, answered
without credentials.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from emulator.clock import Clock, format_iso_ms
from emulator.domain.hostnames import HostNames, Origins
from emulator.domain.records import Answer
from emulator.errors import (
    AuthenticationFailed,
    Forbidden,
    HttpBadRequest,
    InternalServerError,
    MethodNotAllowed,
    ResourceNotFound,
    TooManyParameters,
    TwilioError,
    error_body,
)
from emulator.ids import IdGenerator
from emulator.services.auth import WWW_AUTHENTICATE, Authenticator, Principal
from emulator.services.faults import FaultRule, Faults
from emulator.services.journal import (
    MAX_RESPONSE,
    Journal,
    JournalEntry,
    bounded,
    journal_params,
)
from emulator.services.metrics import Metrics
from emulator.twilio_api.render import Headers, response_headers

__all__ = ["ApiRequest", "Handler", "Route", "TwilioApi"]

logger = logging.getLogger("emulator.api")
access_logger = logging.getLogger("emulator.access")


# The ASGI scope extension (set by emulator.server.protocol) that closes the connection.
CLOSE_CONNECTION = "emulator.close_connection"

ALLOWED_METHODS = b"POST, OPTIONS"  # most paths' (405 answers list a path's methods)
HOST_CACHE_SIZE = 1024  # Host headers judged, kept: most clients send one or two

_ACCOUNT_IN_PATH = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})(?:/|\.json$|$)")


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One authenticated request: the path's parameters and the form, parsed once."""

    principal: Principal
    path: str
    path_params: dict[str, str]
    form: list[tuple[str, str]]
    request_id: str


Handler = Callable[[ApiRequest], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class Route:
    """``pattern`` matches the whole path; its named groups become ``path_params``."""

    pattern: re.Pattern[str]
    handler: Handler
    method: str = "POST"


OTHER_ROUTE = "other"
"""The route label of a request that matched no route (metrics)."""


def route_template(pattern: re.Pattern[str]) -> str:
    """A route's pattern as a template: ``(?P<call_sid>CA...)`` -> ``{call_sid}``."""
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.pattern)
    return text.removeprefix("^").removesuffix("$").replace("\\", "")


@dataclass(slots=True)
class _Exchange:
    """What is known of one request so far, for the journal."""

    request_id: str
    method: str
    path: str
    started: float
    params: dict[str, str] = field(default_factory=dict)
    form: list[tuple[str, str]] = field(default_factory=list)
    principal: Principal | None = None
    auth_failure: str | None = None  # which authentication check failed
    route: str = OTHER_ROUTE  # the matched route's template (metrics)
    code: int | None = None  # the answer's Twilio error code
    allow: bytes = ALLOWED_METHODS  # a 405's Allow header


class TwilioApi:
    def __init__(
        self,
        routes: Sequence[Route],
        auth: Authenticator,
        ids: IdGenerator,
        clock: Clock,
        journal: Journal,
        faults: Faults,
        max_form_fields: int = 256,
        hosts: HostNames | None = None,
        origins: Origins | None = None,
        metrics: Metrics | None = None,
    ):
        self._max_form_fields = max_form_fields
        self._hosts = hosts
        self._origins = origins if origins is not None else Origins(["*"])
        self._known_hosts: dict[bytes, bool] = {}
        self._routes = list(routes)
        self._templates = {route.pattern: route_template(route.pattern) for route in routes}
        self._metrics = metrics
        self._auth = auth
        self._ids = ids
        self._clock = clock
        self._journal = journal
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = _Exchange(
            self._ids.request_id(), scope["method"], scope["path"], time.perf_counter()
        )
        authorization: bytes | None = None
        host = origin = fetch_site = None
        hosts = 0
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"host":
                host = value
                hosts += 1
            elif name == b"sec-fetch-site":
                fetch_site = value
            elif name == b"origin":
                origin = value
        refusal = (
            self._refusal(host, fetch_site, origin)
            if hosts < 2
            else HttpBadRequest("Bad Request: the request has more than one Host header")
        )
        if refusal is not None:
            body = refusal.body()
            await _send(send, refusal.status, response_headers(exchange.request_id, body), body)
            self._record(exchange, refusal.status, body)
            return
        if exchange.method == "OPTIONS":
            headers = response_headers(exchange.request_id, None)
            await _send(send, 200, headers, b"")
            self._observe(exchange, 200)
            return
        if self._faults:
            rule = self._faults.pick(exchange.method, exchange.path, _account_in(exchange.path))
            if rule is not None and await self._inject(rule, exchange, scope, receive, send):
                return
        extra: Headers = []
        try:
            answer = await self._dispatch(exchange, receive, authorization)
            status, body = answer.status, answer.body
        except TwilioError as exc:
            status, body = exc.status, exc.body()
            exchange.code = exc.code
            if isinstance(exc, AuthenticationFailed):
                extra.append((b"www-authenticate", WWW_AUTHENTICATE))
                exchange.auth_failure = exc.reason or None
            elif isinstance(exc, MethodNotAllowed):
                extra.append((b"allow", exchange.allow))
        except Exception:
            logger.exception("unhandled error answering request %s", exchange.request_id)
            error = InternalServerError()
            status, body = error.status, error.body()
            exchange.code = error.code
        headers = response_headers(exchange.request_id, body)
        headers.extend(extra)
        await _send(send, status, headers, body)
        self._record(exchange, status, body)

    def _refusal(
        self, host: bytes | None, fetch_site: bytes | None, origin: bytes | None
    ) -> TwilioError | None:
        """Why a browser's request is refused before anything else (no relay for web pages):
        a ``Host`` the emulator does not answer to (DNS rebinding), or a cross-site request
        from an origin not in ``cors_origins``. SDKs send neither problem."""
        if host is not None and self._hosts is not None:
            known = self._known_hosts.get(host)
            if known is None:
                if len(self._known_hosts) >= HOST_CACHE_SIZE:
                    self._known_hosts.clear()
                known = self._known_hosts[host] = self._hosts.known(host.decode("latin-1"))
            if not known:
                shown = host.decode("latin-1")[:100]
                return Forbidden(f"Host {shown!r} is not a name this emulator answers to")
        if fetch_site == b"cross-site" and not self._origins.allows(
            origin.decode("latin-1") if origin is not None else None
        ):
            shown = origin.decode("latin-1")[:100] if origin is not None else "(none)"
            return Forbidden(
                f"cross-site requests from origin {shown!r} are refused: it is not in cors_origins"
            )
        return None

    async def _dispatch(
        self, exchange: _Exchange, receive: Receive, authorization: bytes | None
    ) -> Answer:
        path = exchange.path
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            exchange.params = params = match.groupdict()
            exchange.route = self._templates[route.pattern]
            principal = self._auth.authenticate(authorization, params.get("account_sid"))
            exchange.principal = principal
            if exchange.method != route.method:
                same = [r for r in self._routes if r.pattern.pattern == route.pattern.pattern]
                chosen = next((r for r in same if r.method == exchange.method), None)
                if chosen is None:
                    methods = sorted({r.method for r in same})
                    exchange.allow = ", ".join([*methods, "OPTIONS"]).encode()
                    raise MethodNotAllowed()
                route = chosen
            exchange.form = form = self._form(await _read_body(receive))
            request = ApiRequest(principal, path, params, form, exchange.request_id)
            return await route.handler(request)
        account = _account_in(path)
        if account:
            exchange.params = {"account_sid": account}
        exchange.principal = self._auth.authenticate(authorization, account)
        raise ResourceNotFound(path)

    async def _inject(
        self,
        rule: FaultRule,
        exchange: _Exchange,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> bool:
        """Apply a fault; True when it answered (or dropped) the request itself."""
        if rule.action == "delay":
            await asyncio.sleep(rule.delay_ms / 1000)
            return False
        account = _account_in(exchange.path)
        exchange.params = {"account_sid": account} if account else {}
        try:
            exchange.form = self._form(await _read_body(receive))
        except TooManyParameters:
            exchange.form = []
        if rule.action == "drop":
            close = scope.get("extensions", {}).get(CLOSE_CONNECTION)
            if close is not None:
                close()
                while (await receive())["type"] != "http.disconnect":
                    pass
            else:  # not served by our protocol: the next best thing is a truncated answer
                headers = [(b"content-length", b"1024")]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
            self._record(exchange, 0, b"")
            return True
        message = rule.message or f"Injected fault {rule.id}"
        answer = error_body(rule.code, message, rule.status)
        exchange.code = rule.code
        await _send(send, rule.status, response_headers(exchange.request_id, answer), answer)
        self._record(exchange, rule.status, answer)
        return True

    def _form(self, body: bytes) -> list[tuple[str, str]]:
        """The form's fields, in order. Bytes that are not UTF-8 become lone surrogates
        (``surrogateescape``), so two values that differ in their bytes stay different; the
        parameter rules refuse them where they matter."""
        try:
            return parse_qsl(
                body.decode("utf-8", "surrogateescape"),
                keep_blank_values=True,
                errors="surrogateescape",
                max_num_fields=self._max_form_fields,
            )
        except ValueError:  # more fields than max_num_fields
            raise TooManyParameters(
                f"Too many parameters: at most {self._max_form_fields} form fields are accepted"
            ) from None

    def _record(self, exchange: _Exchange, status: int, body: bytes) -> None:
        params = exchange.params
        principal = exchange.principal
        if exchange.code is None and status >= 400:
            exchange.code = _error_code(body)  # an error answer kept for an IdempotencyKey
        self._journal.record(
            JournalEntry(
                request_id=exchange.request_id,
                time=format_iso_ms(self._clock.now_ms()),
                method=exchange.method,
                path=bounded(exchange.path),
                params=journal_params(exchange.form),
                authenticated_as=principal.credential_sid if principal else None,
                account_sid=params.get("account_sid"),
                call_sid=params.get("call_sid"),
                payment_sid=params.get("payment_sid"),
                status=status,
                response=bounded(body.decode("utf-8", "replace"), MAX_RESPONSE),
                duration_ms=round((time.perf_counter() - exchange.started) * 1000, 3),
                auth_failure=exchange.auth_failure,
            )
        )
        self._observe(exchange, status)

    def _observe(self, exchange: _Exchange, status: int) -> None:
        """Count the request (metrics) and write its access log line (at debug)."""
        if exchange.route == OTHER_ROUTE and exchange.method == "OPTIONS":
            exchange.route = self._route_of(exchange.path)
        if self._metrics is not None:
            self._metrics.request(exchange.route, exchange.method, status, exchange.code)
        if access_logger.isEnabledFor(logging.DEBUG):
            duration_ms = round((time.perf_counter() - exchange.started) * 1000, 3)
            params = exchange.params
            fields = {
                "event": "request",
                "request_id": exchange.request_id,
                "method": exchange.method,
                "path": bounded(exchange.path),
                "status": status,
                "code": exchange.code,
                "duration_ms": duration_ms,
                "account": params.get("account_sid"),
                "call": params.get("call_sid"),
                "session": params.get("payment_sid"),
            }
            if exchange.auth_failure:
                fields["auth_failure"] = exchange.auth_failure
            access_logger.debug(
                "%s %s %d%s",
                exchange.method,
                fields["path"],
                status,
                f" ({exchange.code})" if exchange.code else "",
                extra=fields,
            )

    def _route_of(self, path: str) -> str:
        for route in self._routes:
            if route.pattern.match(path):
                return self._templates[route.pattern]
        return OTHER_ROUTE


def _error_code(body: bytes) -> int | None:
    """The ``code`` of a Twilio error body, if it is one."""
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _account_in(path: str) -> str | None:
    match = _ACCOUNT_IN_PATH.match(path)
    return match.group(1) if match else None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, status: int, headers: Headers, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
