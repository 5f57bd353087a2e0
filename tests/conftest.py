"""Shared fixtures: a real emulator process on a free 127.0.0.1 port, with its own SQLite file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

import httpx
import pytest

from emulator.testing import Account, EmulatorServer
from tests.api import PaymentsApi, basic
from tests.contract import problems

__all__ = ["basic"]

DEFAULT_ACCOUNT = "AC" + "a" * 32
DEFAULT_TOKEN = "a" * 32
DEFAULT_KEY = "SK" + "a" * 32
DEFAULT_KEY_SECRET = "a" * 32
DEFAULT_CALL = "CA" + "a" * 32


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """One emulator for the session; tests isolate themselves with an account of their own.

    Its callers are manual: nothing is keyed unless a test keys it (or makes an auto call).
    """
    with EmulatorServer("--caller", "manual") as running:
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    """A fresh account with random credentials."""
    return server.control.create_account()


@pytest.fixture
def make_api() -> Iterator[Callable[..., PaymentsApi]]:
    """Payments clients for (server, account); closed after the test."""
    made: list[PaymentsApi] = []

    def make(server: EmulatorServer, account: Account, *, use_api_key: bool = False) -> PaymentsApi:
        made.append(PaymentsApi(server, account, use_api_key=use_api_key))
        return made[-1]

    yield make
    for api in made:
        api.http.close()


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


# --- the contract: every answer any test received, checked once the session ends -------------

os.environ.setdefault("EMULATOR_JOURNAL_SIZE", "1000000")
_journal: list[dict[str, object]] = []


def _collect_journal(server: EmulatorServer) -> None:
    with contextlib.suppress(httpx.HTTPError):  # a server a test broke on purpose
        _journal.extend(server.control.requests())


EmulatorServer.before_stop.append(_collect_journal)


@pytest.fixture(scope="session", autouse=True)
def contract_of_every_answer() -> Iterator[None]:
    """After the last test: every success and error answer of the session kept the contract."""
    yield
    found = [problem for entry in _journal for problem in problems(entry)]
    assert not found, f"{len(found)} answers broke the contract:\n" + "\n".join(found[:20])
