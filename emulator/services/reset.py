"""Resetting the emulator: everything back to how it started, or one account's activity."""

from __future__ import annotations

import random

from emulator.clock import Clock
from emulator.domain.scripts import CallerScripts
from emulator.ids import IdGenerator
from emulator.services.accounts import AccountService
from emulator.services.call_runner import CallRunner
from emulator.services.caller import Caller
from emulator.services.delivery import Delivery
from emulator.services.faults import Faults
from emulator.services.journal import Journal
from emulator.services.phones import PhoneBook

__all__ = ["Resetter"]


class Resetter:
    def __init__(
        self,
        accounts: AccountService,
        caller: Caller,
        runner: CallRunner,
        delivery: Delivery,
        journal: Journal,
        scripts: CallerScripts,
        phones: PhoneBook,
        faults: Faults,
        clock: Clock,
        ids: IdGenerator,
        seed: int | None,
    ) -> None:
        self._accounts = accounts
        self._caller = caller
        self._runner = runner
        self._delivery = delivery
        self._journal = journal
        self._scripts = scripts
        self._phones = phones
        self._faults = faults
        self._clock = clock
        self._ids = ids
        self._seed = seed

    async def reset(self, account_sid: str | None = None) -> None:
        """Wipe all state and reload the fixtures, or wipe one account's activity.

        Either way the phones set up go back to the fixtures' (the account's, or all). A full
        reset also clears the fault rules, sets the clock back to real time and
        starts the seeded identifier streams afresh: the emulator is as it started. Raises
        :class:`~emulator.services.accounts.UnknownAccount` for an account that does not exist.
        """
        await self._runner.forget(account_sid)  # the calls' TwiML stops before they are wiped
        await self._accounts.wipe(account_sid)
        self._delivery.forget(account_sid)
        self._journal.clear(account_sid)
        self._caller.forget(account_sid)
        self._phones.reset(account_sid)  # None: every account's
        if account_sid is None:
            self._scripts.reset()
            self._faults.clear(random.Random(self._seed))
            self._clock.reset()
            self._ids.reseed(self._seed)
