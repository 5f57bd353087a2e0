"""Long-lived requests have a room of their own (finding 5 of the outside probe): event streams
and long-polls share ``max_streams``; beyond it they get 503 with ``Retry-After``; at
``max_connections`` a new connection gets in by closing an idle one or the oldest stream, so
streams never lock the Twilio API out."""

from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from emulator.server.limits import ConnectionLimiter
from emulator.testing import Account, ControlClient, EmulatorServer


class Conn:
    """A connection as the limiter sees one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True

    def __repr__(self) -> str:
        return self.name


def test_the_limiter_closes_idle_connections_then_the_oldest_stream_never_a_request() -> None:
    limiter = ConnectionLimiter(3)
    busy, first_stream, second_stream = Conn("busy"), Conn("stream 1"), Conn("stream 2")
    for conn in (busy, first_stream, second_stream):
        assert limiter.admit(conn)
        limiter.busy(conn)
    limiter.streaming(first_stream)
    limiter.streaming(second_stream)
    newcomer = Conn("new")
    assert limiter.admit(newcomer)
    assert (first_stream.evicted, second_stream.evicted, busy.evicted) == (True, False, False)
    limiter.busy(newcomer)
    another = Conn("another")
    assert limiter.admit(another)  # the second stream goes next
    limiter.busy(another)
    assert second_stream.evicted
    assert not limiter.admit(Conn("turned away"))  # only requests in progress are left
    assert not busy.evicted
    limiter.idle(newcomer)  # answered: idle, and first to go
    assert limiter.admit(Conn("last"))
    assert newcomer.evicted
    assert limiter.streams == 0


@contextlib.contextmanager
def stream(server: EmulatorServer) -> Iterator[socket.socket]:
    """An open event stream (its answer's head read), on a socket of its own."""
    url = httpx.URL(server.base_url)
    sock = socket.create_connection((url.host, url.port), timeout=10)
    try:
        sock.sendall(b"GET /_emulator/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head
        yield sock
    finally:
        sock.close()


@contextlib.contextmanager
def long_poll(server: EmulatorServer) -> Iterator[socket.socket]:
    """A long-poll waiting for a callback that never comes (nothing of it read yet)."""
    url = httpx.URL(server.base_url)
    sock = socket.create_connection((url.host, url.port), timeout=10)
    try:
        payment = "PK" + secrets.token_hex(16)
        sock.sendall(
            f"GET /_emulator/callbacks?payment_sid={payment}&wait_for=1&timeout=60 HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n\r\n".encode()
        )
        yield sock
    finally:
        sock.close()


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer("--caller", "manual", "--max-streams", "3") as running:
        yield running


def refused(server: EmulatorServer) -> httpx.Response:
    return httpx.get(server.base_url + "/_emulator/events", timeout=10)


def test_streams_and_long_polls_share_max_streams(server: EmulatorServer) -> None:
    with stream(server), stream(server), long_poll(server):
        wait_until(lambda: refused(server).status_code == 503)
        answer = refused(server)
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert "max_streams 3" in answer.json()["detail"]
        poll = httpx.get(
            server.base_url + "/_emulator/callbacks",
            params={"payment_sid": "PK" + "0" * 32, "wait_for": 1, "timeout": 1},
        )
        assert poll.status_code == 503
        assert httpx.get(server.base_url + "/_emulator/callbacks").status_code == 200  # no wait
    # the three gave their places back (the long-poll as soon as its client went away)
    wait_until(lambda: refused_count(server) == 0)


def refused_count(server: EmulatorServer) -> int:
    """0 once a new stream is let in again."""
    with httpx.stream("GET", server.base_url + "/_emulator/events", timeout=10) as answer:
        return 0 if answer.status_code == 200 else 1


def test_a_long_poll_whose_client_went_away_gives_its_place_back(server: EmulatorServer) -> None:
    with stream(server), stream(server):
        with long_poll(server):
            wait_until(lambda: refused(server).status_code == 503)
        # closed long before its 60 s were up: its place is free again at once
        wait_until(lambda: refused_count(server) == 0, timeout=5)


def test_streams_filling_max_connections_never_lock_the_api_out() -> None:
    with EmulatorServer(
        "--caller", "manual", "--max-connections", "8", "--max-streams", "50"
    ) as small:
        control = ControlClient(small.base_url)
        try:  # closed before the streams open: they are then the only connections
            account = control.create_account()
            calls = [control.create_call(account.account_sid, caller="manual") for _ in range(5)]
        finally:
            control.close()
        with contextlib.ExitStack() as streams:
            socks = [streams.enter_context(stream(small)) for _ in range(8)]
            started = time.monotonic()
            answers = [create(small, account, call_sid) for call_sid in calls]
            elapsed = time.monotonic() - started
            # the oldest stream was closed to make room for the first create (each create's
            # connection closes after its answer, leaving room for the next); the rest is open
            assert [a.status_code for a in answers] == [201] * 5
            assert [_closed(s) for s in socks] == [True] + [False] * 7
    assert elapsed < 5


def create(server: EmulatorServer, account: Account, call_sid: str) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/2010-04-01/Accounts/{account.account_sid}/Calls/{call_sid}/Payments.json",
        data={"StatusCallback": "http://127.0.0.1:9/cb", "IdempotencyKey": secrets.token_hex(4)},
        auth=(account.account_sid, account.auth_token),
        headers={"Connection": "close"},
        timeout=10,
    )


def _closed(sock: socket.socket) -> bool:
    """Whether the server closed this stream's connection (it reads EOF or a reset)."""
    sock.settimeout(0.05)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except TimeoutError:
        return False
    except OSError:
        return True
