"""One bad receiver harms nobody else: the outbox in-process, against receivers of its own on
127.0.0.1 (names resolve through a stub: nothing is looked up on the network).

Callback rows are written straight into a fresh database, as an accepted request (or an
older emulator, or a row from before a restart) leaves them; ``Outbox.start`` picks them up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from emulator.app import Emulator
from emulator.clock import Clock
from emulator.domain.records import CallbackRecord, NewCallback
from emulator.domain.signing import compute_signature
from emulator.outgoing.client import Outgoing
from emulator.outgoing.policy import HostPolicy
from emulator.outgoing.resolver import Resolver
from emulator.services.callback_log import CallbackLog
from emulator.services.delivery import Delivery, DeliverySettings
from emulator.settings import Settings
from emulator.store import accounts
from emulator.store import callbacks as rows
from emulator.store.db import Database

ACCOUNT = "AC" + "b" * 32
TOKEN = "c" * 32


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopReceiver:
    """A receiver on this test's event loop: records requests; answers 204 at once, or holds
    them until ``release`` is set (``hold=True``). With ``challenge``, a request without an
    ``Authorization`` header is answered 401 with that ``WWW-Authenticate`` value."""

    hold: bool = False
    challenge: str | None = None
    requests: list[Request] = field(default_factory=list)
    open: int = 0
    max_open: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                body = await reader.readexactly(int(headers.get("Content-Length", "0")))
                self.requests.append(Request(lines[0].split(" ")[1], headers, body))
                self.arrived.set()
                if self.hold:
                    await self.release.wait()
                if self.challenge is not None and "Authorization" not in headers:
                    writer.write(
                        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: "
                        + self.challenge.encode()
                        + b"\r\nContent-Length: 0\r\n\r\n"
                    )
                    await writer.drain()
                    continue
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()

    def url(self, path: str = "/cb", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@contextlib.asynccontextmanager
async def receiving(receiver: LoopReceiver) -> AsyncIterator[LoopReceiver]:
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.close()


class StubLookup:
    """getaddrinfo's stand-in: ``answers`` by name; any other name does not exist."""

    def __init__(self, answers: dict[str, str] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[tuple[int, str, int]]:
        self.calls.append(host)
        if host in self.answers:
            return [(int(socket.AF_INET), self.answers[host], port)]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.fixture
def db() -> Iterator[Database]:
    database = Database("sqlite://")
    database.run_sync(lambda conn: accounts.insert_account(conn, ACCOUNT, TOKEN, "t", None, 0))
    yield database
    database.close()


def add(db: Database, sessions: dict[str, list[str]]) -> None:
    """Pending callbacks: for each session, one per URL, in order."""

    def work(conn: sqlite3.Connection) -> None:
        for payment_sid, urls in sessions.items():
            for n, url in enumerate(urls):
                rows.insert(
                    conn,
                    NewCallback(
                        payment_sid=payment_sid,
                        account_sid=ACCOUNT,
                        call_sid="CA" + payment_sid[2:],
                        event="create",
                        url=url,
                        params=(("Sid", payment_sid), ("N", str(n))),
                        idempotency_token=f"{payment_sid}-{n}",
                        created_at_ms=0,
                    ),
                )

    db.run_sync(work)


def sid(n: int) -> str:
    return "PK" + f"{n:032x}"


class Outbox:
    """Delivery, its log and the one way out, assembled as the emulator assembles them."""

    def __init__(self, db: Database, delivery: Delivery, log: CallbackLog, out: Outgoing):
        self.delivery, self.log, self.outgoing = delivery, log, out

    async def start(self) -> None:
        await self.delivery.start()

    def begin_shutdown(self, grace_s: float | None = None) -> None:
        self.delivery.begin_shutdown(grace_s)

    async def stop(self) -> None:
        await self.delivery.stop()
        await self.outgoing.aclose()

    def find(self, filters: dict[str, Any]) -> list[CallbackRecord]:
        return self.log.find(filters)

    async def wait_for(
        self, filters: dict[str, Any], count: int, timeout_s: float
    ) -> list[CallbackRecord]:
        return await self.log.wait_for(filters, count, timeout_s)


def make_outbox(
    db: Database,
    lookup: StubLookup | None = None,
    *,
    hosts: tuple[str, ...] = (),
    host_concurrency: int = 32,
    **settings: Any,
) -> Outbox:
    options: dict[str, Any] = {"timeout_s": 30.0, **settings}
    resolver = Resolver(lookup or StubLookup())
    out = Outgoing(HostPolicy.of(hosts), resolver=resolver, host_concurrency=host_concurrency)
    log = CallbackLog(db, Clock())
    return Outbox(db, Delivery(db, log, out, DeliverySettings(**options)), log, out)


async def settled(outbox: Outbox, payment_sid: str, count: int) -> list[CallbackRecord]:
    found = await outbox.wait_for({"payment_sid": payment_sid}, count, 20)
    assert sum(1 for c in found if c.attempts) >= count, found
    return found


def stored_states(db: Database) -> list[tuple[str, int]]:
    return [
        (state, attempts)
        for state, attempts in db.conn.execute("SELECT state, attempts FROM callbacks ORDER BY id")
    ]


def test_any_delivery_error_is_a_failed_attempt_and_the_queue_moves_on(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """URLs that pass validation but that the HTTP client refuses, a relative URL with nothing
    to resolve it against, an exception from signing: each is one failed attempt."""
    real = compute_signature

    def exploding(token: str, url: str, params: object) -> str:
        if "explode" in url:
            raise RuntimeError("signing exploded")
        return real(token, url, params)  # type: ignore[arg-type]

    monkeypatch.setattr("emulator.outgoing.webhooks.compute_signature", exploding)

    async def main() -> tuple[list[CallbackRecord], list[Request]]:
        async with receiving(LoopReceiver()) as receiver:
            bad = [
                "http://☃.invalid/cb",
                "http://256.1.1.1/cb",
                "http://127.0.0.1/" + "a" * 70_000,
                "relative/without/base",
                receiver.url("/explode"),
                "ftp://127.0.0.1/x",
            ]
            add(db, {sid(1): [receiver.url("/first"), *bad, receiver.url("/last")]})
            outbox = make_outbox(db)
            await outbox.start()
            found = await settled(outbox, sid(1), 8)
            await outbox.stop()
            return found, receiver.requests

    found, received = asyncio.run(main())
    assert [c.state for c in found] == ["delivered", *["failed"] * 6, "delivered"]
    errors = [c.error or "" for c in found[1:7]]
    assert "Invalid IDNA hostname" in errors[0]
    assert "Invalid IPv4 address" in errors[1]
    assert "URL too long" in errors[2]
    assert "cannot be resolved" in errors[3]
    assert errors[4] == "delivery failed: RuntimeError: signing exploded"
    assert "not an absolute http(s) URL" in errors[5]
    assert [r.path for r in received] == ["/first", "/last"]  # in order, nothing else sent
    assert stored_states(db) == [("delivered", 1), *[("failed", 1)] * 6, ("delivered", 1)]


def test_a_hanging_receiver_holds_only_its_own_slots(db: Database) -> None:
    """Thirty sessions point at a receiver that never answers; a healthy session's callback
    is delivered while all thirty still wait (the old shared pool made it wait for their
    timeouts), and the hanging host never has more than ``host_concurrency`` connections."""

    async def main() -> tuple[list[CallbackRecord], list[CallbackRecord], int]:
        async with (
            receiving(LoopReceiver(hold=True)) as hanging,
            receiving(LoopReceiver()) as healthy,
        ):
            add(db, {sid(n): [hanging.url(f"/{n}")] for n in range(1, 31)})
            add(db, {sid(99): [healthy.url("/healthy")]})
            outbox = make_outbox(db, host_concurrency=4)
            await outbox.start()
            delivered = await settled(outbox, sid(99), 1)
            waiting = [c for n in range(1, 31) for c in outbox.find({"payment_sid": sid(n)})]
            max_open = hanging.max_open
            outbox.begin_shutdown(0)  # the hanging ones are cut short: they stay pending
            await outbox.stop()
            return delivered, waiting, max_open

    delivered, waiting, max_open = asyncio.run(main())
    assert [(c.state, c.status_code) for c in delivered] == [("delivered", 204)]
    assert [(c.state, c.attempts) for c in waiting] == [("pending", 0)] * 30
    assert max_open == 4


def test_a_host_not_in_callback_hosts_is_refused_without_a_look_up(db: Database) -> None:
    lookup = StubLookup({"app.test": "127.0.0.1"})

    async def main() -> list[CallbackRecord]:
        async with receiving(LoopReceiver()) as receiver:
            add(
                db,
                {
                    sid(1): [
                        receiver.url("/elsewhere", host="elsewhere.test"),
                        receiver.url("/via-localhost", host="localhost"),
                        receiver.url("/by-name", host="APP.test"),
                        receiver.url("/by-address"),
                    ]
                },
            )
            outbox = make_outbox(db, lookup, hosts=("app.test", "127.0.0.1"))
            await outbox.start()
            found = await settled(outbox, sid(1), 4)
            await outbox.stop()
            assert [r.path for r in receiver.requests] == ["/by-name", "/by-address"]
            return found

    found = asyncio.run(main())
    assert [c.state for c in found] == ["failed", "failed", "delivered", "delivered"]
    assert found[0].error == (
        "host 'elsewhere.test' is not in callback_hosts (127.0.0.1, app.test): not sent "
        "(no look-up, no connection)"
    )
    assert found[0].last_headers == {}  # nothing was sent
    assert "'localhost' is not in callback_hosts" in (found[1].error or "")
    assert lookup.calls == ["app.test"]  # the refused names were never looked up


def test_a_dead_host_costs_one_look_up_for_all_its_callbacks(db: Database) -> None:
    lookup = StubLookup()

    async def main() -> list[CallbackRecord]:
        add(db, {sid(n): ["http://dead.test/cb"] * 5 for n in range(1, 9)})
        outbox = make_outbox(db, lookup)
        await outbox.start()
        found = [c for n in range(1, 9) for c in await settled(outbox, sid(n), 5)]
        await outbox.stop()
        return found

    found = asyncio.run(main())
    assert len(found) == 40
    assert {(c.state, c.error) for c in found} == {
        ("failed", "ConnectError: cannot resolve 'dead.test': Name or service not known")
    }
    assert lookup.calls == ["dead.test"]


@pytest.mark.parametrize(
    ("challenge", "delivered"),
    [('Basic realm="My Realm"', True), ('Digest realm="x", nonce="1"', False), (None, True)],
)
def test_credentials_in_the_url_are_sent_when_asked_for_and_never_shown(
    db: Database, challenge: str | None, delivered: bool
) -> None:
    """Twilio "will first send a request with no Authorization header. After your server
    responds with a 401 Unauthorized status code, a WWW-Authenticate header and a realm in
    the response, Twilio will make the same request with an Authorization header"
    (https://www.twilio.com/docs/usage/security). A receiver that asks for nothing never gets
    the credentials; a Digest challenge is not answered."""

    async def main() -> tuple[list[CallbackRecord], list[Request], str]:
        async with receiving(LoopReceiver(challenge=challenge)) as receiver:
            url = f"http://user:p%40ss@127.0.0.1:{receiver.port}/cb?x=1"
            add(db, {sid(1): [url]})
            outbox = make_outbox(db)
            await outbox.start()
            found = await settled(outbox, sid(1), 1)
            await outbox.stop()
            return found, receiver.requests, url

    [callback], requests, url = asyncio.run(main())
    encoded = base64.b64encode(b"user:p@ss").decode()
    first = requests[0]
    assert first.path == "/cb?x=1"
    assert "Authorization" not in first.headers
    assert first.headers["Host"] == f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}"
    params = {"Sid": sid(1), "N": "0"}
    # signed as Twilio signs an HTTP voice callback: without the username and password
    plain = url.replace("user:p%40ss@", "")
    for request in requests:
        assert request.headers["X-Twilio-Signature"] == compute_signature(TOKEN, plain, params)
        assert RequestValidator(TOKEN).validate(
            plain, params, request.headers["X-Twilio-Signature"]
        )
    shown = url.replace("p%40ss", "****")
    if challenge is not None and delivered:
        assert [r.headers.get("Authorization") for r in requests] == [None, "Basic " + encoded]
        assert requests[1].body == first.body
        assert (callback.state, callback.url, callback.last_url) == ("delivered", shown, shown)
        assert callback.last_headers["Authorization"] == "Basic ****"
    elif challenge is not None:
        assert len(requests) == 1
        assert (callback.state, callback.status_code) == ("failed", 401)
    else:
        assert len(requests) == 1
        assert callback.state == "delivered"
        assert "Authorization" not in callback.last_headers
    stored = " ".join(
        str(row)
        for table in ("callbacks", "callback_attempts")
        for row in db.conn.execute(f"SELECT * FROM {table}")
    )
    assert "user:****@" in stored  # the attempt's record
    attempts = " ".join(str(row) for row in db.conn.execute("SELECT * FROM callback_attempts"))
    assert "p%40ss" not in attempts
    assert "p@ss" not in attempts
    assert encoded not in attempts


def test_outcomes_are_kept_in_memory_while_the_disk_is_full(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database refuses the attempts' records (SQLITE_FULL): the callbacks were delivered
    all the same, they show as delivered, and their records are written once it takes
    writes again: nothing would be sent twice after a restart."""
    full = True
    real = rows.record_attempt

    def record_attempt(conn: sqlite3.Connection, callback_id: int, **kwargs: object) -> None:
        if full:
            raise sqlite3.OperationalError("database or disk is full")
        real(conn, callback_id, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rows, "record_attempt", record_attempt)

    async def main() -> tuple[list[CallbackRecord], list[tuple[str, int]], list[CallbackRecord]]:
        nonlocal full
        async with receiving(LoopReceiver()) as receiver:
            add(db, {sid(n): [receiver.url(f"/{n}/a"), receiver.url(f"/{n}/b")] for n in (1, 2, 3)})
            outbox = make_outbox(db)
            await outbox.start()
            while_full = [c for n in (1, 2, 3) for c in await settled(outbox, sid(n), 2)]
            stored_while_full = stored_states(db)
            assert len(receiver.requests) == 6
            full = False
            for _ in range(200):  # until the kept records are written (0.2 s, then more)
                if stored_states(db) == [("delivered", 1)] * 6:
                    break
                await asyncio.sleep(0.05)
            after = outbox.find({})
            await outbox.stop()
            return while_full, stored_while_full, after

    while_full, stored_while_full, after = asyncio.run(main())
    assert [(c.state, c.attempts, c.status_code) for c in while_full] == [("delivered", 1, 204)] * 6
    assert stored_while_full == [("pending", 0)] * 6
    assert stored_states(db) == [("delivered", 1)] * 6
    assert [(c.state, c.attempts) for c in after] == [("delivered", 1)] * 6


def test_stopping_lets_deliveries_in_flight_finish_and_starts_no_new_ones(db: Database) -> None:
    async def main() -> tuple[list[CallbackRecord], list[Request]]:
        async with receiving(LoopReceiver(hold=True)) as receiver:
            add(db, {sid(1): [receiver.url("/1"), receiver.url("/2"), receiver.url("/3")]})
            outbox = make_outbox(db, shutdown_grace_s=30.0)
            await outbox.start()
            long_poll = asyncio.ensure_future(outbox.wait_for({"payment_sid": sid(1)}, 3, 60))
            await receiver.arrived.wait()  # the first is in flight
            outbox.begin_shutdown()
            polled = await asyncio.wait_for(long_poll, 10)  # answered at once, with what there is
            assert [c.attempts for c in polled] == [0, 0, 0]
            stopping = asyncio.ensure_future(outbox.stop())
            await asyncio.sleep(0.05)
            assert not stopping.done()  # it waits for the delivery in flight
            receiver.release.set()
            await asyncio.wait_for(stopping, 10)
            return outbox.find({}), receiver.requests

    found, received = asyncio.run(main())
    assert [r.path for r in received] == ["/1"]  # nothing new started once stopping
    assert [(c.state, c.attempts) for c in found] == [
        ("delivered", 1),
        ("pending", 0),
        ("pending", 0),
    ]


def test_a_delivery_that_outlasts_the_grace_period_stays_pending(db: Database) -> None:
    async def main() -> list[tuple[str, int]]:
        async with receiving(LoopReceiver(hold=True)) as receiver:
            add(db, {sid(1): [receiver.url("/1")]})
            outbox = make_outbox(db, shutdown_grace_s=0.05)
            await outbox.start()
            await receiver.arrived.wait()
            await asyncio.wait_for(outbox.stop(), 10)
            return stored_states(db)

    assert asyncio.run(main()) == [("pending", 0)]  # sent again at the next start


def test_emulator_begin_shutdown_answers_long_polls_at_once() -> None:
    """What the server's signal handler calls, before uvicorn waits for requests in progress."""

    async def main() -> list[CallbackRecord]:
        emulator = Emulator(Settings(database="sqlite://", caller="manual", shutdown_grace_s=5))
        await emulator.start()
        gc.unfreeze()  # start() freezes what it built: undo it in this test process
        try:
            long_poll = asyncio.ensure_future(
                emulator.callback_log.wait_for({"payment_sid": sid(1)}, 1, 60)
            )
            await asyncio.sleep(0)
            emulator.begin_shutdown()
            emulator.begin_shutdown()  # a second signal changes nothing
            return await asyncio.wait_for(long_poll, 10)
        finally:
            await emulator.stop()

    assert asyncio.run(main()) == []
