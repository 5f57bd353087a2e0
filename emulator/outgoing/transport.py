"""A lean HTTP/1.1 transport for httpx: how every request of the one way out is sent.

Callbacks are small form bodies posted to webhook receivers, thousands a second under load.
httpx's default transport (httpcore's generic connection pool, over anyio) costs about
0.6 ms of CPU per request on our machine, as much as answering the API request that caused
the callback. This transport does what the emulator's requests need and no more: keep-alive connections
per origin over asyncio streams, requests written in one piece, responses parsed by
httptools (the C parser uvicorn already uses). It keeps httpx's client API, timeouts and
exceptions, at about a tenth of the cost.

Bounded whatever the receiver does: host names are resolved by a shared, caching
:class:`~emulator.outgoing.resolver.Resolver` (a dead name costs one look-up, not one per
callback); at most ``max_head_bytes`` of status line and headers and ``max_response_bytes``
of body are read, then the connection is closed (a receiver answering gigabytes costs
nothing); the ``read`` timeout covers the whole answer.

Not supported (the outbox never needs them): HTTP/2, proxies, streaming request bodies,
``Expect: 100-continue``, connection upgrades.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import httptools
import httpx

from emulator.outgoing.resolver import Address, ResolveError, Resolver

__all__ = [
    "MAX_ANSWER",
    "PROGRESS",
    "TRUNCATED",
    "LeanTransport",
    "Progress",
    "RefusedAddress",
]

Origin = tuple[str, str, int]

MAX_IDLE_PER_ORIGIN = 64
READ_SIZE = 65536
MAX_RESPONSE_BYTES = 65536
MAX_HEAD_BYTES = 65536

TRUNCATED = "emulator.truncated"
"""Response extension: True when the body was cut at ``max_response_bytes`` (the rest unread)."""
MAX_ANSWER = "emulator.max_answer_bytes"
"""Request extension: the most of this answer's body to read (instead of the transport's)."""
PROGRESS = "emulator.progress"
"""Request extension: a :class:`Progress` that learns the status code once the head is in."""


@dataclass(slots=True)
class Progress:
    """How far an answer got: its status code once its head is in, and the body received so
    far (up to the cap), for describing a request cut short."""

    status_code: int | None = None
    body: list[bytes] = field(default_factory=list)


class RefusedAddress(httpx.ConnectError):
    """Every address the name resolved to was refused by the ``refuse_address`` check; the
    message says why. Nothing was sent."""


@dataclass(eq=False, slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        """Close at once: no TLS close_notify exchange, nothing more flushed."""
        self.writer.transport.abort()


@dataclass(slots=True)
class _Response:
    """httptools' callbacks fill this in; the body is kept up to ``cap`` bytes."""

    cap: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)
    received: int = 0  # body bytes seen (kept or not)
    headers_done: bool = False
    done: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        room = self.cap - self.received
        if room > 0:
            self.body.append(body[:room])
        self.received += len(body)

    def on_message_complete(self) -> None:
        self.done = True


class _StaleConnection(Exception):
    """A kept-alive connection the server had closed before our request reached it."""


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        ssl_context: ssl.SSLContext | None = None,
        *,
        resolver: Resolver | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_head_bytes: int = MAX_HEAD_BYTES,
        refuse_address: Callable[[Address], str | None] | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._idle: defaultdict[Origin, list[_Connection]] = defaultdict(list)
        self.resolver = resolver if resolver is not None else Resolver()
        self._max_response_bytes = max_response_bytes
        self._max_head_bytes = max_head_bytes
        self._refuse_address = refuse_address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        origin = (request.url.scheme, request.url.host, request.url.port or _default_port(request))
        body = await request.aread()
        head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), request.url.raw_path)]
        head += [b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw]
        message = b"".join(head) + b"\r\n" + body
        while True:
            connection = self._checkout(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, timeouts.get("connect"), request)
            try:
                return await self._exchange(connection, origin, message, timeouts, request)
            except _StaleConnection:
                if not reused:
                    raise httpx.RemoteProtocolError(
                        "server closed the connection without answering", request=request
                    ) from None
                # A kept-alive connection that the server had dropped: try a fresh one.

    async def _exchange(
        self,
        connection: _Connection,
        origin: Origin,
        message: bytes,
        timeouts: dict[str, float | None],
        request: httpx.Request,
    ) -> httpx.Response:
        response = _Response(request.extensions.get(MAX_ANSWER, self._max_response_bytes))
        progress: Progress | None = request.extensions.get(PROGRESS)
        if progress is not None:
            progress.body = response.body  # the same list: filled as the body arrives
        parser = httptools.HttpResponseParser(response)
        head_bytes = 0
        truncated = False
        try:
            connection.writer.write(message)
            async with asyncio.timeout(timeouts.get("write")):
                await connection.writer.drain()
            async with asyncio.timeout(timeouts.get("read")):
                while not response.done:
                    data = await connection.reader.read(READ_SIZE)
                    if not data:
                        if not response.headers_done:
                            raise _StaleConnection()
                        if _length_delimited(response.headers):
                            connection.close()
                            raise httpx.RemoteProtocolError(
                                "the connection closed in the middle of the answer",
                                request=request,
                            )
                        break  # a body that ends with the connection
                    if not response.headers_done:
                        head_bytes += len(data)
                    parser.feed_data(data)
                    if response.headers_done and progress is not None:
                        progress.status_code = parser.get_status_code()
                    if not response.headers_done:
                        if head_bytes > self._max_head_bytes:
                            connection.close()
                            raise httpx.RemoteProtocolError(
                                f"the answer's status line and headers exceed "
                                f"{self._max_head_bytes} bytes",
                                request=request,
                            )
                    elif not response.done and response.received >= response.cap:
                        truncated = True  # the cap is reached: the rest is not read
                        break
        except _StaleConnection:
            connection.close()
            raise
        except TimeoutError:
            connection.close()
            raise httpx.ReadTimeout("timed out waiting for the response", request=request) from None
        except httptools.HttpParserError as exc:
            connection.close()
            raise httpx.RemoteProtocolError(f"invalid response: {exc}", request=request) from None
        except (ConnectionError, OSError) as exc:
            connection.close()
            if not response.headers and not response.body:
                raise _StaleConnection() from None
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        except BaseException:  # cancelled (a shutdown's grace period ran out): not reusable
            connection.close()
            raise
        # cut short (the rest unread), the connection is unusable; read whole, it may be reused
        if response.done and _keep_alive(parser.get_http_version(), response.headers):
            self._checkin(origin, connection)
        else:
            connection.close()
        return httpx.Response(
            parser.get_status_code(),
            headers=response.headers,
            content=b"".join(response.body),
            extensions={
                "http_version": b"HTTP/1.1",
                TRUNCATED: truncated or response.received > response.cap,
            },
            request=request,
        )

    def _checkout(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.close()
        return None

    def _checkin(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle[origin]
        if len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(connection)
        else:
            connection.close()

    async def _connect(
        self, origin: Origin, connect_timeout: float | None, request: httpx.Request
    ) -> _Connection:
        """A new connection: the name resolved (cached), then each address in turn."""
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl_context or ssl.create_default_context()
        try:
            async with asyncio.timeout(connect_timeout):
                addresses = await self.resolver.resolve(host, port)
                failure: OSError | None = None
                refusals = [self._refusal(address) for address in addresses]
                if addresses and all(refusals):
                    raise RefusedAddress(str(refusals[0]), request=request)
                for address, refusal in zip(addresses, refusals, strict=True):
                    if refusal:
                        continue
                    try:
                        reader, writer = await asyncio.open_connection(
                            address.host,
                            address.port,
                            ssl=context,
                            server_hostname=host if context else None,
                        )
                    except OSError as exc:  # ssl.SSLError included
                        failure = exc
                        continue
                    return _Connection(reader, writer)
                raise failure or OSError(f"no address to connect to for {host}")
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"timed out connecting to {host}:{port}", request=request
            ) from None
        except ResolveError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc

    def _refusal(self, address: Address) -> str | None:
        return self._refuse_address(address) if self._refuse_address is not None else None

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
        self.resolver.close()
        # A transport's close completes on a later turn of the loop (its socket is closed by
        # connection_lost), a failed TLS handshake's too: let those turns run, so that a loop
        # stopped right after this leaves no socket open.
        for _ in range(3):
            await asyncio.sleep(0)


def _keep_alive(version: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the connection may carry another request (RFC 9112, section 9.3)."""
    tokens = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    if version == "1.1":
        return b"close" not in tokens
    return b"keep-alive" in tokens


def _length_delimited(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the answer says where its body ends (a length, or chunks): if so, a
    connection that closes before the end cut it short."""
    return any(
        name.lower() == b"content-length"
        or (name.lower() == b"transfer-encoding" and b"chunked" in value.lower())
        for name, value in headers
    )


def _default_port(request: httpx.Request) -> int:
    return 443 if request.url.scheme == "https" else 80
