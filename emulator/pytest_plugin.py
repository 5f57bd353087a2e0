"""The pytest plugin (entry point ``pytest11``): a running emulator and an account per test.

Fixtures:

``payments_emulator`` (session)
    A server with ``base_url`` and ``control`` (a :class:`~emulator.testing.ControlClient`).
    By default a ``payments-emulator`` process on a free 127.0.0.1 port with a fresh SQLite
    file. With ``--payments-emulator-url URL`` (or ``PAYMENTS_EMULATOR_URL``) the tests use
    that running emulator instead (say, the one in your docker-compose). Under pytest-xdist
    every worker shares one server, started by the first worker that needs it and stopped at
    the end of the run.
``emulator_account`` (function)
    A fresh account with random credentials: tests isolate themselves by account, so they
    can share a server, in parallel too.
``twilio_client`` (function)
    A twilio-python ``Client`` for that account (API-key credentials) pointed at the server;
    skipped when the ``twilio`` package is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from emulator.testing import Account, ControlClient, EmulatorServer, ServerFailed

__all__ = ["RunningEmulator"]

URL_OPTION = "--payments-emulator-url"
URL_VARIABLE = "PAYMENTS_EMULATOR_URL"
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
    control: ControlClient = field(init=False)

    def __post_init__(self) -> None:
        self.control = ControlClient(self.base_url)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("payments-emulator")
    group.addoption(
        URL_OPTION,
        default=os.environ.get(URL_VARIABLE),
        metavar="URL",
        help=f"use the emulator running at URL instead of starting one (env {URL_VARIABLE})",
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


def _stop(pid: int) -> None:
    """SIGTERM, and SIGKILL if the server is still there 10 s later."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            time.sleep(0.05)
            os.kill(pid, 0)  # raises once the process is gone
        os.kill(pid, signal.SIGKILL)


def _shared_server(shared: Path) -> _Remote:
    """The run's one server: started by the first worker to get the lock, read by the rest."""
    import fcntl

    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = shared / "server.json"
        if not info.exists():
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            with open(shared / "server.log", "w") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "emulator",
                        "serve",
                        "--port",
                        str(port),
                        "--database",
                        f"sqlite:///{shared / 'emulator.db'}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # it outlives this worker; the controller stops it
                )
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(url, process)
            info.write_text(json.dumps({"url": url, "pid": process.pid}))
        return _Remote(json.loads(info.read_text())["url"])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"the emulator exited with status {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/_emulator/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    process.kill()
    raise ServerFailed("the emulator did not answer its health check")


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def payments_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    """A running emulator for the whole test session (see the module's docstring)."""
    url = request.config.getoption(URL_OPTION)
    if url:
        remote = _Remote(url.rstrip("/"))
        yield remote
        remote.control.close()
        return
    shared = getattr(request.config, "workerinput", {}).get(SHARED_DIR_KEY)
    if shared is not None and sys.platform != "win32":
        remote = _shared_server(Path(shared))
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
    """A twilio-python Client for ``emulator_account``, pointed at the emulator."""
    twilio_rest = pytest.importorskip("twilio.rest")
    client = twilio_rest.Client(
        emulator_account.api_key_sid,
        emulator_account.api_key_secret,
        emulator_account.account_sid,
    )
    client.api.base_url = payments_emulator.base_url
    return client
