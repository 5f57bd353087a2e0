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
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator import __version__
from emulator.clock import Clock
from emulator.control.guard import ControlGuard
from emulator.control.middleware import BumpAfterControlWrites
from emulator.control.observe import ObserveRequests
from emulator.control.routes import router as control_router
from emulator.deps import STATE_NAMES
from emulator.domain.hostnames import HostNames, Origins
from emulator.domain.phones import Phones
from emulator.domain.scripts import CallerDefaults, CallerScripts
from emulator.domain.twiml import Pay
from emulator.errors import TwilioError
from emulator.ids import IdGenerator
from emulator.inspector.routes import router as inspector_router
from emulator.outgoing.client import Outgoing
from emulator.outgoing.policy import HostPolicy
from emulator.paths import TWILIO_PREFIX
from emulator.services.accounts import AccountService, read_fixtures
from emulator.services.auth import Authenticator
from emulator.services.call_events import CallEvents
from emulator.services.call_runner import CallRunner
from emulator.services.callback_log import CallbackLog
from emulator.services.caller import Caller, CallerSettings
from emulator.services.calls import CallService
from emulator.services.changes import Changes
from emulator.services.deadlines import Deadlines
from emulator.services.delivery import Delivery, DeliverySettings
from emulator.services.faults import Faults
from emulator.services.idempotency import IdempotentAnswers
from emulator.services.journal import Journal
from emulator.services.listings import Listings
from emulator.services.metrics import Metrics
from emulator.services.pay_events import PayEvents
from emulator.services.pay_verb import PayVerb
from emulator.services.payments import PaymentRequests
from emulator.services.phones import PhoneBook
from emulator.services.reset import Resetter
from emulator.services.sessions import Sessions
from emulator.services.settlement import SettlementService
from emulator.services.streams import Streams
from emulator.services.vault import KeyedSoFar, Vault
from emulator.services.voice_webhook import VoiceWebhook
from emulator.settings import Settings
from emulator.store.db import Database
from emulator.twilio_api.asgi import TwilioApi
from emulator.twilio_api.call_routes import call_routes
from emulator.twilio_api.routes import payment_routes

__all__ = ["Emulator", "EmulatorApp", "create_app"]

PURGE_INTERVAL_S = 60.0

logger = logging.getLogger("emulator")


class Emulator:
    """The running emulator's parts: settings, clock, ids, database and services."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock()
        self.ids = IdGenerator(settings.seed)
        self.faults = Faults(random.Random(settings.seed))
        fixtures = read_fixtures(settings.fixture_paths())
        self.db = Database(settings.database)
        self.journal = Journal(settings.journal_size)
        # Live views (the inspector) hear of every commit and every request recorded.
        self.changes = Changes()
        self.db.add_commit_listener(self.changes.bump)
        self.journal.add_listener(self.changes.bump)
        self.listings = Listings(self.db)
        self.streams = Streams(settings.max_streams)
        self.metrics = Metrics(self.listings.totals)
        self.metrics.watch_streams(self.streams.count)
        self.auth = Authenticator(self.db)
        self.accounts = AccountService(self.db, self.clock, self.ids, fixtures)
        self.accounts.load_fixtures()
        # The one way out: every request the emulator sends.
        self.outgoing = Outgoing(
            HostPolicy.of(
                settings.callback_hosts, settings.tls_names if settings.tls_enabled else ()
            ),
            max_answer_bytes=settings.callback_max_response_bytes,
            host_concurrency=settings.callback_host_concurrency,
        )
        self.callback_log = CallbackLog(self.db, self.clock, self.metrics)
        self.delivery = Delivery(
            self.db,
            self.callback_log,
            self.outgoing,
            DeliverySettings(
                timeout_s=settings.callback_timeout_s,
                retries=settings.callback_retries,
                retry_policy=tuple(settings.callback_retry_policy),
                backoff_ms=settings.callback_retry_backoff_ms,
                base_url=settings.callback_base_url,
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
            {c.sid: c.script for c in fixtures.calls if c.script},
        )
        self.phones = PhoneBook(self.db, Phones(p.phone() for p in fixtures.phones))
        vault, keyed = Vault(), KeyedSoFar()
        pay_events = PayEvents(self.db, self.clock, self.ids, self.delivery)
        self.sessions = Sessions(
            self.db,
            self.ids,
            self.delivery,
            self.callback_log,
            Deadlines(self.clock),
            input_timeout_from=settings.input_timeout_from,
            cancel_result=settings.cancel_result,
            pay_events=pay_events,
        )
        self.caller = Caller(
            self.db,
            self.clock,
            self.sessions,
            self.scripts,
            vault,
            keyed,
            CallerSettings(mode=settings.caller, delay_s=settings.caller_delay_ms / 1000),
        )
        # Calls that run TwiML: their voice webhooks, their runner, the Calls API.
        self.call_events = CallEvents(self.clock, self.ids, self.delivery, self.caller)
        self.call_runner = CallRunner(
            self.db,
            self.clock,
            self.call_events,
            VoiceWebhook(self.outgoing, self.ids, settings.voice_webhook_timeout_s),
            self.delivery,
            self.caller,
            self.scripts,
        )
        self.calls = CallService(
            self.db,
            self.clock,
            self.ids,
            self.call_events,
            self.call_runner,
            self.scripts,
            self.callback_log,
            self.caller,
            self.phones,
        )
        self.settlement = SettlementService(
            self.db, self.clock, self.ids, self.sessions, vault, self.outgoing, self.metrics
        )
        # <Pay> on calls: the same sessions, driven by the verb.
        self.call_runner.handle(
            Pay,
            PayVerb(
                self.db,
                self.clock,
                self.ids,
                self.sessions,
                self.caller,
                self.settlement,
                vault,
                keyed,
                pay_events,
                max_attempts_means=settings.pay_max_attempts_means,
                action_https_only=settings.pay_action_https_only,
            ).run,
        )
        self.payments = PaymentRequests(
            self.db,
            self.ids,
            self.sessions,
            self.caller,
            self.settlement,
            vault,
            keyed,
            strict_calls=settings.strict_calls,
        )
        self.answers = IdempotentAnswers(
            self.db, self.clock, ttl_ms=int(settings.idempotency_ttl_hours * 3600 * 1000)
        )
        self.resetter = Resetter(
            self.accounts,
            self.caller,
            self.call_runner,
            self.delivery,
            self.journal,
            self.scripts,
            self.phones,
            self.faults,
            self.clock,
            self.ids,
            settings.seed,
        )
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Start background work (called once the event loop runs)."""
        self.db.start_checkpointer()
        await self.delivery.start()
        self.caller.resume()
        await self.call_runner.resume()
        await self.settlement.resume()
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
        self.delivery.begin_shutdown(self.settings.shutdown_grace_s)
        self.settlement.begin_shutdown(self.settings.shutdown_grace_s)

    async def stop(self) -> None:
        """The lifespan's shutdown: background work stops, deliveries in flight finish
        (within the grace period begun by ``begin_shutdown``, begun here if it was not),
        then the database closes."""
        self.begin_shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.call_runner.shutdown()
        await self.caller.stop()
        await self.settlement.stop()  # merchants' answers first: their callbacks are queued
        await self.delivery.stop()
        await self.outgoing.aclose()
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
    for name, kind in STATE_NAMES.items():
        service = getattr(emulator, name)
        assert isinstance(service, kind), name
        setattr(control.state, name, service)  # read by emulator.deps
    control.include_router(control_router)
    control.include_router(inspector_router)  # /_emulator/ui/..., and / redirects there
    control.add_middleware(BumpAfterControlWrites, changes=emulator.changes)
    control.add_exception_handler(RequestValidationError, _validation_error_without_values)
    control.add_exception_handler(TwilioError, _twilio_error_as_detail)
    twilio_api = TwilioApi(
        [
            *payment_routes(
                emulator.payments,
                emulator.answers,
                invalid_charge_amount=emulator.settings.invalid_charge_amount,
            ),
            *call_routes(emulator.calls),
        ],
        auth=emulator.auth,
        ids=emulator.ids,
        clock=emulator.clock,
        journal=emulator.journal,
        faults=emulator.faults,
        max_form_fields=emulator.settings.max_form_fields,
        hosts=HostNames(
            [*emulator.settings.tls_names, *emulator.settings.allowed_hosts, socket.gethostname()],
            single_label=True,
        ),
        origins=Origins(emulator.settings.cors_origins),
        metrics=emulator.metrics,
    )
    settings = emulator.settings
    guarded = ControlGuard(
        control, settings.control_token, [*settings.tls_names, *settings.allowed_hosts]
    )
    observed = ObserveRequests(
        guarded, emulator.metrics, templates=lambda: control.openapi()["paths"]
    )
    return EmulatorApp(emulator, twilio_api, observed)
