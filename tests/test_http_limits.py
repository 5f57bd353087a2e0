"""The HTTP layer's limits (emulator/server/), against real servers with small limits,
spoken to over raw sockets so that the bytes sent are exactly the ones meant: oversized bodies
and heads are refused with Twilio's JSON (413, 431) without being read whole, malformed
requests get 400 instead of uvicorn's plain text, stalled and idle connections are closed, and
the connection cap closes idle connections, never one being answered, to serve a new client."""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import select
import socket
import ssl
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from twilio.rest import Client

from emulator.testing import ControlClient, EmulatorServer
from tests.api import basic
from tests.contract import problems

ACCOUNT, TOKEN = "AC" + "a" * 32, "a" * 32
CALLBACK = "http://127.0.0.1:9/cb"
MAX_BODY = 4096
MAX_HEAD = 2048
TIMEOUT_S = 0.5
# How long a test waits for something that must happen after a TIMEOUT_S timeout: generous, so
# that a loaded machine never fails it (this checks that it ends, not how fast).
ENDS_WITHIN_S = 20.0
HOST = b"Host: 127.0.0.1\r\n"
AUTH = ("Authorization: " + basic(ACCOUNT, TOKEN)["Authorization"] + "\r\n").encode()
TWILIO_PATH = f"/2010-04-01/Accounts/{ACCOUNT}.json".encode()
HTTPS = re.compile(r"HTTPS on https://\S+:(\d+)")


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        "--max-body-bytes",
        str(MAX_BODY),
        "--max-header-bytes",
        str(MAX_HEAD),
        "--header-timeout-s",
        str(TIMEOUT_S),
        "--body-timeout-s",
        str(TIMEOUT_S),
        "--keep-alive-timeout-s",
        str(TIMEOUT_S),
    ) as server:
        yield server


def port_of(server: EmulatorServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


@contextlib.contextmanager
def connect(port: int) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=ENDS_WITHIN_S)
    try:
        yield sock
    finally:
        sock.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        parsed: dict[str, object] = json.loads(self.body)
        return parsed


# What was received on a socket beyond the answers read so far (pipelined answers).
_unread: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def read_answer(sock: socket.socket) -> Answer:
    """The next HTTP answer (Content-Length framed) on ``sock``."""
    data = _unread.pop(sock, b"")
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of an answer"
        rest += chunk
    _unread[sock] = rest[length:]
    return Answer(status, headers, rest[:length])


def journal(server: EmulatorServer, call_sid: str) -> list[dict[str, object]]:
    """The requests the server journaled for ``call_sid``, asked on a new connection: the
    server closes an idle one after TIMEOUT_S, so that a kept-alive connection of the shared
    control client may be closed just as it is reused (the client then fails)."""
    with contextlib.closing(ControlClient(server.base_url)) as control:
        return control.requests(call_sid=call_sid)


def closed(sock: socket.socket) -> bool:
    """Whether the server closed the connection (waiting at most ENDS_WITHIN_S for it)."""
    sock.settimeout(ENDS_WITHIN_S)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


def assert_twilio_error(answer: Answer, status: int, code: int) -> None:
    """Twilio's error body and headers, as the edge answers, and Connection: close."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    assert re.fullmatch(r"RQ[0-9a-f]{32}", answer.headers["twilio-request-id"])
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["connection"] == "close"
    body = answer.json()
    assert body["code"] == code
    entry = {"status": status, "response": answer.body.decode(), "path": "/", "method": "POST"}
    assert problems(entry) == []


def create_request(call_sid: str, form: bytes, extra: bytes = b"") -> bytes:
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call_sid}/Payments.json".encode()
    return (
        b"POST " + path + b" HTTP/1.1\r\n" + HOST + AUTH + extra
        + b"Content-Type: application/x-www-form-urlencoded\r\n"
        + b"Content-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form
    )  # fmt: skip


def create_form(size: int) -> bytes:
    """A valid create's form, padded (with a parameter the emulator ignores) to ``size``."""
    form = (
        f"IdempotencyKey={secrets.token_hex(8)}&ChargeAmount=10&StatusCallback=http%3A%2F%2F"
        f"127.0.0.1%3A9%2Fcb&Pad="
    ).encode()
    return form + b"x" * (size - len(form))


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


# --- bodies ------------------------------------------------------------------------------------


def test_a_body_of_the_limit_is_accepted(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(create_request(new_call_sid(), create_form(MAX_BODY)))
        answer = read_answer(sock)
    assert answer.status == 201, answer


def test_a_content_length_over_the_limit_is_refused_before_the_body_is_read(
    limited: EmulatorServer,
) -> None:
    call_sid = new_call_sid()
    with connect(port_of(limited)) as sock:
        head = create_request(call_sid, b"")
        head = head.replace(b"Content-Length: 0", b"Content-Length: 100000000")
        sock.sendall(head + b"x" * 1024)
        assert_twilio_error(read_answer(sock), 413, 20413)
        # The rest of the 100 MB is not read: the server closes the connection long before.
        sock.settimeout(ENDS_WITHIN_S)
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            sock.sendall(b"x" * 100_000_000)
    # The request never reached the API (nothing recorded, nothing created).
    assert journal(limited, call_sid) == []


def test_a_chunked_body_is_refused_once_it_passes_the_limit(limited: EmulatorServer) -> None:
    call_sid = new_call_sid()
    form = create_form(MAX_BODY + 1)
    head = create_request(call_sid, b"").replace(
        b"Content-Length: 0", b"Transfer-Encoding: chunked"
    )
    with connect(port_of(limited)) as sock:
        sock.sendall(head)
        for start in range(0, len(form), 1024):
            chunk = form[start : start + 1024]
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        # no last chunk: the body is refused as soon as it passes the limit, not at its end
        assert_twilio_error(read_answer(sock), 413, 20413)
        assert closed(sock)
    assert journal(limited, call_sid) == []


def test_a_chunked_body_within_the_limit_is_accepted(limited: EmulatorServer) -> None:
    form = create_form(MAX_BODY)
    head = create_request(new_call_sid(), b"").replace(
        b"Content-Length: 0", b"Transfer-Encoding: chunked"
    )
    with connect(port_of(limited)) as sock:
        sock.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(form), form))
        assert read_answer(sock).status == 201


def test_a_body_over_the_limit_is_refused_without_inviting_it(limited: EmulatorServer) -> None:
    """``Expect: 100-continue`` with a Content-Length over the limit: 413, no 100 Continue."""
    head = create_request(new_call_sid(), b"", extra=b"Expect: 100-continue\r\n")
    with connect(port_of(limited)) as sock:
        sock.sendall(head.replace(b"Content-Length: 0", b"Content-Length: 5000"))
        assert_twilio_error(read_answer(sock), 413, 20413)


def test_a_body_within_the_limit_is_invited_with_100_continue(limited: EmulatorServer) -> None:
    form = create_form(100)
    request = create_request(new_call_sid(), form, extra=b"Expect: 100-continue\r\n")
    with connect(port_of(limited)) as sock:
        sock.sendall(request[: -len(form)])
        interim = sock.recv(1024)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(form)
        assert read_answer(sock).status == 201


def test_a_control_plane_body_over_the_limit_gets_the_control_planes_shape(
    limited: EmulatorServer,
) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(
            b"POST /_emulator/accounts HTTP/1.1\r\n" + HOST
            + b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
        )  # fmt: skip
        answer = read_answer(sock)
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    assert answer.json() == {
        "detail": f"Request Entity Too Large: the request body exceeds {MAX_BODY} bytes"
    }


# --- heads -------------------------------------------------------------------------------------


def padded_head(size: int, path: bytes = b"/_emulator/health") -> bytes:
    """A GET (of the health check) whose line and headers are exactly ``size`` bytes."""
    start = b"GET " + path + b" HTTP/1.1\r\n" + HOST + b"X-Pad: "
    return start + b"x" * (size - len(start) - 4) + b"\r\n\r\n"


def test_a_head_of_the_limit_is_accepted(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(padded_head(MAX_HEAD))
        assert read_answer(sock).status == 200


def test_a_head_over_the_limit_gets_431(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(padded_head(MAX_HEAD + 1, TWILIO_PATH))
        assert_twilio_error(read_answer(sock), 431, 20431)
        assert closed(sock)


def test_a_16_mb_header_is_refused_at_the_limit(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(b"GET " + TWILIO_PATH + b" HTTP/1.1\r\n" + HOST + b"X-Big: " + b"x" * 4096)
        assert_twilio_error(read_answer(sock), 431, 20431)
        sock.settimeout(ENDS_WITHIN_S)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"x" * 16_000_000)  # the rest of the header: read at most briefly
        # then the connection is over (closed, or reset)
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(1) == b""


def test_a_1_mb_url_gets_431(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(b"GET /2010-04-01/" + b"a" * 1_000_000 + b" HTTP/1.1\r\n" + HOST + b"\r\n")
        assert_twilio_error(read_answer(sock), 431, 20431)


def test_a_header_over_the_limit_on_a_kept_alive_connection(limited: EmulatorServer) -> None:
    """The limit is per request: each request of a connection gets the whole of it."""
    with connect(port_of(limited)) as sock:
        sock.sendall(padded_head(MAX_HEAD))
        assert read_answer(sock).status == 200
        sock.sendall(padded_head(MAX_HEAD))
        assert read_answer(sock).status == 200
        sock.sendall(padded_head(MAX_HEAD + 1, TWILIO_PATH))
        assert_twilio_error(read_answer(sock), 431, 20431)


def test_pipelined_requests_are_answered_in_order(limited: EmulatorServer) -> None:
    health = b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"\r\n"
    unknown = b"GET /_emulator/nothing-here HTTP/1.1\r\n" + HOST + b"\r\n"
    with connect(port_of(limited)) as sock:
        sock.sendall(health + unknown + padded_head(MAX_HEAD) + health)
        assert [read_answer(sock).status for _ in range(4)] == [200, 404, 200, 200]


def test_a_refusal_waits_for_the_answer_in_progress(limited: EmulatorServer) -> None:
    """A pipelined request refused while the one before it is being processed: that one is
    answered first, then the refusal."""
    control = ControlClient(limited.base_url)
    try:
        control.add_fault("delay", path="^/2010-04-01/Accounts/ACpipelined", delay_ms=300)
        slow = b"GET /2010-04-01/Accounts/ACpipelined.json HTTP/1.1\r\n" + HOST + b"\r\n"
        with connect(port_of(limited)) as sock:
            sock.sendall(slow + padded_head(MAX_HEAD + 1, TWILIO_PATH))
            assert read_answer(sock).status == 401
            assert_twilio_error(read_answer(sock), 431, 20431)
            assert closed(sock)
    finally:
        control.clear_faults()
        control.close()


# --- malformed requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /2010-04-01/\xff HTTP/1.1\r\n" + HOST + b"\r\n", id="raw-xff-in-path"),
        pytest.param(b"GET /2010-04-01/x HTTP/1.1\nHost: 127.0.0.1\n\n", id="bare-lf"),
        pytest.param(b"GET /\x00 HTTP/1.1\r\n" + HOST + b"\r\n", id="nul-in-path"),
        pytest.param(b"G\xffT / HTTP/1.1\r\n" + HOST + b"\r\n", id="bad-method"),
        pytest.param(
            b"POST /2010-04-01/x HTTP/1.1\r\n"
            + HOST
            + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
            id="two-content-lengths",
        ),
        pytest.param(
            b"POST /2010-04-01/x HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            id="bad-chunk-size",
        ),
    ],
)
def test_a_malformed_request_gets_400_in_twilios_shape(
    limited: EmulatorServer, request_bytes: bytes
) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(request_bytes)
        answer = read_answer(sock)
        assert_twilio_error(answer, 400, 20400)
        assert "Invalid HTTP request received" not in answer.body.decode()
        assert closed(sock)


# --- slow and idle clients ---------------------------------------------------------------------


def test_headers_that_never_finish_are_closed(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHo")
        assert closed(sock)


def trickle(sock: socket.socket, data: bytes) -> bool:
    """Send ``data``, then a byte every 50 ms until the server answers or closes the
    connection (True), or ENDS_WITHIN_S passes (False)."""
    deadline = time.monotonic() + ENDS_WITHIN_S
    try:
        sock.sendall(data)
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.05)
            if readable:
                return True
            sock.sendall(b"a")
    except (BrokenPipeError, ConnectionResetError):
        return True
    return False


def test_a_head_sent_a_byte_at_a_time_is_closed(limited: EmulatorServer) -> None:
    """The header timeout counts from the connection, not from the last byte received."""
    with connect(port_of(limited)) as sock:
        assert trickle(sock, b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"X-Slow: ")
        assert closed(sock)


def test_a_body_sent_a_byte_at_a_time_gets_408(limited: EmulatorServer) -> None:
    call_sid = new_call_sid()
    with connect(port_of(limited)) as sock:
        assert trickle(sock, create_request(call_sid, create_form(MAX_BODY))[:-MAX_BODY])
        assert_twilio_error(read_answer(sock), 408, 20408)
        assert closed(sock)
    assert journal(limited, call_sid) == []


def test_a_body_that_never_finishes_gets_408(limited: EmulatorServer) -> None:
    call_sid = new_call_sid()
    form = create_form(200)
    with connect(port_of(limited)) as sock:
        sock.sendall(create_request(call_sid, form)[:-100])
        assert_twilio_error(read_answer(sock), 408, 20408)
        assert closed(sock)
    assert journal(limited, call_sid) == []


def test_a_connection_that_sends_nothing_is_closed(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        assert closed(sock)


def test_an_idle_kept_alive_connection_is_closed(limited: EmulatorServer) -> None:
    with connect(port_of(limited)) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"\r\n")
        answer = read_answer(sock)
        assert answer.status == 200
        assert "connection" not in answer.headers  # kept alive...
        assert closed(sock)  # ... for a while


# --- the connection cap ------------------------------------------------------------------------


@pytest.fixture
def capped() -> Iterator[EmulatorServer]:
    """A server of its own per test, so that no other test's connections count. Timeouts
    long enough that only the cap closes the test's stalled connections."""
    with EmulatorServer(
        "--max-connections",
        "8",
        "--header-timeout-s",
        "60",
        "--body-timeout-s",
        "60",
        "--keep-alive-timeout-s",
        "60",
    ) as server:
        yield server


def health_status(port: int) -> int:
    with connect(port) as sock:
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
        return read_answer(sock).status


def still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.2)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except ConnectionResetError:
        return False


def test_a_new_client_is_served_at_the_cap(capped: EmulatorServer) -> None:
    port = port_of(capped)
    health = b"GET /_emulator/health HTTP/1.1\r\n" + HOST + b"\r\n"
    with contextlib.ExitStack() as stack:
        stalled = [stack.enter_context(connect(port)) for _ in range(8)]  # idle
        stalled[5].sendall(b"GET /_emulator/health HTTP/1.1\r\nHo")  # half a head
        stalled[6].sendall(create_request(new_call_sid(), create_form(300))[:-50])  # half a body
        stalled[7].sendall(health)  # answered, and kept alive
        assert read_answer(stalled[7]).status == 200
        # New clients that stay connected: each is served, and closes the idlest connection.
        for new in range(8):
            client = stack.enter_context(connect(port))
            client.sendall(health)
            assert read_answer(client).status == 200
            if new == 0:
                assert closed(stalled[0])  # the first connected, that never sent a byte
                assert still_open(stalled[7])
        assert all(closed(sock) for sock in stalled)


def test_a_request_in_progress_is_never_closed_to_make_room(capped: EmulatorServer) -> None:
    port = port_of(capped)
    control = ControlClient(capped.base_url)
    control.add_fault("delay", path="^/2010-04-01/Accounts/ACslow", delay_ms=2000)
    control.close()
    with contextlib.ExitStack() as stack:
        # The oldest connection, and the least recently active: but being answered.
        busy = stack.enter_context(connect(port))
        busy.sendall(b"GET /2010-04-01/Accounts/ACslow.json HTTP/1.1\r\n" + HOST + b"\r\n")
        idle = [stack.enter_context(connect(port)) for _ in range(8)]
        assert health_status(port) == 200
        assert health_status(port) == 200
        assert read_answer(busy).status == 401  # the delayed request, answered after all
        assert closed(idle[0])
        assert closed(idle[1])


def test_stalled_connections_do_not_hold_up_a_shutdown() -> None:
    """SIGTERM: requests half-received are dropped at once (the shutdown grace is for
    requests being processed)."""
    with EmulatorServer("--shutdown-grace-s", "60") as server:
        port = port_of(server)
        with contextlib.ExitStack() as stack:
            for payload in [
                b"",
                b"GET /_emulator/health HTTP/1.1\r\nHo",
                create_request(new_call_sid(), create_form(300))[:-50],
            ]:
                stack.enter_context(connect(port)).sendall(payload)
            health_status(port)  # all three were accepted before it
            process = server.process
            assert process is not None
            process.terminate()
            assert process.wait(ENDS_WITHIN_S) == 0


# --- the rest still works ----------------------------------------------------------------------


def test_the_control_plane_and_the_sdk_are_unaffected(limited: EmulatorServer) -> None:
    with contextlib.closing(ControlClient(limited.base_url)) as control:  # a new connection
        assert control.health()["status"] == "ok"
    client = Client(ACCOUNT, TOKEN)
    client.api.base_url = limited.base_url
    payment = client.calls(new_call_sid()).payments.create(
        idempotency_key=secrets.token_hex(8), status_callback=CALLBACK, charge_amount=10.5
    )
    assert payment.sid is not None
    assert payment.sid.startswith("PK")


def test_the_drop_fault_still_closes_the_connection(limited: EmulatorServer) -> None:
    """The protocol still gives the edge its way to drop a connection without an answer."""
    control = ControlClient(limited.base_url)
    try:
        control.add_fault("drop", path="^/2010-04-01/Accounts/ACdropped")
        with connect(port_of(limited)) as sock:
            sock.sendall(b"GET /2010-04-01/Accounts/ACdropped.json HTTP/1.1\r\n" + HOST + b"\r\n")
            assert sock.recv(65536) == b""
    finally:
        control.clear_faults()
        control.close()


def test_the_limits_hold_on_https(tmp_path: Path) -> None:
    with EmulatorServer(
        "--tls-port", "0", "--tls-dir", str(tmp_path / "certs"),
        "--max-header-bytes", str(MAX_HEAD), "--max-body-bytes", str(MAX_BODY),
    ) as server:  # fmt: skip
        match = HTTPS.search(server.log)
        assert match is not None, server.log
        context = ssl.create_default_context(cafile=str(tmp_path / "certs" / "ca.pem"))
        for request, status, code in [
            (padded_head(MAX_HEAD + 1, TWILIO_PATH), 431, 20431),
            (create_request(new_call_sid(), b"").replace(b"0\r\n", b"5000\r\n"), 413, 20413),
        ]:
            with (
                connect(int(match.group(1))) as raw,
                context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
            ):
                sock.sendall(request)
                assert_twilio_error(read_answer(sock), status, code)
        with (
            connect(int(match.group(1))) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as sock,
        ):
            sock.sendall(padded_head(MAX_HEAD))
            assert read_answer(sock).status == 200
