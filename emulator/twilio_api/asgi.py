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

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from emulator.auth import WWW_AUTHENTICATE, Principal, authenticate
from emulator.errors import (
    AuthenticationFailed,
    InternalServerError,
    MethodNotAllowed,
    ResourceNotFound,
    TwilioError,
)
from emulator.ids import IdGenerator
from emulator.store.db import Database
from emulator.twilio_api.render import Answer, Headers, response_headers

__all__ = ["ApiRequest", "Handler", "Route", "TwilioApi"]

logger = logging.getLogger("emulator.api")


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


class TwilioApi:
    def __init__(self, routes: Sequence[Route], db: Database, ids: IdGenerator):
        self._routes = list(routes)
        self._db = db
        self._ids = ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self._ids.request_id()
        origin: bytes | None = None
        authorization: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"origin":
                origin = value
        extra: Headers = []
        try:
            if scope["method"] == "OPTIONS":
                await _send(send, 200, response_headers(request_id, origin, None), b"")
                return
            response = await self._dispatch(scope, receive, authorization, request_id)
            status, body = response.status, response.body
        except TwilioError as exc:
            status, body = exc.status, exc.body()
            if isinstance(exc, AuthenticationFailed):
                extra.append((b"www-authenticate", WWW_AUTHENTICATE))
        except Exception:
            logger.exception("unhandled error answering request %s", request_id)
            error = InternalServerError()
            status, body = error.status, error.body()
        headers = response_headers(request_id, origin, body)
        headers.extend(extra)
        await _send(send, status, headers, body)

    async def _dispatch(
        self, scope: Scope, receive: Receive, authorization: bytes | None, request_id: str
    ) -> Answer:
        path: str = scope["path"]
        method: str = scope["method"]
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            params = match.groupdict()
            principal = authenticate(self._db.conn, authorization, params.get("account_sid"))
            if method != route.method:
                raise MethodNotAllowed()
            body = await _read_body(receive)
            form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            return await route.handler(ApiRequest(principal, path, params, form, request_id))
        account = _ACCOUNT_IN_PATH.match(path)
        authenticate(self._db.conn, authorization, account.group(1) if account else None)
        raise ResourceNotFound(path)


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
