"""Run the emulator from tests: a real server process, and a client for its control plane.

``EmulatorServer`` starts ``python -m emulator serve`` on a free 127.0.0.1 port with its own
SQLite file, waits until it answers, and stops it on exit::

    with EmulatorServer() as server:
        account = server.control.create_account()
        client = twilio.rest.Client(account.api_key_sid, account.api_key_secret, account.account_sid)
        client.api.base_url = server.base_url
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import httpx

__all__ = ["Account", "ControlClient", "EmulatorServer", "ServerFailed"]

_LISTENING = re.compile(r"listening on (http://\S+)")


class ServerFailed(RuntimeError):
    """The emulator process exited or did not answer in time."""


@dataclass(frozen=True)
class Account:
    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    parent_account_sid: str | None = None


class ControlClient:
    """A thin client for ``/_emulator/...``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json()

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json(self.http.get("/_emulator/health"))
        return result

    def reset(self, account_sid: str | None = None) -> None:
        params = {"account_sid": account_sid} if account_sid else None
        self._json(self.http.post("/_emulator/reset", params=params))

    def create_account(self, parent_account_sid: str | None = None) -> Account:
        body = {"parent_account_sid": parent_account_sid} if parent_account_sid else {}
        return Account(**self._json(self.http.post("/_emulator/accounts", json=body)))

    def create_call(
        self,
        account_sid: str,
        caller: str | None = None,
        script: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> str:
        """A new in-progress call (``caller`` ``auto`` or ``manual``); returns its CallSid."""
        body: dict[str, Any] = {"account_sid": account_sid, "script": dict(script or {})}
        if caller is not None:
            body["caller"] = caller
        if url is not None:
            body["url"] = url
        call_sid: str = self._json(self.http.post("/_emulator/calls", json=body))["call_sid"]
        return call_sid

    def key_in(self, payment_sid: str, digits: str, partial: bool = False) -> dict[str, Any]:
        """The caller keys ``digits`` into the item being captured; returns the session view."""
        body = {"digits": digits, "partial": partial}
        view: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/payments/{payment_sid}/input", json=body)
        )
        return view

    def hang_up(self, call_sid: str) -> None:
        self._json(self.http.post(f"/_emulator/calls/{call_sid}/hangup"))

    def payment(self, payment_sid: str) -> dict[str, Any]:
        """The session view: state, capturing, required, captured (masked), result, history."""
        view: dict[str, Any] = self._json(self.http.get(f"/_emulator/payments/{payment_sid}"))
        return view

    def callbacks(
        self,
        payment_sid: str | None = None,
        call_sid: str | None = None,
        account_sid: str | None = None,
        wait_for: int = 0,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """The StatusCallbacks in order; with ``wait_for``, once that many were attempted."""
        params: dict[str, Any] = {
            k: v
            for k, v in {
                "payment_sid": payment_sid,
                "call_sid": call_sid,
                "account_sid": account_sid,
            }.items()
            if v
        }
        if wait_for:
            params |= {"wait_for": wait_for, "timeout": timeout}
        found: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/callbacks", params=params)
        )["callbacks"]
        return found

    def add_fault(self, action: str, **rule: Any) -> dict[str, Any]:
        """A fault rule: ``action`` ``error`` (``status``, ``code``), ``delay`` (``delay_ms``)
        or ``drop``; matching on ``method``, ``path`` (regex), ``account_sid``; for ``times``
        requests or with a ``probability``. Returns the rule with its ``id``."""
        created: dict[str, Any] = self._json(
            self.http.post("/_emulator/faults", json={"action": action, **rule})
        )
        return created

    def faults(self) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = self._json(self.http.get("/_emulator/faults"))["faults"]
        return rules

    def clear_faults(self) -> None:
        self._json(self.http.delete("/_emulator/faults"))

    def set_clock(
        self,
        freeze_at: str | None = None,
        advance_seconds: float | None = None,
        reset: bool = False,
    ) -> dict[str, Any]:
        """Freeze the emulator's clock (ISO 8601 with a zone), move it on, or reset it."""
        body: dict[str, Any] = {"reset": reset}
        if freeze_at is not None:
            body["freeze_at"] = freeze_at
        if advance_seconds is not None:
            body["advance_seconds"] = advance_seconds
        state: dict[str, Any] = self._json(self.http.post("/_emulator/clock", json=body))
        return state

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The request journal, newest last (filters: account_sid, call_sid, payment_sid, status)."""
        result: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/requests", params=filters)
        )["requests"]
        return result


class EmulatorServer:
    """A ``payments-emulator serve`` process on a free port of 127.0.0.1.

    ``EmulatorServer.before_stop`` holds functions called with each running server just
    before it is stopped (a test suite can read the server's journal there, for instance).
    """

    before_stop: ClassVar[list[Callable[[EmulatorServer], None]]] = []

    def __init__(
        self,
        *args: str,
        database: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if database is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="payments-emulator-")
            database = Path(self._tempdir.name) / "emulator.db"
        self.database_url = database if isinstance(database, str) else f"sqlite:///{database}"
        self.args: Sequence[str] = args
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self.base_url = ""
        self._control: ControlClient | None = None
        self._reader: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        command = [
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--database",
            self.database_url,
            *self.args,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.output = []
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        found = threading.Event()
        self._reader = threading.Thread(
            target=self._read_output, args=(self.process, found), daemon=True
        )
        self._reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while not found.wait(0.02):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerFailed("emulator did not start:\n" + "".join(self.output))
        self._wait_healthy(deadline)
        return self

    def _read_output(self, process: subprocess.Popen[str], found: threading.Event) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                self.output.append(line)
                match = _LISTENING.search(line)
                if match and not found.is_set():
                    self.base_url = match.group(1)
                    found.set()

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/_emulator/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise ServerFailed("emulator did not answer its health check:\n" + "".join(self.output))

    def stop(self, kill: bool = False) -> None:
        """Stop the process: gracefully (SIGTERM), or abruptly with ``kill=True`` (SIGKILL)."""
        if self.process is not None and self.process.poll() is None:
            for hook in self.before_stop:
                hook(self)
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.process is None:
            return
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._reader is not None:
            self._reader.join(10)
            self._reader = None
        self.process = None

    def restart(self, kill: bool = False) -> EmulatorServer:
        self.stop(kill=kill)
        return self.start()

    def close(self) -> None:
        self.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- clients ---------------------------------------------------------------------------

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            self._control = ControlClient(self.base_url)
        return self._control

    @property
    def log(self) -> str:
        return "".join(self.output)
