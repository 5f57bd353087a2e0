"""The ceiling: the least a Python ASGI server can do for one request on this machine.

A raw ASGI app (no framework) that reads the request body and answers every request with 202
and a fixed JSON body of ``BENCH_BODY_BYTES`` bytes (the size of the emulator's answer), run
by bench/run.py as::

    python -m uvicorn ceiling:app --app-dir bench --host 127.0.0.1 --port 0 --loop uvloop \
        --http httptools --no-access-log --log-level info

(port 0: uvicorn binds a free port and logs it, "Uvicorn running on http://127.0.0.1:PORT",
at level info; without an access log nothing more is logged per request).

Nothing the emulator does (authentication, parsing, SQLite, callbacks) happens here, so the
emulator's requests/s divided by this one's says how much of the ceiling it reaches.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tiny_asgi import lifespan, read_body


def _body(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least 12)."""
    size = max(size, 12)
    skeleton = json.dumps({"padding": ""}).encode()
    return json.dumps({"padding": "x" * (size - len(skeleton))}).encode()


BODY = _body(int(os.environ.get("BENCH_BODY_BYTES", "406")))
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]
START = {"type": "http.response.start", "status": 202, "headers": HEADERS}
SEND = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await read_body(receive)
    await send(START)
    await send(SEND)
