"""Assembly: the emulator's parts, and the ASGI app that serves them.

``create_app(settings)`` opens the database, loads the fixtures and wires the services; any
configuration problem raises :class:`~emulator.errors.ConfigError` right there, before a
socket is opened. The returned ASGI app sends ``/2010-04-01/...`` to the Twilio edge (plain
ASGI, the hot path) and everything else to FastAPI (the control plane under ``/_emulator``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import __version__
from emulator.accounts import AccountService
from emulator.callbacks.outbox import Outbox, OutboxSettings
from emulator.changes import BumpAfterControlWrites, Changes
from emulator.clock import Clock
from emulator.control.guard import ControlGuard
from emulator.control.routes import router as control_router
from emulator.errors import TwilioError
from emulator.faults import Faults
from emulator.ids import IdGenerator
from emulator.inspector.routes import router as inspector_router
from emulator.journal import Journal
from emulator.payments.caller import CallerDefaults, CallerScripts
from emulator.payments.service import PaymentService, ServiceSettings
from emulator.reset import Resetter
from emulator.settings import Settings
from emulator.store.db import Database
from emulator.store.fixtures import load_fixtures
from emulator.store.listings import Listings
from emulator.twilio_api.asgi import TwilioApi
from emulator.twilio_api.idempotency import IdempotentAnswers
from emulator.twilio_api.routes import payment_routes

__all__ = ["Emulator", "EmulatorApp", "create_app"]

TWILIO_PREFIX = "/2010-04-01"
PURGE_INTERVAL_S = 60.0

logger = logging.getLogger("emulator")


class Emulator:
    """The running emulator's parts: settings, clock, ids, database and services."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.ids = IdGenerator(settings.seed)
        self.faults = Faults(random.Random(settings.seed))
        fixtures = load_fixtures(settings.fixture_paths())
        self.db = Database(settings.database)
        self.journal = Journal(settings.journal_size)
        # Live views (the inspector) hear of every commit and every request recorded.
        self.changes = Changes()
        self.db.add_commit_listener(self.changes.bump)
        self.journal.add_listener(self.changes.bump)
        self.listings = Listings(self.db)
        self.accounts = AccountService(self.db, self.clock, self.ids, fixtures)
        self.accounts.load_fixtures()
        self.outbox = Outbox(
            self.db,
            self.clock,
            OutboxSettings(
                timeout_s=settings.callback_timeout_s,
                retries=settings.callback_retries,
                backoff_ms=settings.callback_retry_backoff_ms,
                base_url=settings.callback_base_url,
                hosts=tuple(settings.callback_hosts),
                host_concurrency=settings.callback_host_concurrency,
                max_response_bytes=settings.callback_max_response_bytes,
                shutdown_grace_s=settings.shutdown_grace_s,
            ),
        )
        defaults = CallerDefaults(
            card_number=settings.caller_card_number,
            expiration_date=settings.caller_expiration_date,
            security_code=settings.caller_security_code,
            postal_code=settings.caller_postal_code,
            routing_number=settings.caller_routing_number,
            account_number=settings.caller_account_number,
        )
        self.scripts = CallerScripts(
            defaults,
            {c.sid: {str(k): v for k, v in c.script.items()} for c in fixtures.calls if c.script},
        )
        self.payments = PaymentService(
            self.db,
            self.clock,
            self.ids,
            self.outbox,
            self.scripts,
            ServiceSettings(
                strict_calls=settings.strict_calls,
                caller=settings.caller,
                caller_delay_s=settings.caller_delay_ms / 1000,
            ),
        )
        self.answers = IdempotentAnswers(
            self.db, self.clock, ttl_ms=int(settings.idempotency_ttl_hours * 3600 * 1000)
        )
        self.resetter = Resetter(
            self.accounts,
            self.payments,
            self.outbox,
            self.journal,
            self.scripts,
            self.faults,
            self.clock,
            self.ids,
            settings.seed,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start background work (called once the event loop runs)."""
        self.db.start_checkpointer()
        await self.outbox.start()
        await self.payments.resume()
        self._tasks = [asyncio.create_task(self._purge_expired_keys(), name="purge-keys")]
        # What start-up built (FastAPI's and pydantic's object graphs) lives as long
        # as the process: keep it out of the collector's full passes, which would otherwise
        # walk it every few thousand requests and stall the loop for tens of milliseconds.
        gc.collect()
        gc.freeze()

    def begin_shutdown(self) -> None:
        """SIGTERM or SIGINT arrived (called by the server's signal handler, before uvicorn
        waits for the requests in progress): long-polls (``wait_for``) answer at once, no new
        callback delivery starts (pending ones stay pending for the next start), and the
        deliveries in flight get ``shutdown_grace_s`` from now to finish and be recorded,
        which ``stop`` waits for. Safe to call more than once."""
        self.changes.close()  # open event streams end: the shutdown does not wait for them
        self.outbox.begin_shutdown(self.settings.shutdown_grace_s)

    async def stop(self) -> None:
        """The lifespan's shutdown: background work stops, deliveries in flight finish
        (within the grace period begun by ``begin_shutdown``, begun here if it was not),
        then the database closes."""
        self.begin_shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.payments.stop()
        await self.outbox.stop()
        self.db.close()

    async def _purge_expired_keys(self) -> None:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_S)
            try:
                await self.answers.purge_expired()
            except Exception:
                logger.exception("purging expired idempotency records failed")


class EmulatorApp:
    """The ASGI entry point: Twilio paths to the Twilio edge, the rest to FastAPI."""

    def __init__(self, emulator: Emulator, twilio_api: TwilioApi, control: ASGIApp) -> None:
        self.emulator = emulator
        self.twilio_api = twilio_api
        self.control = control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(TWILIO_PREFIX):
            await self.twilio_api(scope, receive, send)
        else:
            await self.control(scope, receive, send)


async def _validation_error_without_values(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 body, minus the submitted values: a control-plane request may carry
    card digits (a caller script, keyed input), which must never be echoed back."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key in ("type", "loc", "msg")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _twilio_error_as_detail(request: Request, exc: Exception) -> JSONResponse:
    """A Twilio error raised under the control plane (the database is full: 503) keeps its
    status, in the control plane's ``{"detail": ...}`` shape."""
    assert isinstance(exc, TwilioError)
    return JSONResponse({"detail": exc.text}, status_code=exc.status)


def create_app(settings: Settings | None = None) -> EmulatorApp:
    emulator = Emulator(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await emulator.start()
        try:
            yield
        finally:
            await emulator.stop()

    control = FastAPI(
        title="twilio-payments-emulator control plane",
        version=__version__,
        lifespan=lifespan,
    )
    for name, service in {
        "accounts": emulator.accounts,
        "payments": emulator.payments,
        "outbox": emulator.outbox,
        "journal": emulator.journal,
        "faults": emulator.faults,
        "clock": emulator.clock,
        "resetter": emulator.resetter,
        "changes": emulator.changes,
        "listings": emulator.listings,
    }.items():
        setattr(control.state, name, service)  # read by emulator.control.deps
    control.include_router(control_router)
    control.include_router(inspector_router)  # /_emulator/ui/..., and / redirects there
    control.add_middleware(BumpAfterControlWrites, changes=emulator.changes)
    control.add_exception_handler(RequestValidationError, _validation_error_without_values)
    control.add_exception_handler(TwilioError, _twilio_error_as_detail)
    twilio_api = TwilioApi(
        payment_routes(emulator.payments, emulator.answers),
        db=emulator.db,
        ids=emulator.ids,
        clock=emulator.clock,
        journal=emulator.journal,
        faults=emulator.faults,
        max_form_fields=emulator.settings.max_form_fields,
    )
    settings = emulator.settings
    guarded = ControlGuard(
        control, settings.control_token, [*settings.tls_names, *settings.allowed_hosts]
    )
    return EmulatorApp(emulator, twilio_api, guarded)
