"""The control plane's requests, observed: counted in the metrics and written to the access
log (at debug), the inspector's pages and the guard's refusals included."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emulator.paths import CONTROL_PREFIX
from emulator.services.metrics import Metrics

__all__ = ["ObserveRequests"]

access_logger = logging.getLogger("emulator.access")

OTHER_ROUTE = "other"
"""The route label of a request that matched no route (a refusal, an unknown path)."""
INSPECTOR_ROUTE = CONTROL_PREFIX + "/ui"
"""The route label of every inspector page and file."""


class ObserveRequests:
    """ASGI middleware: each HTTP request's route template, method, status and duration,
    once its answer has been sent.

    ``templates`` gives the control plane's path templates (``/_emulator/payments/{payment_sid}``),
    read at the first request: a request is labelled with the template its path matches, the
    inspector's with :data:`INSPECTOR_ROUTE`, anything else with :data:`OTHER_ROUTE` (so that
    no client can make labels without end)."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, templates: Callable[[], Iterable[str]]
    ) -> None:
        self.app = app
        self.metrics = metrics
        self._templates = templates
        self._patterns: list[tuple[re.Pattern[str], str]] | None = None

    def route_of(self, path: str) -> str:
        """The label of a request for ``path``."""
        if self._patterns is None:
            self._patterns = [(_pattern(t), t) for t in self._templates()]
        for pattern, template in self._patterns:
            if pattern.fullmatch(path):
                return template
        if path == INSPECTOR_ROUTE or path.startswith(INSPECTOR_ROUTE + "/"):
            return INSPECTOR_ROUTE
        return OTHER_ROUTE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # no answer: the connection was closed first

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = self.route_of(scope["path"]) if status not in (404, 405) else OTHER_ROUTE
            self.metrics.request(route, scope["method"], status, None)
            if access_logger.isEnabledFor(logging.DEBUG):
                path: str = scope["path"]
                access_logger.debug(
                    "%s %s %d",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "event": "request",
                        "method": scope["method"],
                        "path": path[:512],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    },
                )


def _pattern(template: str) -> re.Pattern[str]:
    """``/_emulator/payments/{payment_sid}`` -> a pattern matching its paths."""
    parts = re.split(r"\{[^}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))
