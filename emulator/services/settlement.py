"""Settlement: how a session's ``Status=complete`` ends, through its Pay Connector.

A built-in connector answers at once (:mod:`emulator.domain.connectors`: magic numbers, or
success). A Generic Pay Connector ends in two steps: ``Status=complete`` makes the session
``processing`` (answered 202 at once), and the merchant's endpoint is called off the request
path (:mod:`emulator.services.gpc_client`, through the one way out); its answer completes the
session. The full card number, security code and bank account number it needs are held in
memory only (:class:`~emulator.services.vault.Vault`), from the keying to the end of that
request. A test can force what the next complete produces (:meth:`SettlementService.force_outcome`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace

from emulator.clock import Clock
from emulator.domain import connectors, gpc, machine
from emulator.domain.records import ForcedOutcome, SessionRecord
from emulator.domain.vocabulary import ACH_DEBIT
from emulator.errors import RequiredInformationIncomplete
from emulator.ids import IdGenerator
from emulator.outgoing.client import Outgoing
from emulator.services import gpc_client
from emulator.services.grace import finish_within
from emulator.services.held_writes import HeldWrites
from emulator.services.metrics import Metrics
from emulator.services.sessions import Sessions, UnknownResource
from emulator.services.vault import SECRET_ITEMS, Vault
from emulator.store import accounts, sessions
from emulator.store import connectors as connector_store
from emulator.store.db import Database

__all__ = ["SessionOver", "SettlementService"]

logger = logging.getLogger("emulator.payments")


class SessionOver(Exception):
    """A request for an active session found it no longer active."""


class SettlementService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ids: IdGenerator,
        sessions: Sessions,
        vault: Vault,
        outgoing: Outgoing,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ids = ids
        self._sessions = sessions
        self._vault = vault
        self._outgoing = outgoing
        self._metrics = metrics
        self._connector_tasks: set[asyncio.Task[None]] = set()
        # A merchant's answer is never lost while the process lives: what a full disk refuses
        # (attempt records, the settlement and its callback) is held and written later.
        self._held = HeldWrites(db, "connector answers")
        self._deadline: float | None = None  # time.monotonic() by which requests must end

    # --- Status=complete (inside the request's transaction) --------------------------------

    def connector_of(self, conn: sqlite3.Connection, record: SessionRecord) -> connectors.Connector:
        return (
            connector_store.get(conn, record.account_sid, record.request.payment_connector)
            or connectors.DEFAULT_CONNECTOR
        )

    def settler(
        self, record: SessionRecord, connector: connectors.Connector
    ) -> Callable[[machine.Session], machine.Settlement | None]:
        """What ``Status=complete`` gets: the outcome a test forced, a built-in connector's
        answer, a Generic Pay Connector's TEST mode refusal, or None (the endpoint answers
        later: the session is processing)."""
        charging = record.request.charge_amount is not None

        def settle(session: machine.Session) -> machine.Settlement | None:
            forced = record.forced_outcome
            if forced is not None and forced.result != machine.Result.SUCCESS:
                return machine.Settlement(
                    machine.Result(forced.result),
                    error=forced.payment_error,
                    pay_error_code=forced.pay_error_code,
                    connector_error=forced.connector_error,
                )
            if forced is not None or connector.generic is None:
                return connectors.settle(
                    record.request.payment_method,
                    charging,
                    record.request.token_type,
                    None if forced is not None else session.gateway_outcome,
                    self._ids.token,
                )
            missing = self._forgotten(record)
            if missing:
                raise RequiredInformationIncomplete(
                    "Pay: Required payment information incomplete: capture "
                    + ", ".join(missing)
                    + " again (the emulator no longer holds what was keyed: it restarted,"
                    " or the connector changed since)"
                )
            return gpc.refusal_in_test_mode(connector.generic, self._payment_data(record))

        return settle

    def start_connector_request(
        self, record: SessionRecord, connector: connectors.Connector
    ) -> None:
        """Once the transaction commits, call the Generic Pay Connector's endpoint."""
        assert connector.generic is not None
        generic, data = connector.generic, self._payment_data(record)

        def start() -> None:
            task = asyncio.get_running_loop().create_task(
                self._connector_request(record, generic, data)
            )
            self._connector_tasks.add(task)
            task.add_done_callback(self._connector_tasks.discard)

        self._db.after_commit(start)

    def _forgotten(self, record: SessionRecord) -> list[str]:
        """The secret items a Generic Pay Connector needs whose digits are not in memory."""
        held = self._vault.get(record.sid)
        return [
            item
            for item in SECRET_ITEMS
            if item in record.session.config.items() and item not in held
        ]

    def _payment_data(self, record: SessionRecord) -> gpc.PaymentData:
        """What the merchant's endpoint gets: the held digits, the rest as captured, and
        the description and parameters as the create request gave them (the stored, masked
        ones when the emulator no longer holds those: it restarted)."""
        held = self._vault.get(record.sid)
        originals = self._vault.originals(record.sid)
        captured = record.session.captured
        request = record.request

        def clear(item: str) -> str | None:
            value = captured.get(item)
            return value.value if value is not None else None

        card = request.payment_method != ACH_DEBIT
        given_postal_code = record.pay.postal_code if record.pay is not None else None
        return gpc.PaymentData(
            charging=request.charge_amount is not None,
            payment_method=request.payment_method,  # type: ignore[arg-type]
            card_number=held.get("payment-card-number") if card else None,
            security_code=held.get("security-code") if card else None,
            expiration_date=clear("expiration-date") if card else None,
            postal_code=(clear("postal-code") or given_postal_code) if card else None,
            routing_number=None if card else clear("bank-routing-number"),
            account_number=None if card else held.get("bank-account-number"),
            amount=str(request.charge_amount) if request.charge_amount is not None else None,
            currency=request.currency,
            description=(originals.description if originals else request.description) or None,
            parameters=dict((originals.parameter if originals else request.parameter) or {}),
        )

    # --- the Generic Pay Connector's request -----------------------------------------------

    async def _connector_request(
        self, record: SessionRecord, connector: gpc.GenericConnector, data: gpc.PaymentData
    ) -> None:
        """POST the payment to the merchant's endpoint (retries and all), record every attempt,
        then complete the session with what it answered."""
        sid, account_sid = record.sid, record.account_sid

        async def recorded(attempt: gpc.ConnectorAttempt) -> None:
            self._observe(record, attempt)
            await self._held.write(
                lambda conn: connector_store.insert_attempt(conn, sid, account_sid, attempt)
            )

        try:
            settlement = await gpc_client.run(
                connector,
                data,
                now_ms=self._clock.now_ms,
                on_attempt=recorded,
                outgoing=self._outgoing,
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # a wiped session (its attempts cannot be recorded), or worse
            logger.exception("the connector request of %s failed", sid)
            settlement = gpc.no_answer_settlement(data.charging)
        finally:
            self._vault.drop(sid)
        await self._settle(sid, settlement)

    def _observe(self, record: SessionRecord, attempt: gpc.ConnectorAttempt) -> None:
        """A connector request's latency (metrics) and a debug log line with its fields."""
        if self._metrics is not None:
            self._metrics.connector_request(attempt.latency_ms / 1000)
        logger.debug(
            "connector request to %s, attempt %d: %s",
            attempt.url,
            attempt.attempt,
            attempt.error or attempt.status_code,
            extra={
                "event": "connector.request",
                "account": record.account_sid,
                "call": record.call_sid,
                "session": record.sid,
                "status": attempt.status_code,
                "duration_ms": attempt.latency_ms,
            },
        )

    async def _settle(self, payment_sid: str, settlement: machine.Settlement) -> None:
        def unit(conn: sqlite3.Connection) -> None:
            now = self._clock.now_ms()
            record = sessions.load(conn, payment_sid)
            if record is None or record.session.state is not machine.State.PROCESSING:
                return  # wiped by a reset meanwhile
            session, event = machine.settle(record.session, settlement)
            record = self._sessions.save(
                conn, replace(record, session=session, updated_at_ms=now), now
            )
            self._sessions.announce(conn, record, event, now)

        await self._held.write(unit)

    # --- life cycle ------------------------------------------------------------------------

    async def resume(self) -> None:
        """After a restart: a session that was waiting for a Generic Pay Connector, whose
        request was cut short and whose digits are gone, ends as if the endpoint never
        answered."""
        conn = self._db.conn
        for sid in sessions.processing(conn):
            record = sessions.load(conn, sid)
            if record is not None:
                charging = record.request.charge_amount is not None
                await self._settle(sid, gpc.no_answer_settlement(charging))

    def begin_shutdown(self, grace_s: float) -> None:
        """SIGTERM: connector requests in flight get ``grace_s`` from now to finish and be
        written (their sessions then end as the merchant answered)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + max(grace_s, 0.0)
            if self._connector_tasks:
                logger.info(
                    "stopping: %d connector requests in flight get up to %.1f s to finish",
                    len(self._connector_tasks),
                    grace_s,
                )

    async def stop(self) -> None:
        """Wait for the connector requests in flight until the grace period ends, cancel the
        rest (their sessions end as "no answer" at the next start), and write what a full
        disk held, if it can now."""
        await finish_within(
            self._connector_tasks,
            self._deadline if self._deadline is not None else time.monotonic(),
            "%d connector requests still in flight after the grace period were cut short: "
            "their sessions end as if the endpoint never answered, at the next start",
        )
        await self._held.stop()

    # --- what a test can ask for, and what it can read --------------------------------------

    async def force_outcome(self, payment_sid: str, outcome: ForcedOutcome) -> SessionRecord:
        """Decide what the session's next ``Status=complete`` produces, whatever the card.
        Raises :class:`UnknownResource`, or :class:`SessionOver` for a session that ended."""

        def unit(conn: sqlite3.Connection) -> SessionRecord:
            record = sessions.load(conn, payment_sid)
            if record is None:
                raise UnknownResource(f"payment session {payment_sid} does not exist")
            if record.session.state is not machine.State.ACTIVE:
                raise SessionOver(f"payment session {payment_sid} is {record.session.state}")
            record = replace(record, forced_outcome=outcome)
            sessions.save(conn, record)
            return record

        return await self._db.write(unit)

    async def put_connector(self, account_sid: str, connector: connectors.Connector) -> None:
        """Install a connector on the account (replacing one of the same name)."""

        def unit(conn: sqlite3.Connection) -> None:
            if accounts.get(conn, account_sid) is None:
                raise UnknownResource(f"account {account_sid} does not exist")
            connector_store.put(conn, account_sid, connector)

        await self._db.write(unit)

    def connector_requests(self, payment_sid: str) -> list[gpc.ConnectorAttempt]:
        """The requests made to the session's Generic Pay Connector, in order."""
        return connector_store.attempts_of(self._db.conn, payment_sid)
