"""Shared fixtures: a real emulator process on a free 127.0.0.1 port, with its own SQLite file."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from emulator.testing import Account, EmulatorServer

DEFAULT_ACCOUNT = "AC" + "a" * 32
DEFAULT_TOKEN = "a" * 32
DEFAULT_KEY = "SK" + "a" * 32
DEFAULT_KEY_SECRET = "a" * 32
DEFAULT_CALL = "CA" + "a" * 32


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    """One emulator for the session; tests isolate themselves with an account of their own."""
    with EmulatorServer() as running:
        yield running


@pytest.fixture
def account(server: EmulatorServer) -> Account:
    """A fresh account with random credentials."""
    return server.control.create_account()


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
