"""What the bench's raw ASGI apps share (the ceiling and the callback receiver): the lifespan
handshake and reading a request's body, with no framework in between."""

from __future__ import annotations

from typing import Any

__all__ = ["lifespan", "read_body"]


async def lifespan(receive: Any, send: Any) -> None:
    """Answer the lifespan protocol's startup and shutdown, until shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Any) -> None:
    """Read (and drop) the request's body, to its end."""
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
