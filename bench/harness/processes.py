"""The bench's child processes: the emulator, the callback receiver, the ceiling and Prism.

Every child runs on 127.0.0.1 in a session (and process group) of its own, its output in a log
file, and is stopped, by its id, in a ``finally``. None is given a port chosen in advance:
each binds port 0 itself and the bench reads the address it bound from its output (no window
in which another process could take a port between its choice and its use).

- The emulator is started by :class:`emulator.testing.EmulatorServer`, the project's one way
  of starting it (``python -m emulator serve --port 0``; it reads the "listening on" line).
- The ceiling and the receiver run under uvicorn with ``--port 0``; uvicorn logs
  "Uvicorn running on http://127.0.0.1:PORT" once it serves (at log level info, which without
  an access log adds nothing per request).
- Prism (``prism mock SPEC -p 0``) logs "Prism is listening on http://127.0.0.1:PORT" once
  its server listens.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

from emulator.testing import EmulatorServer
from harness.plan import AUTH_HEADER, BENCH, PRISM_BIN, PRISM_DIR, PRISM_VERSION, SPEC, Plan

UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--no-access-log"]
UVICORN_FLAGS += ["--log-level", "info"]  # the line with the port bound; no access log
UVICORN_RUNNING = re.compile(r"Uvicorn running on (http://[^\s\x1b]+)")
PRISM_LISTENING = re.compile(r"Prism is listening on (http://[^\s\x1b]+)")
POLL_S = 0.005  # how often a starting process's log, then its address, is polled


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def http_status(
    url: str, method: str = "GET", body: str | None = None, timeout: float = 1.0
) -> int:
    """One request with the standard library (cheap enough to poll every 5 ms)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        headers = {}
        if body is not None:
            headers = {
                "Authorization": AUTH_HEADER,
                "Content-Type": "application/x-www-form-urlencoded",
            }
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# --- any started process -------------------------------------------------------------------


class Process:
    """A started child: its id, address and figures from /proc (what the bench measures)."""

    name: str
    base_url: str = ""
    started: float = 0.0  # time.perf_counter() when the process was started

    @property
    def pid(self) -> int:
        raise NotImplementedError

    def alive(self) -> bool:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def tail(self, lines: int = 15) -> str:
        raise NotImplementedError

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.name}")

    def cpu_ticks(self) -> int:
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def wait_until_answers(
        self,
        url: str,
        accept: Callable[[int], bool] = lambda status: True,
        timeout: float = 60.0,
        interval: float = POLL_S,
        method: str = "GET",
        body: str | None = None,
    ) -> float:
        """Poll ``url`` until an accepted answer; seconds since the process was started."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                if accept(http_status(url, method, body)):
                    return time.perf_counter() - self.started
            except (OSError, http.client.HTTPException):
                pass
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} did not answer {url} in {timeout:.0f} s")
            time.sleep(interval)

    def wait_idle(self, timeout: float = 120.0) -> float:
        """Wait until the process uses < 10 % of a core over two 0.3 s windows; seconds waited."""
        start = time.perf_counter()
        tick = os.sysconf("SC_CLK_TCK")
        quiet = 0
        last = self.cpu_ticks()
        while time.perf_counter() - start < timeout and quiet < 2:
            time.sleep(0.3)
            now = self.cpu_ticks()
            quiet = quiet + 1 if (now - last) / tick < 0.03 else 0
            last = now
        return time.perf_counter() - start


class Child(Process):
    """A child process in its own process group; its output goes to a log file."""

    def __init__(
        self, name: str, argv: Sequence[str], cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("wb")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._log.close()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_for_address(self, printed: re.Pattern[str], timeout: float = 60.0) -> str:
        """The base URL the process printed once listening (``printed``'s first group), read
        from its log every 5 ms; it becomes ``base_url``."""
        deadline = time.perf_counter() + timeout
        while True:
            with contextlib.suppress(OSError):
                match = printed.search(self.log_path.read_text(errors="replace"))
                if match:
                    self.base_url = match.group(1).rstrip("/")
                    return self.base_url
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{self.name} printed no address in {timeout:.0f} s")
            time.sleep(POLL_S)


class Emulator(Process):
    """``python -m emulator serve --port 0`` in a fresh working directory, as a user starts
    it, through :class:`emulator.testing.EmulatorServer`: default settings but ``--caller``
    and ``--log-level warning``, none of the bench's own ``EMULATOR_*`` variables, the SQLite
    file ``payments-emulator.db`` in that directory."""

    def __init__(self, name: str, workdir: Path, caller: str, log: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.server = EmulatorServer(
            "--caller",
            caller,
            "--log-level",
            "warning",
            database=workdir / "payments-emulator.db",
            cwd=workdir,
            log_file=log,
            clean_env=True,
            new_session=True,
            startup_timeout=60,
            poll_interval=POLL_S,
        )

    def start(self) -> Emulator:
        """Start it and wait for its first 200 on ``GET /_emulator/health``."""
        try:
            self.server.start()
        finally:
            self.started = self.server.started_at or 0.0
        self.base_url = self.server.base_url
        return self

    @property
    def health_after(self) -> float:
        """Seconds from the process's start to its first 200 on ``GET /_emulator/health``."""
        assert self.server.ready_after is not None
        return self.server.ready_after

    @property
    def pid(self) -> int:
        return self.server.pid

    def alive(self) -> bool:
        process = self.server.process
        return process is not None and process.poll() is None

    def stop(self) -> None:
        self.server.close()

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.server.log.splitlines()[-lines:])


# --- the set of children -------------------------------------------------------------------


class Children:
    """Every child started, stopped in reverse order at the end (or on any failure); the
    receiver, started first, lives for the whole run."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: list[Process] = []
        self.receiver: Process | None = None

    def _log(self, name: str) -> Path:
        return Path(
            tempfile.mkstemp(prefix=f"{name.split()[0]}-", suffix=".log", dir=self.workdir)[1]
        )

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        child = Child(name, argv, cwd or self.workdir, env or dict(os.environ), self._log(name))
        self.running.append(child)
        return child

    def start_emulator(self, caller: str = "manual", label: str = "emulator") -> Emulator:
        """An emulator in a fresh working directory; returns once it answers its health check."""
        workdir = Path(tempfile.mkdtemp(prefix="emulator-", dir=self.workdir))
        emulator = Emulator(label, workdir, caller, self._log(label))
        self.running.append(emulator)  # before it starts: stopped whatever happens
        return emulator.start()

    def stop(self, child: Process) -> None:
        child.stop()
        if child in self.running:
            self.running.remove(child)

    def stop_all(self) -> None:
        while self.running:
            self.stop(self.running[-1])

    def stop_all_but_receiver(self) -> None:
        for child in list(reversed(self.running)):
            if child is not self.receiver:
                self.stop(child)

    @contextlib.contextmanager
    def scoped(self, child: Process) -> Iterator[Process]:
        try:
            yield child
        finally:
            self.stop(child)


# --- the other targets ---------------------------------------------------------------------


def uvicorn_argv(app: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        *UVICORN_FLAGS,
    ]


def start_ceiling(children: Children, body_bytes: int) -> tuple[Child, float]:
    """The ceiling app; with the seconds from process start to its first answer."""
    env = dict(os.environ) | {"BENCH_BODY_BYTES": str(body_bytes), "PYTHONUNBUFFERED": "1"}
    child = children.start("ceiling", uvicorn_argv("ceiling:app"), env=env)
    child.wait_for_address(UVICORN_RUNNING, timeout=30)
    first = child.wait_until_answers(child.base_url + "/", timeout=30)
    return child, first


def start_receiver(children: Children) -> Child:
    env = dict(os.environ) | {"PYTHONUNBUFFERED": "1"}
    child = children.start("receiver", uvicorn_argv("receiver:app"), env=env)
    child.wait_for_address(UVICORN_RUNNING, timeout=30)
    child.wait_until_answers(child.base_url + "/count", lambda s: s == 200, timeout=30)
    return child


def start_prism(children: Children) -> tuple[Child, float]:
    """Prism mocking Twilio's spec; with the seconds from process start to its first answer."""
    argv = [str(PRISM_BIN), "mock", str(SPEC), "-h", "127.0.0.1", "-p", "0"]
    child = children.start("prism", argv)
    child.wait_for_address(PRISM_LISTENING, timeout=90)
    first = child.wait_until_answers(child.base_url + "/", timeout=90)
    return child, first


def receiver_count(base_url: str) -> int:
    with httpx.Client(timeout=5) as client:
        return int(client.get(base_url + "/count").text)


def ensure_prism(plan: Plan) -> str | None:
    """Install Prism once into bench/.prism; the reason it is skipped, or None."""
    if not plan.prism:
        return "--no-prism given"
    if not SPEC.is_file():
        return f"Twilio's spec not found at {SPEC}"
    installed = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    with contextlib.suppress(OSError, ValueError):
        if PRISM_BIN.exists() and json.loads(installed.read_text())["version"] == PRISM_VERSION:
            return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "node/npm not found"
    say(f"installing @stoplight/prism-cli@{PRISM_VERSION} into {PRISM_DIR} ...")
    try:
        done = subprocess.run(
            [npm, "install", "--prefix", str(PRISM_DIR), f"@stoplight/prism-cli@{PRISM_VERSION}"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"npm install failed: {exc}"
    if done.returncode != 0 or not PRISM_BIN.exists():
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return "npm install failed: " + " / ".join(last)
    return None
