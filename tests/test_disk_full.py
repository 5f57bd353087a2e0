"""A full disk: writes answer 503 (code 20503) and change nothing, reads keep working,
delivery outcomes wait in memory until space returns, and nothing is sent twice.

The server test puts the database on a real 8 MiB tmpfs, in a mount namespace of its own
(``unshare -m``, held by a sleeping process; the emulator joins it with ``nsenter``): it
needs root, as CI has. The test fills the disk through ``/proc/PID/root``, and reads the
database with processes of its own in the namespace (SQLite resolves ``/proc/PID/root``
like any symbolic link, to the path outside the namespace).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from emulator.errors import DatabaseFull
from emulator.store.db import Database
from tests import tmpfs
from tests.api import PaymentsApi
from tests.flows import CARD_VALUES, Flow
from tests.gpc_endpoint import PASSWORD, USERNAME, GpcEndpoint, Reply, answer
from tests.tmpfs import NamespacedServer, fill, query, unavailable, wal_pinned

# --- the database layer ------------------------------------------------------------------------


def test_a_full_database_raises_database_full_and_recovers(tmp_path: Path) -> None:
    """SQLITE_FULL (here from ``max_page_count``, which SQLite reports exactly as a full disk)
    is DatabaseFull; what the failed write did is undone, nothing of it is announced, and
    writes work again once there is room."""
    db = Database(f"sqlite:///{tmp_path / 'f.db'}")
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 4}")
    announced: list[str] = []

    def insert(sid: str, size: int) -> Callable[[sqlite3.Connection], str]:
        def work(conn: sqlite3.Connection) -> str:
            conn.execute(
                "INSERT INTO accounts (sid, auth_token, friendly_name, created_at_ms)"
                " VALUES (?, 't', ?, 0)",
                (sid, "x" * size),
            )
            db.after_commit(lambda: announced.append(sid))
            return sid

        return work

    small, big, later = "AC" + "1" * 32, "AC" + "2" * 32, "AC" + "3" * 32

    async def main() -> tuple[object, str]:
        first = asyncio.ensure_future(db.write(insert(small, 10)))
        with pytest.raises(DatabaseFull) as refused:
            await db.write(insert(big, 1_000_000))
        assert refused.value.status == 503
        assert refused.value.code == 20503
        try:
            outcome: object = await first  # committed, or refused with the same error
        except DatabaseFull:
            outcome = "refused"
        db.conn.execute("PRAGMA max_page_count = 1073741823")
        return outcome, await db.write(insert(later, 1_000_000))

    outcome, written = asyncio.run(main())
    assert written == later
    stored = [row[0] for row in db.conn.execute("SELECT sid FROM accounts ORDER BY sid")]
    assert big not in stored
    assert announced == [sid for sid in (small, later) if sid in stored]  # only what committed
    assert (outcome == small) == (small in stored)
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


# --- a real small filesystem ----------------------------------------------------------------------

can_mount = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@contextlib.contextmanager
def small_filesystem(mountpoint: Path) -> Iterator[int]:
    """tests.tmpfs's, skipping the test where it cannot be made."""
    try:
        with tmpfs.small_filesystem(mountpoint) as holder:
            yield holder
    except tmpfs.Unavailable as exc:
        pytest.skip(str(exc))


class GatedReceiver:
    """Records every POST; answers 204 once ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.tokens: list[str] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.arrived:
                    receiver.tokens.append(self.headers["I-Twilio-Idempotency-Token"])
                    receiver.arrived.notify_all()
                receiver.gate.wait(60)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/status"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, count: int) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.tokens) >= count, 30), self.tokens

    def __enter__(self) -> GatedReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def delivered_in(holder: int, database: Path, tokens: list[str]) -> int:
    marks = ",".join("?" * len(tokens))
    [[count]] = query(
        holder,
        database,
        "SELECT count(*) FROM callbacks WHERE state = 'delivered'"
        f" AND idempotency_token IN ({marks})",
        *tokens,
    )
    assert isinstance(count, int)
    return count


@can_mount
def test_a_full_disk_answers_503_keeps_reads_and_sends_nothing_twice(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    mountpoint = tmp_path / "small"
    with (
        small_filesystem(mountpoint) as holder,
        GatedReceiver() as receiver,
        NamespacedServer(
            holder, "--caller", "manual", database=mountpoint / "e.db", log_file=tmp_path / "log"
        ) as server,
    ):
        inside = Path(f"/proc/{holder}/root") / mountpoint.relative_to("/")
        database = mountpoint / "e.db"  # as the namespace sees it
        account = server.control.create_account()
        api = make_api(server, account)
        # Four sessions, two callbacks each to the gated receiver: four in flight, four queued.
        sessions = []
        for _ in range(4):
            call_sid, sid = api.start(StatusCallback=receiver.url, Timeout=600)
            answer = api.update(
                call_sid, sid, Capture="payment-card-number", StatusCallback=receiver.url
            )
            assert answer.status_code == 202
            sessions.append((call_sid, sid))
        receiver.wait_for(4)
        busy_call, busy_sid = api.start(Timeout=600)
        replay = ("replayed", {"Capture": "postal-code"})
        first = api.update(busy_call, busy_sid, key=replay[0], **replay[1])
        with wal_pinned(holder, database):
            filler = fill(inside)
            refused = None
            for n in range(400):  # until the WAL's slack is used up
                answer = api.update(
                    busy_call, busy_sid, Capture=["expiration-date", "postal-code"][n % 2]
                )
                if answer.status_code != 202:
                    refused = answer
                    break
            assert refused is not None, "the disk never filled up"
            assert refused.status_code == 503
            body = refused.json()
            assert (body["code"], body["status"]) == (20503, 503)
            assert "database is full" in body["message"]
            assert body["more_info"] == "https://www.twilio.com/docs/errors/20503"
            # reads keep working: views, the callbacks, an idempotent replay
            assert server.control.payment(sessions[0][1])["state"] == "active"
            assert len(server.control.callbacks(payment_sid=sessions[0][1])) == 2
            again = api.update(busy_call, busy_sid, key=replay[0], **replay[1])
            assert (again.status_code, again.content) == (first.status_code, first.content)
            # The receiver answers: eight deliveries while the disk is full.
            receiver.gate.set()
            receiver.wait_for(8)
            shown = [
                c
                for _, sid in sessions
                for c in server.control.callbacks(payment_sid=sid, wait_for=2)
            ]
            assert [(c["state"], c["attempts"]) for c in shown] == [("delivered", 1)] * 8
            tokens = [c["idempotency_token"] for c in shown]
            # kept in memory: the disk took none of them
            assert delivered_in(holder, database, tokens) == 0
        # Space returns: the kept outcomes are written, writes work again.
        filler.unlink()
        for _ in range(150):
            if delivered_in(holder, database, tokens) == 8:
                break
            threading.Event().wait(0.2)
        assert delivered_in(holder, database, tokens) == 8
        answer = api.update(*sessions[0], Capture="expiration-date", StatusCallback=receiver.url)
        assert answer.status_code == 202
        receiver.wait_for(9)
        server.stop()  # graceful: nothing is left pending for the gated receiver
        assert query(holder, database, "PRAGMA integrity_check") == [["ok"]]
        pending = query(
            holder,
            database,
            "SELECT count(*) FROM callbacks WHERE state = 'pending' AND url = ?",
            receiver.url,
        )
        assert pending == [[0]]
        server.start()
        api = make_api(server, account)
        answer = api.update(*sessions[1], Capture="expiration-date", StatusCallback=receiver.url)
        assert answer.status_code == 202
        receiver.wait_for(10)
        assert "Traceback" not in server.log
    # none sent twice (a session may have added callbacks of its own meanwhile: input timeouts)
    assert len(receiver.tokens) == len(set(receiver.tokens)) >= 10


@can_mount
def test_a_merchants_answer_that_comes_while_the_disk_is_full_is_not_lost(
    tmp_path: Path, make_api: Callable[..., PaymentsApi]
) -> None:
    """A Generic Pay Connector answers while the database cannot be written: the answer (its
    attempt, the session's end, its callback) is held in memory and written once space
    returns, once."""
    mountpoint = tmp_path / "small"
    gate = threading.Event()
    endpoint = GpcEndpoint([Reply(gate=gate, body=answer(charge_id="ch_while_full"))])
    with (
        small_filesystem(mountpoint) as holder,
        endpoint.running() as gpc,
        NamespacedServer(
            holder, "--caller", "manual", database=mountpoint / "e.db", log_file=tmp_path / "log"
        ) as server,
    ):
        inside = Path(f"/proc/{holder}/root") / mountpoint.relative_to("/")
        account = server.control.create_account()
        server.control.create_connector(
            account.account_sid,
            "gpc",
            generic={"endpoint_url": gpc.url(), "username": USERNAME, "password": PASSWORD},
        )
        flow = Flow(server, account)
        flow.start(payment_connector="gpc", charge_amount=10)
        flow.capture_all(CARD_VALUES)
        flow.finish()
        wait_until(lambda: len(gpc.requests) == 1)
        api = make_api(server, account)
        busy_call, busy_sid = api.start(Timeout=600)
        with wal_pinned(holder, mountpoint / "e.db"):
            filler = fill(inside)
            for n in range(400):  # until the WAL's slack is used up
                status = api.update(
                    busy_call, busy_sid, Capture=["expiration-date", "postal-code"][n % 2]
                ).status_code
                if status == 503:
                    break
            assert status == 503, "the disk never filled up"
            gate.set()  # the merchant answers now, while nothing can be written
            time.sleep(1.0)
            assert server.control.payment(flow.sid)["state"] == "processing"
        filler.unlink()  # space again (and the WAL may start over)
        wait_until(lambda: server.control.payment(flow.sid)["state"] == "completed", 20)
        view = server.control.payment(flow.sid)
        assert view["result"] == "success"
        [attempt] = view["connector_requests"]
        assert attempt["status_code"] == 200
        finals = [
            c for c in server.control.callbacks(payment_sid=flow.sid) if c["event"] == "complete"
        ]
        assert len(finals) == 1
        assert finals[0]["params"]["PaymentConfirmationCode"] == "ch_while_full"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
