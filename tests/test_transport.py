"""The callback transport against real servers on 127.0.0.1: keep-alive, framing, failures."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from emulator.callbacks.transport import CallbackTransport
from tests.receiver import Receiver

TIMEOUTS = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), 2.0)}

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def post(url: str, body: bytes = b"a=1") -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Test": "yes"},
        extensions=TIMEOUTS,
    )


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


async def serve(script: Script) -> tuple[asyncio.Server, str, list[int]]:
    """A scripted server; returns it, its base URL and a list that counts connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await script(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", connections


def test_posts_and_keeps_the_connection_alive() -> None:
    with Receiver(status=202).running() as receiver:

        async def main() -> list[int]:
            transport = CallbackTransport()
            statuses = []
            for n in range(5):
                response = await transport.handle_async_request(
                    post(receiver.url(f"/cb?n={n}"), b"x=%d" % n)
                )
                statuses.append(response.status_code)
            await transport.aclose()
            return statuses

        assert asyncio.run(main()) == [202] * 5
        arrived = receiver.wait_for(5)
    assert [r.path for r in arrived] == [f"/cb?n={n}" for n in range(5)]
    assert [r.body for r in arrived] == [b"x=%d" % n for n in range(5)]
    assert arrived[0].headers["X-Test"] == "yes"
    assert arrived[0].headers["Content-Type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("response", "body", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello", True),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
            b"hello",
            True,
        ),
        (b"HTTP/1.1 204 No Content\r\n\r\n", b"", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", b"ok", False),
    ],
)
def test_response_framing_and_reuse(response: bytes, body: bytes, reused: bool) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(response)
            await writer.drain()
            if not reused:
                return

    async def main() -> tuple[list[bytes], int]:
        server, base, connections = await serve(script)
        transport = CallbackTransport()
        bodies = []
        for _ in range(3):
            answer = await transport.handle_async_request(post(base + "/x"))
            bodies.append(await answer.aread())
        await transport.aclose()
        server.close()
        return bodies, len(connections)

    bodies, connections = asyncio.run(main())
    assert bodies == [body] * 3
    assert connections == (1 if reused else 3)


def test_body_that_ends_with_the_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil close")
        await writer.drain()

    async def main() -> bytes:
        server, base, _ = await serve(script)
        transport = CallbackTransport()
        answer = await transport.handle_async_request(post(base))
        await transport.aclose()
        server.close()
        return await answer.aread()

    assert asyncio.run(main()) == b"until close"


def test_a_dropped_keep_alive_connection_is_replaced() -> None:
    """The server answers once, then closes the idle connection: the next request must not fail."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def main() -> tuple[list[int], int]:
        server, base, connections = await serve(script)
        transport = CallbackTransport()
        statuses = []
        for _ in range(3):
            statuses.append((await transport.handle_async_request(post(base))).status_code)
            await asyncio.sleep(0.05)  # let the close arrive
        await transport.aclose()
        server.close()
        return statuses, len(connections)

    assert asyncio.run(main()) == ([200, 200, 200], 3)


def test_refused_connection_is_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        asyncio.run(CallbackTransport().handle_async_request(post(f"http://127.0.0.1:{port}/")))


def test_slow_answer_is_read_timeout() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def main() -> None:
        server, base, _ = await serve(script)
        request = post(base)
        request.extensions = {"timeout": {"connect": 1, "read": 0.2, "write": 1, "pool": 1}}
        try:
            await CallbackTransport().handle_async_request(request)
        finally:
            server.close()

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(main())


@pytest.mark.parametrize("reply", [b"NOT HTTP AT ALL\r\n\r\n", b""])
def test_garbage_or_silence_is_a_protocol_error(reply: bytes) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async def main() -> None:
        server, base, _ = await serve(script)
        try:
            await CallbackTransport().handle_async_request(post(base))
        finally:
            server.close()

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(main())
