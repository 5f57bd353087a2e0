"""The callback transport against real servers on 127.0.0.1: keep-alive, framing, failures,
bounded answers, names through the resolver (a stub: nothing leaves the machine)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import httpx
import pytest

from emulator.outgoing.resolver import Resolver
from emulator.outgoing.transport import TRUNCATED, LeanTransport
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
            transport = LeanTransport()
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
        transport = LeanTransport()
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
        transport = LeanTransport()
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
        transport = LeanTransport()
        statuses = []
        for _ in range(3):
            statuses.append((await transport.handle_async_request(post(base))).status_code)
            await asyncio.sleep(0.05)  # let the close arrive
        await transport.aclose()
        server.close()
        return statuses, len(connections)

    assert asyncio.run(main()) == ([200, 200, 200], 3)


def test_refused_connection_is_connect_error() -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        request = post(f"http://127.0.0.1:{port}/")
        with pytest.raises(httpx.ConnectError):
            asyncio.run(LeanTransport().handle_async_request(request))


def test_slow_answer_is_read_timeout() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def main() -> None:
        server, base, _ = await serve(script)
        request = post(base)
        request.extensions = {"timeout": {"connect": 1, "read": 0.2, "write": 1, "pool": 1}}
        try:
            await LeanTransport().handle_async_request(request)
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
            await LeanTransport().handle_async_request(post(base))
        finally:
            server.close()

    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(main())


# --- bounded answers: at most the cap is read, then the connection is closed --------------------


def test_a_huge_answer_is_read_up_to_the_cap_and_the_connection_closed() -> None:
    body = b"x" * 10_000_000
    sent: list[int] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            try:
                for start in range(0, len(body), 65536):
                    writer.write(body[start : start + 65536])
                    await writer.drain()
                    sent.append(65536)
            except ConnectionError:
                return

    async def main() -> tuple[list[tuple[int, int, bool]], int]:
        server, base, connections = await serve(script)
        transport = LeanTransport(max_response_bytes=1000)
        answers = []
        for _ in range(2):
            answer = await transport.handle_async_request(post(base))
            content = await answer.aread()
            answers.append((answer.status_code, len(content), answer.extensions[TRUNCATED]))
        await transport.aclose()
        server.close()
        return answers, len(connections)

    answers, connections = asyncio.run(main())
    assert answers == [(200, 1000, True)] * 2
    assert connections == 2  # a cut-short answer leaves its connection unusable: closed


def test_an_endless_chunked_answer_is_cut_at_the_cap() -> None:
    chunk = b"%x\r\n%s\r\n" % (4096, b"y" * 4096)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:  # until the client closes the connection
            writer.write(chunk)
            await writer.drain()

    async def main() -> tuple[int, int, bool]:
        server, base, _ = await serve(script)
        transport = LeanTransport()  # the default cap: 64 KiB
        answer = await transport.handle_async_request(post(base))
        content = await answer.aread()
        await transport.aclose()
        server.close()
        return answer.status_code, len(content), answer.extensions[TRUNCATED]

    assert asyncio.run(main()) == (200, 65536, True)


@pytest.mark.parametrize(("cap", "kept"), [(0, b""), (5, b"hello"), (6, b"hello")])
def test_a_small_answer_is_kept_up_to_the_cap_and_the_connection_reused(
    cap: int, kept: bytes
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
            await writer.drain()

    async def main() -> tuple[list[tuple[bytes, bool]], int]:
        server, base, connections = await serve(script)
        transport = LeanTransport(max_response_bytes=cap)
        answers = []
        for _ in range(2):
            answer = await transport.handle_async_request(post(base))
            answers.append((await answer.aread(), answer.extensions[TRUNCATED]))
        await transport.aclose()
        server.close()
        return answers, len(connections)

    answers, connections = asyncio.run(main())
    assert answers == [(kept, cap < 5)] * 2
    assert connections == 1  # each answer came whole in one read: its connection is reusable


def test_endless_headers_are_a_protocol_error() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while True:
            writer.write(b"X-Filler: " + b"z" * 1000 + b"\r\n")
            await writer.drain()

    async def main() -> None:
        server, base, _ = await serve(script)
        transport = LeanTransport(max_head_bytes=16384)
        try:
            await transport.handle_async_request(post(base))
        finally:
            await transport.aclose()
            server.close()

    with pytest.raises(httpx.RemoteProtocolError, match="exceed 16384 bytes"):
        asyncio.run(main())


# --- names: resolved once through the resolver, never by the connection itself --------------------


def test_names_go_through_the_resolver_and_its_cache() -> None:
    looked_up: list[str] = []

    def lookup(host: str, port: int) -> list[tuple[int, str, int]]:
        looked_up.append(host)
        if host == "receiver.test":
            return [(int(socket.AF_INET), "127.0.0.1", port)]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_request(reader)
        assert b"\r\nHost: receiver.test:" in request
        writer.write(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async def main() -> tuple[list[int], list[str]]:
        server, base, connections = await serve(script)
        port = base.rsplit(":", 1)[1]
        transport = LeanTransport(resolver=Resolver(lookup))
        statuses = []
        for _ in range(3):  # three connections (the receiver closes each): one look-up
            answer = await transport.handle_async_request(post(f"http://receiver.test:{port}/x"))
            statuses.append(answer.status_code)
        errors = []
        for _ in range(3):
            try:
                await transport.handle_async_request(post(f"http://dead.test:{port}/x"))
            except httpx.ConnectError as exc:
                errors.append(str(exc))
        await transport.aclose()
        server.close()
        assert len(connections) == 3
        return statuses, errors

    statuses, errors = asyncio.run(main())
    assert statuses == [204] * 3
    assert errors == ["cannot resolve 'dead.test': Name or service not known"] * 3
    assert looked_up == ["receiver.test", "dead.test"]
