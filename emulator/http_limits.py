"""The HTTP layer's limits: sizes, timeouts and a connection cap, enforced in the protocol.

:class:`EmulatorHttpProtocol` is uvicorn's httptools protocol with the limits built in, so that
they hold for every path (the Twilio edge and ``/_emulator`` alike), on HTTP and HTTPS, and so
that nothing is buffered past a limit:

- **Request line and headers** (``max_header_bytes``): the bytes of a request's head are
  counted as they arrive and handed to the parser only up to the limit; one byte more is
  refused with 431, an over-long URL included. (Exactly so, pipelined requests included,
  except for a pipelined request whose head starts in the same read as the end of a chunked
  body, or of a head whose final CRLF CRLF was split across reads: that head may exceed the
  limit by what of it came in that read, one read of 256 KiB at most.)
- **Body** (``max_body_bytes``): a ``Content-Length`` above the limit is refused with 413 as
  soon as the headers are in (before any of the body is read, and without ``100 Continue``);
  a chunked body is refused with 413 the moment it passes the limit.
- **Malformed requests** (the parser's errors: a raw ``\\xff`` in the path, a bad chunk size,
  a bare LF...) get 400.
- **Timeouts**: a request's line and headers must be complete ``header_timeout_s`` after the
  connection was made or its previous answer was sent, else the connection is closed (nothing
  is answered: there is no request to answer); its body must be complete ``body_timeout_s``
  after its headers, else 408. An idle kept-alive connection is closed after
  ``keep_alive_timeout_s`` (uvicorn's own keep-alive timer). While a request is being
  processed, none of these run. (On HTTPS, the TLS handshake gets ``header_timeout_s`` too:
  see ``emulator.serving``.)
- **Connections** (``max_connections``, counted over the HTTP and HTTPS servers together): a
  new connection at the cap closes the connection that has been idle longest without a request
  in progress (idle, or stalled half-way through a request's head or body); a request being
  processed is never interrupted. When every connection has one, the new connection is closed.

These refusals are answered with Twilio's error body (``{"code", "message", "more_info",
"status"}``, codes 20400, 20408, 20413, 20431: Twilio's pattern of 20000 + the HTTP status, as
in 20404 and 20500, since Twilio documents no code of its own for them), with
``Twilio-Request-Id``, the CORS headers and ``Connection: close``; on a ``/_emulator`` path,
FastAPI's ``{"detail": ...}`` shape of the control plane. The connection is then closed: after
a refusal nothing more of the request is parsed, and what the client still sends is read and
thrown away for at most :data:`LINGER_S` seconds or :data:`LINGER_BYTES` bytes, so that a
client still sending gets to read the answer instead of a reset.

A request reaches the app only once its body is complete: a body that times out, is refused or
is cut short by the client never reaches a handler, so it changes no state. The body is held by
the protocol meanwhile (at most ``max_body_bytes``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from emulator.errors import (
    HttpBadRequest,
    HttpBodyTooLarge,
    HttpHeadersTooLarge,
    HttpRequestTimeout,
    InternalServerError,
    TwilioError,
)
from emulator.settings import Settings
from emulator.twilio_api.asgi import CLOSE_CONNECTION
from emulator.twilio_api.render import response_headers

__all__ = [
    "LINGER_BYTES",
    "LINGER_S",
    "ConnectionLimiter",
    "EmulatorHttpProtocol",
    "HttpLimits",
]

logger = logging.getLogger("emulator.http")

LINGER_S = 1.0
"""After a refusal, how long what the client still sends is read and discarded."""
LINGER_BYTES = 8 * 1024 * 1024
"""... and how much of it at most."""

CONTROL_PREFIX = b"/_emulator"
_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _random_request_id() -> str:
    return "RQ" + secrets.token_hex(16)


@dataclass(frozen=True)
class HttpLimits:
    """What :class:`EmulatorHttpProtocol` enforces (from the ``Settings`` of the same names)."""

    max_body_bytes: int
    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    request_id: Callable[[], str] = _random_request_id
    """Makes the ``Twilio-Request-Id`` of a refusal (the app's generator, when served)."""

    @classmethod
    def from_settings(
        cls, settings: Settings, request_id: Callable[[], str] | None = None
    ) -> HttpLimits:
        return cls(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_connections=settings.max_connections,
            request_id=request_id or _random_request_id,
        )


class ConnectionLimiter:
    """The open connections of a process, and which of them may be closed to make room.

    ``_idle`` holds the connections without a request in progress, least recently active
    first (activity: bytes received, or an answer sent).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.evicted = 0
        self.turned_away = 0
        self._open: set[EmulatorHttpProtocol] = set()
        self._idle: OrderedDict[EmulatorHttpProtocol, None] = OrderedDict()
        self._warned_at = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, connection: EmulatorHttpProtocol) -> bool:
        """Count a new connection in, closing the idlest one if at the cap; False when every
        open connection has a request in progress (the new one is to be closed)."""
        while len(self._open) >= self.limit:
            if not self._idle:
                self.turned_away += 1
                now = time.monotonic()
                if now - self._warned_at > 1.0:
                    self._warned_at = now
                    logger.warning(
                        "%d connections, all with a request in progress (max_connections): "
                        "closing new connections",
                        len(self._open),
                    )
                return False
            victim, _ = self._idle.popitem(last=False)
            self._open.discard(victim)
            self.evicted += 1
            victim.evict()
        self._open.add(connection)
        self._idle[connection] = None
        return True

    def active(self, connection: EmulatorHttpProtocol) -> None:
        """It received bytes: the most recently active."""
        if connection in self._idle:
            self._idle.move_to_end(connection)

    def busy(self, connection: EmulatorHttpProtocol) -> None:
        """A request of it is being processed: never to be closed to make room."""
        self._idle.pop(connection, None)

    def idle(self, connection: EmulatorHttpProtocol) -> None:
        """Nothing of it is being processed (it was answered)."""
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection)

    def closing(self, connection: EmulatorHttpProtocol) -> None:
        """It is being closed anyway (refused): the first to go to make room."""
        if connection in self._open:
            self._idle[connection] = None
            self._idle.move_to_end(connection, last=False)

    def release(self, connection: EmulatorHttpProtocol) -> None:
        self._open.discard(connection)
        self._idle.pop(connection, None)


class _Refusal(Exception):
    """Raised (also from inside the parser's callbacks) to refuse the request."""

    def __init__(self, error: TwilioError) -> None:
        super().__init__(error.text)
        self.error = error


class EmulatorHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above, and a way for the app to drop the
    connection (the ``drop`` fault).

    Use :meth:`configured` to get a class bound to the limits and to a connection limiter
    (shared by every server given that class)."""

    limits: ClassVar[HttpLimits] = HttpLimits.from_settings(Settings.model_construct())
    limiter: ClassVar[ConnectionLimiter] = ConnectionLimiter(limits.max_connections)

    @classmethod
    def configured(cls, limits: HttpLimits) -> type[EmulatorHttpProtocol]:
        namespace = {"limits": limits, "limiter": ConnectionLimiter(limits.max_connections)}
        return cast(type[EmulatorHttpProtocol], type(cls.__name__, (cls,), namespace))

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.url = b""
        # The request being received (parsing side).
        self._in_head = True  # its line and headers are not complete yet
        self._head_bytes = 0  # how many bytes of them arrived so far
        self._body_left: int | None = None  # its Content-Length not received yet
        self._body_bytes = 0
        self._expects_body = False
        self._headers_at = 0.0  # when its headers were complete
        # The connection.
        self._since = 0.0  # connected, or last answer sent: the head's clock starts here
        self._answered = False
        self._app_cycle: Any = None  # the request last handed to the app
        self._deferred: tuple[Any, Any] | None = None  # the next one, waiting for its body
        self._send_continue = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._refusing = False  # refused: discarding what still comes, then closing
        self._pending_refusal: TwilioError | None = None
        self._discarded = 0

    # --- connection life ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        if not self.limiter.admit(self):
            transport.abort()
            return
        self._arm(self._since + self.limits.header_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        self.limiter.release(self)
        self._cancel_timer()
        running = self._app_cycle
        if running is not None and running is not self.cycle and not running.response_complete:
            # uvicorn tells only the latest request; the one being answered may be an earlier
            # one (pipelining): it is told too, so that it stops waiting.
            running.disconnected = True
            running.message_event.set()
        super().connection_lost(exc)
        # A request never handed to the app refers back to this protocol (its on_response):
        # drop it, so that reference counting frees a stalled connection at once instead of
        # leaving the cycle to the garbage collector (which, tuned for throughput in
        # emulator.serving, may not run a full pass for a long time).
        self._deferred = None
        self.pipeline.clear()
        self.cycle = None  # type: ignore[assignment]

    def evict(self) -> None:
        """Closed to make room for a new connection (called by the limiter)."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s: closed to make room (max_connections)", self._peer())
        self._cancel_timer()
        self.transport.abort()

    def shutdown(self) -> None:
        """Graceful shutdown: a request being processed is answered (and the connection then
        closed); any other connection, half-received requests included, is closed now."""
        if self._busy():
            self._app_cycle.keep_alive = False
        else:
            self.transport.close()

    def _busy(self) -> bool:
        """Whether a request of this connection is being processed (or queued behind one)."""
        cycle = self._app_cycle
        return (cycle is not None and not cycle.response_complete) or bool(self.pipeline)

    # --- receiving ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refusing or self._pending_refusal is not None:
            self._discard(len(data))
            return
        self._unset_keepalive_if_required()
        self.limiter.active(self)
        limits = self.limits
        size = len(data)
        view = memoryview(data)
        start = 0
        try:
            while start < size:
                if self._in_head:
                    # Only as much of the head as the limit allows reaches the parser; cut at
                    # the head's end when it is in sight, so that the bytes after it are not
                    # counted as head bytes (nor a pipelined request's head bytes as body).
                    stop = min(size, start + limits.max_header_bytes - self._head_bytes)
                    end = data.find(_HEAD_END, start, stop)
                    if end >= 0:
                        stop = end + len(_HEAD_END)
                    self._head_bytes += stop - start
                elif self._body_left is not None:
                    # Up to the end of the body exactly: the next request's head is counted
                    # from its first byte.
                    stop = min(size, start + self._body_left)
                else:  # chunked: the parser finds its end
                    stop = size
                self.parser.feed_data(data if start == 0 and stop == size else view[start:stop])
                start = stop
                if self._in_head and self._head_bytes >= limits.max_header_bytes:
                    raise _Refusal(HttpHeadersTooLarge(limits.max_header_bytes))
        except _Refusal as refusal:
            self._refuse(refusal.error)
            return
        except httptools.HttpParserUpgrade as upgrade:
            # Upgrades (WebSocket, h2c) are not served: the request is answered as any other,
            # and the parser goes on after it.
            rest = start + int(upgrade.args[0])
            if rest < size:
                self.data_received(data[rest:])
                return
        except httptools.HttpParserError as exc:
            self._refuse(self._parser_error(exc))
            return
        if self._send_continue:
            self._continue()
        if self._app_cycle is None or self._app_cycle.response_complete:
            self._arm_for_state()  # (not while a request is processed: the common case)

    def _continue(self) -> None:
        """``100 Continue`` for a client that waits for it before sending the body: only
        once the headers are in and within the limits (a body refused at once is never
        invited), and when the request is next in line."""
        if self._send_continue:
            self._send_continue = False
            if self._deferred is not None:
                self.transport.write(_CONTINUE)

    def _parser_error(self, exc: httptools.HttpParserError) -> TwilioError:
        cause = exc.__context__
        if isinstance(cause, _Refusal):
            return cause.error
        if isinstance(exc, httptools.HttpParserCallbackError) and not isinstance(
            cause, httptools.HttpParserError | UnicodeError | ValueError
        ):
            logger.error("error parsing a request from %s", self._peer(), exc_info=cause)
            return InternalServerError()
        reason = str(cause if isinstance(cause, httptools.HttpParserError) else exc)
        return HttpBadRequest(f"Bad Request: the request is not valid HTTP/1.1 ({reason})")

    # Parser callbacks (called by feed_data).

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The ASGI spec types extension values as dicts; ours is a callable (a server-specific
        # extension, read only by the emulator's own edge).
        extensions: dict[str, Any] = {CLOSE_CONNECTION: self.transport.close}
        self.scope["extensions"] = extensions

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._headers_at = self.loop.time()
        self._body_bytes = 0
        length: int | None = None
        chunked = False
        for name, value in self.headers:
            if name == b"content-length":
                length = int(value)  # digits only: checked by the parser
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            length = None
        elif length is not None and length > self.limits.max_body_bytes:
            raise _Refusal(HttpBodyTooLarge(self.limits.max_body_bytes))
        self._body_left = length
        self._expects_body = chunked or bool(length)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            raise _Refusal(HttpBodyTooLarge(self.limits.max_body_bytes))
        if self._body_left is not None:
            self._body_left -= len(body)
        # Held here until complete (the app is not running yet): no flow control needed,
        # the limit bounds it.
        self.cycle.body += body

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._body_left = None
        self._expects_body = False
        deferred = self._deferred
        if deferred is not None and deferred[0] is self.cycle:
            self._deferred = None
            self._run(*deferred)

    # --- handing requests to the app ---------------------------------------------------------

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        """Called by uvicorn once a request's headers are in (or when its turn comes after
        pipelined ones): the app starts only once the body is complete as well."""
        if cycle.more_body:
            self._send_continue = cycle.waiting_for_100_continue and self._expects_body
            cycle.waiting_for_100_continue = False
            self._deferred = (cycle, app)
            return
        self._run(cycle, app)

    def _run(self, cycle: Any, app: Any) -> None:
        self._app_cycle = cycle
        self.limiter.busy(self)
        super()._start_asgi_task(cycle, app)

    def on_response_complete(self) -> None:
        self._since = self.loop.time()
        self._answered = True
        super().on_response_complete()  # starts a pipelined request, or arms keep-alive
        if self._busy() or self.transport.is_closing():
            return
        self.limiter.idle(self)
        if self._pending_refusal is not None:
            error, self._pending_refusal = self._pending_refusal, None
            self._refuse(error)
            return
        self._continue()
        self._arm_for_state()

    # --- timeouts ----------------------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        """Check the deadlines at ``deadline`` at the latest."""
        if self._timer is not None:
            if self._timer_at <= deadline:
                return  # an earlier check is due; it sets the next one
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm_for_state(self) -> None:
        """Set the deadline of what the connection waits for, unless it is being processed
        or idle after an answer (uvicorn's keep-alive timer covers that)."""
        if self._refusing or self._busy():
            return
        if not self._in_head:
            start = max(self._headers_at, self._since)
            self._arm(start + self.limits.body_timeout_s)
        elif self._head_bytes or not self._answered:
            self._arm(self._since + self.limits.header_timeout_s)

    def _on_timer(self) -> None:
        self._timer = None
        if self._refusing or self.transport.is_closing() or self._busy():
            return
        now = self.loop.time()
        limits = self.limits
        if not self._in_head:
            deadline = max(self._headers_at, self._since) + limits.body_timeout_s
            if now >= deadline:
                self._refuse(HttpRequestTimeout(limits.body_timeout_s))
            else:
                self._arm(deadline)
            return
        if self._answered and not self._head_bytes:
            return  # idle after an answer: the keep-alive timeout applies
        deadline = self._since + limits.header_timeout_s
        if now >= deadline:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s: headers not complete in time, closed", self._peer())
            self.transport.abort()
        else:
            self._arm(deadline)

    # --- refusing ----------------------------------------------------------------------------

    def _refuse(self, error: TwilioError) -> None:
        """Answer ``error`` and close; after the answer in progress, if there is one."""
        self._deferred = None
        if self._busy():
            self._pending_refusal = error
            self.flow.pause_reading()
            return
        self._refusing = True
        self._cancel_timer()
        self._unset_keepalive_if_required()
        self.limiter.closing(self)
        logger.info("%s: refused with %d: %s", self._peer(), error.status, error.text)
        self.transport.write(self._refusal_bytes(error))
        self.flow.resume_reading()  # read (and discard) what still comes, for a while
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._timer_at = self.loop.time() + LINGER_S
        self._timer = self.loop.call_at(self._timer_at, self.transport.close)

    def _discard(self, size: int) -> None:
        self._discarded += size
        if self._discarded > LINGER_BYTES:
            self._cancel_timer()
            self.transport.close()

    def _refusal_bytes(self, error: TwilioError) -> bytes:
        if self.url.startswith(CONTROL_PREFIX):
            body = json.dumps({"detail": error.text}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        else:
            body = error.body()
            headers = response_headers(self.limits.request_id(), body)
        headers.append((b"connection", b"close"))
        lines = [STATUS_LINE[error.status]]
        lines.extend(b"%s: %s\r\n" % header for header in headers)
        lines.append(b"\r\n")
        lines.append(body)
        return b"".join(lines)

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"
