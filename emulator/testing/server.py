"""Run the emulator from tests: a real server process.

``EmulatorServer`` is the one way this project starts an emulator process (its own tests, the
pytest plugin, the benchmark). It runs ``python -m emulator serve --port 0`` on 127.0.0.1 with
its own SQLite file, reads the address the server prints once it has bound its port (so there
is no window between choosing a free port and binding it), waits until it answers, and stops it
on exit::

    with EmulatorServer() as server:
        account = server.control.create_account()
        client = twilio.rest.Client(account.api_key_sid, account.api_key_secret, account.account_sid)
        client.api.base_url = server.base_url
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from emulator.testing.control import ControlClient

__all__ = ["EmulatorServer", "ServerFailed"]

_LISTENING = re.compile(r"listening on (http://\S+)")

# Processes of servers left running on close (``stop_on_close=False``): referenced here so that
# their Popen objects are never collected while the process runs (Popen warns when it is).
_LEFT_RUNNING: list[subprocess.Popen[bytes]] = []


class ServerFailed(RuntimeError):
    """The emulator process exited or did not answer in time."""


class EmulatorServer:
    """A ``payments-emulator serve`` process on a port of 127.0.0.1 that it binds itself.

    ``args`` are extra command-line flags (``"--caller", "manual"``); ``database`` a path or
    SQLAlchemy URL (default: a fresh file in a temporary directory); ``env`` variables added
    to this process's environment. The server's output (stdout and stderr) goes to a log file,
    ``log_file`` or one in the temporary directory; ``start()`` polls it for the address the
    server prints, then polls ``GET /_emulator/health`` until a 200, every ``poll_interval``
    seconds, for at most ``startup_timeout`` seconds. ``log`` is that output (kept after
    ``close()``); ``started_at`` (``time.perf_counter()`` just before the process was
    started) and ``ready_after`` (seconds from then to the first 200) time the start.

    For tools that need more than a test's server:

    ``cwd``
        the process's working directory (default: this process's);
    ``clean_env``
        pass none of this process's ``EMULATOR_*`` variables on, so that only ``args`` and
        ``env`` configure the server;
    ``new_session``
        start the process in a session (and process group) of its own: a Ctrl-C in a terminal,
        or a signal to the starting process's group, does not reach it;
    ``stop_on_close``
        ``False`` leaves the process running on ``close()`` (and its files, in a directory that
        is not removed): whoever holds ``pid`` stops it. The pytest plugin's shared server
        under pytest-xdist outlives the worker that starts it this way.

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
        cwd: str | Path | None = None,
        log_file: str | Path | None = None,
        clean_env: bool = False,
        new_session: bool = False,
        stop_on_close: bool = True,
        poll_interval: float = 0.01,
    ) -> None:
        self.args: Sequence[str] = args
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.cwd = Path(cwd) if cwd is not None else None
        self.clean_env = clean_env
        self.new_session = new_session
        self.stop_on_close = stop_on_close
        self.poll_interval = poll_interval
        # A directory of its own for the files not given; removed on close, unless the server
        # is left running (its files are in use: whoever stops it may remove them).
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        workdir: Path | None = None
        if database is None or log_file is None:
            if stop_on_close:
                self._tempdir = tempfile.TemporaryDirectory(prefix="payments-emulator-")
                workdir = Path(self._tempdir.name)
            else:
                workdir = Path(tempfile.mkdtemp(prefix="payments-emulator-"))
        if database is None:
            assert workdir is not None
            database = workdir / "emulator.db"
        self.database_url = database if isinstance(database, str) else f"sqlite:///{database}"
        if log_file is None:
            assert workdir is not None
            log_file = workdir / "emulator.log"
        self.log_path = Path(log_file)
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.started_at: float | None = None
        self.ready_after: float | None = None
        self._control: ControlClient | None = None
        self._closed_log: str | None = None

    # --- life cycle ------------------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line the process is started with."""
        return [
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

    def start(self) -> EmulatorServer:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not (self.clean_env and name.startswith("EMULATOR_"))
        }
        env = {**inherited, "PYTHONUNBUFFERED": "1", **self.env}
        self.base_url = ""
        self.ready_after = None
        self._closed_log = None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.cwd,
                start_new_session=self.new_session,
            )
        deadline = self.started_at + self.startup_timeout
        try:
            self.base_url = self._wait_address(deadline)
            self._wait_healthy(deadline)
        except ServerFailed:
            self.stop()
            raise
        self.ready_after = time.perf_counter() - self.started_at
        return self

    def _wait_address(self, deadline: float) -> str:
        """The base URL the server printed once listening (read from its log file)."""
        assert self.process is not None
        while True:
            match = _LISTENING.search(self.log)
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"emulator exited with status {self.process.returncode}:\n{self.log}"
                )
            if time.perf_counter() > deadline:
                raise ServerFailed(f"emulator printed no address in time:\n{self.log}")
            time.sleep(self.poll_interval)

    def _wait_healthy(self, deadline: float) -> None:
        assert self.process is not None
        while time.perf_counter() < deadline:
            if _health_status(self.base_url, timeout=1.0) == 200:
                return
            if self.process.poll() is not None:
                break
            time.sleep(self.poll_interval)
        raise ServerFailed(f"emulator did not answer its health check:\n{self.log}")

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
        if self.process in _LEFT_RUNNING:
            _LEFT_RUNNING.remove(self.process)
        self.process = None

    def restart(self, kill: bool = False) -> EmulatorServer:
        self.stop(kill=kill)
        return self.start()

    def close(self) -> None:
        """Stop the server (unless ``stop_on_close`` is false) and remove its temporary files."""
        if self.stop_on_close or self.process is None or self.process.poll() is not None:
            self.stop()
        else:
            if self._control is not None:
                self._control.close()
                self._control = None
            _LEFT_RUNNING.append(self.process)
            return  # its files are in use
        self._closed_log = self.log
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

    # --- what it is ------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The process id of the running server."""
        if self.process is None:
            raise RuntimeError("the emulator is not running")
        return self.process.pid

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            self._control = ControlClient(self.base_url, token=self.control_token)
        return self._control

    @property
    def control_token(self) -> str | None:
        """The control-plane token the server was given (``--control-token`` or
        ``EMULATOR_CONTROL_TOKEN``), which ``control`` sends."""
        args = list(self.args)
        if "--control-token" in args[:-1]:
            return args[args.index("--control-token") + 1]
        if "EMULATOR_CONTROL_TOKEN" in self.env:
            return self.env["EMULATOR_CONTROL_TOKEN"]
        if not self.clean_env:
            return os.environ.get("EMULATOR_CONTROL_TOKEN")
        return None

    @property
    def log(self) -> str:
        """What the server printed (the last process started, also once it stopped)."""
        if self._closed_log is not None:
            return self._closed_log
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def output(self) -> list[str]:
        """``log`` as lines (ends kept)."""
        return self.log.splitlines(keepends=True)


def _health_status(base_url: str, timeout: float) -> int | None:
    """The status of ``GET /_emulator/health``, or None if nothing answered. The standard
    library's client: cheap enough to poll every few milliseconds."""
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path.rstrip("/") + "/_emulator/health")
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
