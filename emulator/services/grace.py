"""Stopping gracefully: work in flight gets until a deadline to finish, the rest is cancelled."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

__all__ = ["finish_within"]

logger = logging.getLogger("emulator")


async def finish_within(tasks: Iterable[asyncio.Task[None]], deadline: float, late: str) -> None:
    """Let ``tasks`` finish until ``deadline`` (``time.monotonic()``); cancel the ones still
    running then, wait for them to end, and log ``late`` (a %-format taking their count)."""
    running = {task for task in tasks if not task.done()}
    if running:
        _, running = await asyncio.wait(running, timeout=max(deadline - time.monotonic(), 0))
    if running:
        logger.warning(late, len(running))
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
