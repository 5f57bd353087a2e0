"""The control plane's ASGI middleware: the change feed hears of its writes."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.services.changes import Changes

__all__ = ["BumpAfterControlWrites"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class BumpAfterControlWrites:
    """ASGI middleware for the control plane: a bump once a request that may change
    something (any method but GET, HEAD and OPTIONS) has been answered. Rows written by the
    request bump at their commit already; this covers what lives in memory only (fault rules,
    the clock, the journal a reset clears)."""

    def __init__(self, app: ASGIApp, changes: Changes) -> None:
        self.app = app
        self.changes = changes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _READS:
            await self.app(scope, receive, send)
            return

        async def send_and_bump(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.changes.bump()

        await self.app(scope, receive, send_and_bump)
