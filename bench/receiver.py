"""The StatusCallback receiver the emulator posts to during the load: 204 to every POST.

A raw ASGI app in its own uvicorn process (started by bench/run.py), so that the emulator
really delivers every callback over HTTP, as it would to a test's own receiver. It counts
the POSTs it receives; ``GET /count`` answers that number (bench/run.py waits on it until the
emulator's delivery backlog is drained).
"""

from __future__ import annotations

from typing import Any

from tiny_asgi import lifespan, read_body

received = 0

_NO_CONTENT = {"type": "http.response.start", "status": 204, "headers": []}
_EMPTY = {"type": "http.response.body", "body": b""}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global received
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    await read_body(receive)
    if scope["method"] == "GET" and scope["path"] == "/count":
        body = str(received).encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    received += 1
    await send(_NO_CONTENT)
    await send(_EMPTY)
