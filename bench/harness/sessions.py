"""The API the load drives: Pay sessions created before a run, and the data files wrk's Lua
scripts read (one tab-separated record per line; bench/common.lua)."""

from __future__ import annotations

import secrets
import tempfile
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.plan import AC, CAPTURES, SESSIONS, TOKEN


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def payments_path(call_sid: str, payment_sid: str | None = None) -> str:
    base = f"/2010-04-01/Accounts/{AC}/Calls/{call_sid}/Payments"
    return f"{base}/{payment_sid}.json" if payment_sid else f"{base}.json"


@dataclass(frozen=True)
class Session:
    call_sid: str
    payment_sid: str
    callback: str

    @property
    def path(self) -> str:
        return payments_path(self.call_sid, self.payment_sid)


def api_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, auth=(AC, TOKEN), timeout=30)


def create_sessions(base_url: str, callback: str, count: int = SESSIONS) -> list[Session]:
    sessions = []
    with api_client(base_url) as client:
        for _ in range(count):
            call = new_call_sid()
            answer = client.post(
                payments_path(call),
                data={"IdempotencyKey": secrets.token_hex(8), "StatusCallback": callback},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"create answered {answer.status_code}: {answer.text[:300]}")
            sessions.append(Session(call, answer.json()["sid"], callback))
    return sessions


def update_body_size(base_url: str, session: Session) -> int:
    """The size of the emulator's answer to an update (the ceiling answers as many bytes)."""
    with api_client(base_url) as client:
        answer = client.post(
            session.path,
            data={
                "IdempotencyKey": secrets.token_hex(8),
                "Capture": CAPTURES[0],
                "StatusCallback": session.callback,
            },
        )
    if answer.status_code != 202:
        raise RuntimeError(f"update answered {answer.status_code}: {answer.text[:300]}")
    return len(answer.content)


def write_records(path: Path, records: Sequence[Sequence[str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in records))
    return path


def update_records(workdir: Path, sessions: Sequence[Session]) -> Path:
    path = Path(tempfile.mkstemp(prefix="sessions-", suffix=".tsv", dir=workdir)[1])
    return write_records(
        path, [(s.path, urllib.parse.quote(s.callback, safe="")) for s in sessions]
    )
