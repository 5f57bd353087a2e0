"""The answers of the HTTP layer itself: what a request refused before it reaches the app gets.

A refusal (400, 408, 413, 431, or 500 when parsing itself fails) is Twilio's error body
(``{"code", "message", "more_info", "status"}``) with ``Twilio-Request-Id`` and the CORS
headers, as the edge answers; on a control-plane path (``CONTROL_PREFIX``), FastAPI's
``{"detail": ...}`` shape, as the control plane answers. Either way with ``Connection: close``:
after a refusal the protocol parses nothing more, and reads and throws away what the client
still sends for at most :data:`LINGER_S` seconds or :data:`LINGER_BYTES` bytes, so that a
client still sending gets to read the answer instead of a reset.
"""

from __future__ import annotations

import http
import json
import logging
from collections.abc import Callable

import httptools

from emulator.errors import HttpBadRequest, InternalServerError, TwilioError
from emulator.paths import CONTROL_PREFIX
from emulator.twilio_api.render import response_headers

__all__ = ["LINGER_BYTES", "LINGER_S", "Refusal", "parser_error", "refusal_bytes"]

logger = logging.getLogger("emulator.http")

LINGER_S = 1.0
"""After a refusal, how long what the client still sends is read and discarded."""
LINGER_BYTES = 8 * 1024 * 1024
"""... and how much of it at most."""

_CONTROL_PREFIX = CONTROL_PREFIX.encode()


class Refusal(Exception):
    """Raised (also from inside the parser's callbacks) to refuse the request."""

    def __init__(self, error: TwilioError) -> None:
        super().__init__(error.text)
        self.error = error


def parser_error(exc: httptools.HttpParserError, peer: str) -> TwilioError:
    """What a parser error is answered with: the refusal raised from a callback, 400 naming
    the parser's reason, or 500 (logged) when a callback failed unexpectedly."""
    cause = exc.__context__
    if isinstance(cause, Refusal):
        return cause.error
    if isinstance(exc, httptools.HttpParserCallbackError) and not isinstance(
        cause, httptools.HttpParserError | UnicodeError | ValueError
    ):
        logger.error("error parsing a request from %s", peer, exc_info=cause)
        return InternalServerError()
    reason = str(cause if isinstance(cause, httptools.HttpParserError) else exc)
    return HttpBadRequest(f"Bad Request: the request is not valid HTTP/1.1 ({reason})")


def refusal_bytes(error: TwilioError, url: bytes, request_id: Callable[[], str]) -> bytes:
    """The whole answer to a request for ``url`` refused with ``error``."""
    if url.startswith(_CONTROL_PREFIX):
        body = json.dumps({"detail": error.text}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    else:
        body = error.body()
        headers = response_headers(request_id(), body)
    headers.append((b"connection", b"close"))
    lines = [_status_line(error.status)]
    lines.extend(b"%s: %s\r\n" % header for header in headers)
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)


def _status_line(status: int) -> bytes:
    """``HTTP/1.1 413 Request Entity Too Large``, as uvicorn writes its own."""
    return b"HTTP/1.1 %d %s\r\n" % (status, http.HTTPStatus(status).phrase.encode())
