"""The inspector's reads: accounts, calls, sessions and delivery attempts, paged, with their
counts (read-only, on the emulator's connection: what the current turn of the event loop
wrote included, as the control plane's other reads)."""

from __future__ import annotations

from collections.abc import Sequence

from emulator.domain.records import SessionRecord
from emulator.domain.summaries import AccountSummary, Attempt, CallSummary, Page, Totals
from emulator.store import listings
from emulator.store.db import Database

__all__ = ["Listings"]


class Listings:
    def __init__(self, db: Database) -> None:
        self._db = db

    def totals(self) -> Totals:
        return listings.totals(self._db.conn)

    def session_states(
        self,
        account_sid: str | None = None,
        call_sid: str | None = None,
        *,
        text: str | None = None,
        failed_callbacks: bool = False,
    ) -> dict[str, int]:
        """How many sessions are in each state (of an account, or a call; matching ``text``;
        with a failed callback)."""
        return listings.session_states(
            self._db.conn, account_sid, call_sid, text=text, failed_callbacks=failed_callbacks
        )

    def accounts(self, offset: int, limit: int) -> Page[AccountSummary]:
        return listings.accounts(self._db.conn, offset, limit)

    def account(self, account_sid: str) -> AccountSummary | None:
        return listings.account(self._db.conn, account_sid)

    def calls(self, account_sid: str, offset: int, limit: int) -> Page[CallSummary]:
        return listings.calls(self._db.conn, account_sid, offset, limit)

    def call(self, call_sid: str) -> CallSummary | None:
        return listings.call(self._db.conn, call_sid)

    def sessions(
        self,
        *,
        offset: int,
        limit: int,
        account_sid: str | None = None,
        call_sid: str | None = None,
        state: str | None = None,
        text: str | None = None,
        failed_callbacks: bool = False,
    ) -> Page[SessionRecord]:
        """Sessions, newest first, optionally of one account, one call, in one state, whose
        SID, call, account or Description contains ``text`` (any part, any case; at most
        :data:`~emulator.store.listings.MAX_SEARCH` characters are looked for), that have a
        callback whose delivery failed."""
        return listings.sessions(
            self._db.conn,
            offset=offset,
            limit=limit,
            account_sid=account_sid,
            call_sid=call_sid,
            state=state,
            text=text,
            failed_callbacks=failed_callbacks,
        )

    def failed_callbacks(self, sids: Sequence[str]) -> dict[str, int]:
        """How many callbacks of each of these sessions failed to be delivered."""
        return listings.failed_callbacks(self._db.conn, sids)

    def last_entries(self, sids: Sequence[str]) -> dict[str, dict[str, str]]:
        """The callback fields of each session's last caller entry (key-in, input-timeout)."""
        return listings.last_entries(self._db.conn, sids)

    def from_fixtures(self, sid: str) -> bool:
        """Whether a fixture file declared this account (its credentials are the file's)."""
        return listings.from_fixtures(self._db.conn, sid)

    def sessions_of_calls(
        self, call_sids: Sequence[str], per_call: int
    ) -> dict[str, list[SessionRecord]]:
        """The newest ``per_call`` sessions of each call, newest first."""
        return listings.sessions_of_calls(self._db.conn, call_sids, per_call)

    def attempts(self, callback_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        """Every delivery attempt of these callbacks, oldest first."""
        return listings.attempts(self._db.conn, callback_ids)
