"""The HTTP protocol: uvicorn's httptools protocol with the limits built in.

:class:`EmulatorHttpProtocol` enforces :class:`~emulator.server.limits.HttpLimits` so that they
hold for every path (the Twilio edge and the control plane alike), on HTTP and HTTPS, and so
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
  see ``emulator.server.launch``.)
- **Connections** (``max_connections``, counted over the HTTP and HTTPS servers together, by
  :class:`~emulator.server.limits.ConnectionLimiter`): a new connection at the cap closes the
  connection that has been idle longest without a request in progress (idle, or stalled
  half-way through a request's head or body); a request being processed is never interrupted.
  When every connection has one, the new connection is closed.

What a refused request is answered, and how the connection then ends: see
``emulator.server.refusals``.

A request reaches the app only once its body is complete: a body that times out, is refused or
is cut short by the client never reaches a handler, so it changes no state. The body is held by
the protocol meanwhile (at most ``max_body_bytes``).

This class leans on uvicorn's private ``HttpToolsProtocol`` (its constructor, its parser
callbacks, ``_start_asgi_task`` and ``_unset_keepalive_if_required``, its request cycle's
attributes): ``emulator.server.compat`` checks they are all there before the server starts.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, cast

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emulator.errors import (
    HttpBodyTooLarge,
    HttpHeadersTooLarge,
    HttpRequestTimeout,
    TwilioError,
)
from emulator.server.limits import ConnectionLimiter, HttpLimits
from emulator.server.refusals import (
    LINGER_BYTES,
    LINGER_S,
    Refusal,
    parser_error,
    refusal_bytes,
)
from emulator.services.streams import STREAM_EXTENSION
from emulator.settings import Settings
from emulator.twilio_api.asgi import CLOSE_CONNECTION

__all__ = ["EmulatorHttpProtocol"]

logger = logging.getLogger("emulator.http")

_HEAD_END = b"\r\n\r\n"
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


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
        # emulator.server.launch, may not run a full pass for a long time).
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
                    raise Refusal(HttpHeadersTooLarge(limits.max_header_bytes))
        except Refusal as refusal:
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
            self._refuse(parser_error(exc, self._peer()))
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
            raise Refusal(HttpBodyTooLarge(self.limits.max_body_bytes))
        self._body_left = length
        self._expects_body = chunked or bool(length)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            raise Refusal(HttpBodyTooLarge(self.limits.max_body_bytes))
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
        # A long-lived request (an event stream, a long-poll) says so through this extension:
        # its connection may then be closed to make room (emulator.services.streams).
        cycle.scope.setdefault("extensions", {})[STREAM_EXTENSION] = self._streaming
        super()._start_asgi_task(cycle, app)

    def _streaming(self) -> None:
        self.limiter.streaming(self)

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
        self.transport.write(refusal_bytes(error, self.url, self.limits.request_id))
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

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "client"
