"""The phones a test sets up ahead of its calls (see :mod:`emulator.domain.phones`)."""

from __future__ import annotations

from emulator.domain.phones import Phone, Phones
from emulator.services.sessions import UnknownResource
from emulator.store import accounts
from emulator.store.db import Database

__all__ = ["PhoneBook"]


class PhoneBook:
    """The phones set up (:class:`Phones`), with the control plane's check of their account."""

    def __init__(self, db: Database, phones: Phones) -> None:
        self._db = db
        self._phones = phones

    def set(self, phone: Phone) -> Phone:
        """Set up the phone. Raises :class:`UnknownResource` for an account that does not
        exist, and what :meth:`Phones.set` raises."""
        if accounts.get(self._db.conn, phone.account_sid) is None:
            raise UnknownResource(f"account {phone.account_sid} does not exist")
        return self._phones.set(phone)

    def at(self, account_sid: str, number: str | None) -> Phone | None:
        return self._phones.at(account_sid, number)

    def listed(self, account_sid: str | None = None) -> list[Phone]:
        return self._phones.listed(account_sid)

    def remove(self, account_sid: str | None = None, number: str | None = None) -> int:
        return self._phones.remove(account_sid, number)

    def reset(self, account_sid: str | None = None) -> None:
        self._phones.reset(account_sid)
