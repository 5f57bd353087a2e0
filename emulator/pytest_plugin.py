"""The pytest plugin (entry point ``pytest11``): a running emulator and an account per test.

Fixtures:

``payments_emulator`` (session)
    A server with ``base_url`` and ``control`` (a :class:`~emulator.testing.ControlClient`).
    By default a ``payments-emulator`` process (an :class:`~emulator.testing.EmulatorServer`)
    on a port of 127.0.0.1 it binds itself, with a fresh SQLite file. With
    ``--payments-emulator-url URL`` (or ``PAYMENTS_EMULATOR_URL``) the tests use that running
    emulator instead (say, the one in your docker-compose). Under pytest-xdist every worker
    shares one server, started by the first worker that needs it and stopped at the end of
    the run.
``emulator_account`` (function)
    A fresh account with random credentials: tests isolate themselves by account, so they
    can share a server, in parallel too.
``twilio_client`` (function)
    A twilio-python ``Client`` for that account (API-key credentials) pointed at the server,
    whatever ``TWILIO_REGION`` and ``TWILIO_EDGE`` say (they would rewrite its host); skipped
    when the ``twilio`` package is not installed.

The server's control plane is a :class:`~emulator.testing.ControlClient`:
``payments_emulator.control``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from emulator.testing import Account, ControlClient, EmulatorServer

__all__ = ["RunningEmulator"]

URL_OPTION = "--payments-emulator-url"
URL_VARIABLE = "PAYMENTS_EMULATOR_URL"
TOKEN_OPTION = "--payments-emulator-token"
TOKEN_VARIABLE = "EMULATOR_CONTROL_TOKEN"  # the server's own setting: one variable for both
SHARED_DIR_KEY = "payments_emulator_dir"


class RunningEmulator(Protocol):
    """What the ``payments_emulator`` fixture gives: where the server is, and its control."""

    @property
    def base_url(self) -> str: ...

    @property
    def control(self) -> ControlClient: ...


@dataclass
class _Remote:
    """An emulator this plugin did not start."""

    base_url: str
    token: str | None = None
    control: ControlClient = field(init=False)

    def __post_init__(self) -> None:
        self.control = ControlClient(self.base_url, token=self.token)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("payments-emulator")
    group.addoption(
        URL_OPTION,
        default=os.environ.get(URL_VARIABLE),
        metavar="URL",
        help=f"use the emulator running at URL instead of starting one (env {URL_VARIABLE})",
    )
    group.addoption(
        TOKEN_OPTION,
        default=os.environ.get(TOKEN_VARIABLE),
        metavar="TOKEN",
        help=f"the emulator's control-plane token, if it has one (env {TOKEN_VARIABLE})",
    )


# --- xdist: the controller gives the workers a directory to share one server through -------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    config = node.config
    shared = getattr(config, "_payments_emulator_dir", None)
    if shared is None:
        shared = config._payments_emulator_dir = tempfile.mkdtemp(prefix="payments-emulator-xdist-")
    node.workerinput[SHARED_DIR_KEY] = shared


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = getattr(config, "_payments_emulator_dir", None)
    if shared is None:
        return
    info = Path(shared) / "server.json"
    if info.exists():
        _stop(json.loads(info.read_text())["pid"])
    shutil.rmtree(shared, ignore_errors=True)


def _stop(pid: int) -> None:
    """SIGTERM, and SIGKILL if the server is still there 10 s later."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _ended(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _ended(pid: int) -> bool:
    """Whether the process is gone, or a zombie (ended; its parent, the worker that started
    it, has not reaped it yet, or init does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): only os.kill says
        return False
    return stat[stat.rindex(")") + 2 :].startswith("Z")


def _shared_server(shared: Path, token: str | None) -> _Remote:
    """The run's one server: started by the first worker to get the lock, read by the rest.

    It is an :class:`~emulator.testing.EmulatorServer` in a session of its own, left running
    when the worker closes it: it outlives that worker, and the controller stops it by PID
    (``pytest_unconfigure``). Its database and log are in the shared directory.
    """
    import fcntl

    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = shared / "server.json"
        if not info.exists():
            server = EmulatorServer(
                database=shared / "emulator.db",
                log_file=shared / "server.log",
                startup_timeout=30,
                new_session=True,
                stop_on_close=False,
            )
            server.start()
            info.write_text(json.dumps({"url": server.base_url, "pid": server.pid}))
            server.close()
        return _Remote(json.loads(info.read_text())["url"], token)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def payments_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    """A running emulator for the whole test session (see the module's docstring)."""
    url = request.config.getoption(URL_OPTION)
    token = request.config.getoption(TOKEN_OPTION)
    if url:
        remote = _Remote(url.rstrip("/"), token)
        yield remote
        remote.control.close()
        return
    shared = getattr(request.config, "workerinput", {}).get(SHARED_DIR_KEY)
    if shared is not None and sys.platform != "win32":
        remote = _shared_server(Path(shared), token)
        yield remote
        remote.control.close()
        return
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emulator_account(payments_emulator: RunningEmulator) -> Account:
    """A fresh, isolated account on the emulator."""
    return payments_emulator.control.create_account()


@pytest.fixture
def twilio_client(payments_emulator: RunningEmulator, emulator_account: Account) -> Any:
    """A twilio-python Client for ``emulator_account``, pointed at the emulator.

    It reads nothing from the environment: ``TWILIO_REGION`` and ``TWILIO_EDGE`` would
    rewrite ``127.0.0.1`` into ``127.{edge}.{region}.0.1`` (as they rewrite ``api.twilio.com``
    into ``api.{edge}.{region}.twilio.com``)."""
    twilio_rest = pytest.importorskip("twilio.rest")
    client = twilio_rest.Client(
        emulator_account.api_key_sid,
        emulator_account.api_key_secret,
        emulator_account.account_sid,
        environment={},
    )
    client.edge = client.region = None
    client.api.base_url = payments_emulator.base_url
    return client
