"""``/_emulator/...``: what tests use to drive and inspect the emulator (its own router, as
moto keeps moto-api apart): health, reset, accounts, calls and their callers, phones, sessions,
connectors, callbacks, faults and the request journal, the clock, the change feed, and the
metrics.

One module per concern; this one puts their routers under the control plane's prefix. The
control plane has no authentication unless ``control_token`` is set: it is meant for tests
on a private network (:mod:`emulator.control.guard`). Its errors use FastAPI's usual
``{"detail": ...}`` shape, not Twilio's.
"""

from __future__ import annotations

from fastapi import APIRouter

from emulator.control import (
    accounts,
    callbacks,
    calls,
    clock,
    faults,
    live,
    metrics,
    payments,
    phones,
)
from emulator.paths import CONTROL_PREFIX

__all__ = ["router"]

router = APIRouter(prefix=CONTROL_PREFIX, tags=["control"])
for part in (accounts, calls, phones, payments, callbacks, faults, clock, live, metrics):
    router.include_router(part.router)
