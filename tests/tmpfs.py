"""A real small filesystem for tests and benchmarks: an 8 MiB tmpfs in a mount namespace of
its own (``unshare -m``, held by a sleeping process; the emulator joins it with ``nsenter``).

It needs root, as CI has (:func:`unavailable` says why not). The caller fills the disk
through ``/proc/PID/root`` (:func:`fill`), and reads the database with processes of its own
inside the namespace (:func:`query`: SQLite resolves ``/proc/PID/root`` like any symbolic
link, to the path outside the namespace).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from emulator.testing import EmulatorServer

__all__ = [
    "NamespacedServer",
    "Unavailable",
    "fill",
    "in_namespace",
    "query",
    "small_filesystem",
    "unavailable",
    "wal_pinned",
]


class Unavailable(Exception):
    """A tmpfs cannot be mounted in a new mount namespace here."""


def unavailable() -> str | None:
    """Why a small filesystem cannot be made here, or None."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("nsenter"):
        return "needs root, unshare and nsenter (a tmpfs in a mount namespace of its own)"
    return None


@contextlib.contextmanager
def small_filesystem(mountpoint: Path) -> Iterator[int]:
    """An 8 MiB tmpfs on ``mountpoint`` in a new mount namespace, held by a process whose
    pid is yielded (the namespace, and the tmpfs, go away with it)."""
    mountpoint.mkdir()
    holder = subprocess.Popen(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            'mount -t tmpfs -o size=8m tmpfs "$1" && echo mounted && exec sleep 600',
            "sh",
            str(mountpoint),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline() != b"mounted\n":
            raise Unavailable("cannot mount a tmpfs in a new mount namespace here")
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


class NamespacedServer(EmulatorServer):
    """An emulator process inside the mount namespace of ``holder``."""

    def __init__(self, holder: int, *args: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.holder = holder

    def command(self) -> list[str]:
        return ["nsenter", "-t", str(self.holder), "-m", "--", *super().command()]


def fill(directory: Path) -> Path:
    """A file that takes every free byte of ``directory``'s filesystem."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)
    return filler


_QUERY = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
print(json.dumps(conn.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()))
"""

_PIN = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM callbacks").fetchone()
print("pinned", flush=True)
sys.stdin.readline()
conn.rollback()
conn.close()
"""


def in_namespace(holder: int, *command: str) -> list[str]:
    return ["nsenter", "-t", str(holder), "-m", "--", sys.executable, *command]


def query(holder: int, database: Path, sql: str, *args: object) -> list[list[object]]:
    """``sql``'s rows, read by a process inside the namespace."""
    done = subprocess.run(
        in_namespace(holder, "-c", _QUERY, str(database), sql, json.dumps(args)),
        capture_output=True,
        check=True,
        timeout=30,
    )
    rows: list[list[object]] = json.loads(done.stdout)
    return rows


@contextlib.contextmanager
def wal_pinned(holder: int, database: Path) -> Iterator[None]:
    """A reader holding a read transaction open: the WAL cannot start over meanwhile, so
    every commit needs new space in it."""
    reader = subprocess.Popen(
        in_namespace(holder, "-c", _PIN, str(database)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert reader.stdin is not None
    assert reader.stdout is not None
    try:
        assert reader.stdout.readline() == b"pinned\n"
        yield
    finally:
        reader.stdin.write(b"\n")
        reader.stdin.close()
        reader.wait(30)
        reader.stdout.close()
