"""The control plane's gate: no web page a developer visits can drive the emulator.

Every request that is not for the Twilio paths (``/_emulator/...``, the inspector, ``/``)
passes here first:

* its ``Host`` must be a name the emulator answers to (:mod:`emulator.domain.hostnames`: an
  IP literal, ``localhost``, the machine's host name, the TLS certificate names, the
  ``allowed_hosts`` setting): a DNS rebinding attack reaches the emulator under a foreign
  name, and is refused;
* a request carrying ``I-Twilio-Idempotency-Token`` is refused: only the emulator's own
  webhooks send it, and one of them pointed at the control plane must not drive it (the one
  way out already refuses the emulator's own addresses; this is the second wall);
* a browser's cross-site request is refused: an ``Origin`` other than the emulator's own
  (``null`` included), or ``Sec-Fetch-Site: cross-site`` (except a plain link followed to a
  page: a GET navigation, which cannot change anything);
* with a control token set, the request must carry it: ``Authorization: Bearer TOKEN``, or the
  cookie a browser gets by opening any control-plane page once with ``?token=TOKEN``.
  ``GET /_emulator/health`` needs no token (health checks).

Refusals are 403 (401 for a missing or wrong token) with a short JSON reason.
"""

from __future__ import annotations

import hmac
import json
import socket
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.domain.hostnames import HostNames
from emulator.paths import HEALTH_PATH

__all__ = ["TOKEN_COOKIE", "ControlGuard"]

TOKEN_COOKIE = "emulator_control_token"
_SAFE_METHODS = ("GET", "HEAD")


class ControlGuard:
    """ASGI middleware in front of the control plane (see the module's docstring)."""

    def __init__(self, app: ASGIApp, token: str | None, names: Iterable[str]) -> None:
        self._app = app
        self._token = token.encode() if token else None
        self._names = HostNames([*names, socket.gethostname()])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if sum(1 for name, _ in scope["headers"] if name == b"host") > 1:
            await _refuse(send, 400, "the request has more than one Host header")
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if host and not self._names.known(host):
            await _refuse(send, 403, f"Host {host[:100]!r} is not a name this emulator answers to")
            return
        if b"i-twilio-idempotency-token" in headers:
            # Only the emulator's own webhooks send it: one that reached the control plane
            # (a StatusCallback at /_emulator/reset, say) is refused, whatever else it carries.
            await _refuse(send, 403, "a webhook of the emulator's own may not drive it")
            return
        method: str = scope["method"]
        origin = headers.get(b"origin")
        if origin is not None and not _same_origin(origin.decode("latin-1"), host):
            await _refuse(send, 403, "cross-origin requests to the control plane are refused")
            return
        if headers.get(b"sec-fetch-site") == b"cross-site" and not (
            method in _SAFE_METHODS and headers.get(b"sec-fetch-mode") == b"navigate"
        ):
            await _refuse(send, 403, "cross-site requests to the control plane are refused")
            return
        if self._token is not None and scope["path"] != HEALTH_PATH:
            given = _query_token(scope)
            if given is not None and method in _SAFE_METHODS:
                if hmac.compare_digest(given, self._token):
                    await _set_cookie_and_reload(scope, send, given)
                    return
                await _refuse(send, 401, "wrong control token", bearer=True)
                return
            if not self._authorized(headers):
                await _refuse(send, 401, "the control plane needs its token", bearer=True)
                return
        await self._app(scope, receive, send)

    def _authorized(self, headers: dict[bytes, bytes]) -> bool:
        assert self._token is not None
        authorization = headers.get(b"authorization", b"")
        scheme, _, credential = authorization.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token):
            return True
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:  # a malformed Cookie header: no token there
            return False
        morsel = cookie.get(TOKEN_COOKIE)
        return morsel is not None and hmac.compare_digest(morsel.value.encode(), self._token)


def _same_origin(origin: str, host: str) -> bool:
    """Whether a browser's ``Origin`` is the emulator itself (scheme://the Host header)."""
    if origin == "null" or not host:
        return False
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and parsed.netloc.lower() == host.lower()


def _query_token(scope: Scope) -> bytes | None:
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query):
        if name == "token":
            token: bytes = value.encode()
            return token
    return None


async def _set_cookie_and_reload(scope: Scope, send: Send, token: bytes) -> None:
    """A browser opened a page with ``?token=``: keep the token in a cookie, drop it from the
    address bar."""
    query = scope.get("query_string", b"").decode("latin-1")
    kept = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"])
    location = scope["path"] + ("?" + kept if kept else "")
    cookie = f"{TOKEN_COOKIE}={token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", cookie),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send: Send, status: int, reason: str, bearer: bool = False) -> None:
    body = json.dumps({"detail": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if bearer:
        headers.append((b"www-authenticate", b'Bearer realm="payments-emulator control plane"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
