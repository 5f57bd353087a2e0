"""The inspector's free-text search and failure reasons, below the pages: the store's SQL
(LIKE with its wildcards escaped, bounded input), the journal's search, ``reason_of``."""

from __future__ import annotations

import hashlib
import sqlite3

from emulator.domain import machine
from emulator.domain.reasons import reason_of
from emulator.domain.records import CreatePayment, SessionRecord
from emulator.services.journal import Journal, JournalEntry
from emulator.store import listings
from emulator.store import sessions as session_rows
from emulator.store.schema import STATEMENTS


def database(*descriptions: str) -> tuple[sqlite3.Connection, list[str]]:
    conn = sqlite3.connect(":memory:")
    for statement in STATEMENTS:
        conn.execute(statement)
    sids = []
    for n, description in enumerate(descriptions):
        request = CreatePayment(status_callback="http://127.0.0.1:9/cb", description=description)
        session, _ = machine.start(request.session_config())
        sid = "PK" + hashlib.md5(str(n).encode()).hexdigest()  # distinct parts
        record = SessionRecord(
            sid=sid,
            account_sid=f"AC{n:032x}",
            call_sid=f"CA{'c' * 31}{n}",
            request=request,
            session=session,
            status_callback=request.status_callback,
            caller="manual",
            created_at_ms=n,
            updated_at_ms=n,
        )
        session_rows.insert(conn, record)
        sids.append(sid)
    return conn, sids


def found(conn: sqlite3.Connection, text: str) -> list[str]:
    page = listings.sessions(conn, offset=0, limit=50, text=text)
    return sorted(record.sid for record in page.rows)


def test_search_finds_any_part_of_a_sid_or_description_in_any_case() -> None:
    conn, (plain, percent, under) = database("Order 42", "100% off", "a_b")
    assert found(conn, "order") == [plain]
    assert found(conn, "ORDER 4") == [plain]
    assert found(conn, "%") == [percent]  # taken as it is, not as a wildcard
    assert found(conn, "_") == [under]
    assert found(conn, "a_b") == [under]
    assert found(conn, "a%b") == []
    assert found(conn, plain[-6:]) == [plain]
    assert found(conn, "CCCCC") == sorted([plain, percent, under])  # the calls
    assert found(conn, "  ") == sorted([plain, percent, under])  # blank: no search
    assert found(conn, "x" * 10_000) == []  # bounded, and harmless
    assert listings.session_states(conn, text="100%") == {"active": 1}


def test_failed_callbacks_are_counted_and_filtered() -> None:
    conn, (one, two) = database("a", "b")
    for sid, state in ((one, "failed"), (one, "failed"), (one, "delivered"), (two, "delivered")):
        conn.execute(
            "INSERT INTO callbacks (payment_sid, account_sid, call_sid, event, url, method,"
            " params, idempotency_token, state, attempts, created_at_ms)"
            " VALUES (?, 'AC', 'CA', 'create', 'u', 'POST', '[]', 't', ?, 1, 0)",
            (sid, state),
        )
    assert listings.failed_callbacks(conn, [one, two]) == {one: 2}
    page = listings.sessions(conn, offset=0, limit=50, failed_callbacks=True)
    assert [r.sid for r in page.rows] == [one]
    assert page.total == 1


def entry(n: int, **fields: object) -> JournalEntry:
    base: dict[str, object] = {
        "request_id": f"RQ{n:032x}",
        "time": "2030-01-01T00:00:00.000Z",
        "method": "POST",
        "path": "/2010-04-01/Accounts/AC1/Calls/CA1/Payments.json",
        "params": {},
        "authenticated_as": "AC1",
        "account_sid": "AC1",
        "call_sid": "CA1",
        "payment_sid": None,
        "status": 201,
        "response": "{}",
        "duration_ms": 1.0,
    }
    base.update(fields)
    return JournalEntry(**base)  # type: ignore[arg-type]


def test_the_journal_is_searched_in_sids_paths_and_values() -> None:
    journal = Journal(10)
    journal.record(entry(1, params={"Description": "Gift Card"}, response='{"sid": "PKabc"}'))
    journal.record(entry(2, payment_sid="PKdef", params={"Capture": "postal-code"}))
    assert [e.request_id[-1] for e in journal.query(text="gift")] == ["1"]
    assert [e.request_id[-1] for e in journal.query(text="pkabc")] == ["1"]  # the one it made
    assert [e.request_id[-1] for e in journal.query(text="DEF")] == ["2"]
    assert [e.request_id[-1] for e in journal.query(text="postal")] == ["2"]
    assert len(journal.query(text="payments.json")) == 2
    assert journal.query(text="nothing") == []


def test_the_reason_of_a_failure() -> None:
    config = machine.SessionConfig()
    session = machine.Session(config=config)
    assert reason_of(session) is None
    refused = reason_of(session, {"ErrorType": "invalid-date", "PaymentError": "invalid-date"})
    assert refused is not None
    assert (refused.text, refused.ended) == ("invalid-date", False)
    declined = machine.Session(
        config=config,
        state=machine.State.COMPLETED,
        settlement=machine.Settlement(
            machine.Result.PAYMENT_CONNECTOR_ERROR,
            error="card is declined",
            pay_error_code=64012,
            connector_error="card_declined",
        ),
    )
    reason = reason_of(declined, {"ErrorType": "invalid-date"})
    assert reason is not None
    assert reason.text == "payment-connector-error: 64012 · card is declined · card_declined"
    assert reason.ended
    cancelled = machine.Session(
        config=config,
        state=machine.State.CANCELLED,
        settlement=machine.Settlement(machine.Result.CANCELLED),
    )
    assert reason_of(cancelled) is None
