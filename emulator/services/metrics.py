"""The emulator's metrics, for ``GET /_emulator/metrics`` in Prometheus's text format.

Counted as things happen: requests answered (by route, method, status and Twilio error code),
callback delivery attempts (by outcome) and their latency, Generic Pay Connector requests and
their latency, open event streams and long-polls. Read when scraped: sessions and callbacks by
state (from the database, through :class:`~emulator.services.listings.Listings`), and open
connections (from the HTTP layer, which registers a function with :meth:`watch_connections`
once it serves).

Every metric is in a registry of the emulator's own (not the process-wide default one), named
``payments_emulator_...``. Labels are bounded: a route is a template
(``/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}/Payments.json``), never a path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from emulator.domain.machine import State
from emulator.domain.summaries import Totals

__all__ = ["CONTENT_TYPE", "STREAM_KINDS", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The media type of :meth:`Metrics.exposition` (Prometheus's text format)."""

PREFIX = "payments_emulator"
STREAM_KINDS = ("events", "long_poll")
"""``events``: server-sent event streams (``GET /_emulator/events``); ``long_poll``:
``GET /_emulator/callbacks?wait_for=N`` waiting."""
CALLBACK_STATES = ("pending", "delivered", "failed")
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)

# No ``..._created`` series beside every counter: noise for a test tool's scrapes.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The emulator's counters, histograms and gauges (see the module's docstring).

    ``totals`` reads how many sessions and callbacks are in each state (called at each
    scrape)."""

    def __init__(self, totals: Callable[[], Totals]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._requests = Counter(
            f"{PREFIX}_requests",
            "Requests answered: the Twilio API's and the control plane's, by route, method, "
            "HTTP status and Twilio error code (empty when none).",
            ["route", "method", "status", "code"],
            registry=registry,
        )
        self._attempts = Counter(
            f"{PREFIX}_callback_attempts",
            "StatusCallback delivery attempts, by outcome (delivered: a 2xx answer; failed; "
            "retrying: failed, and another attempt follows).",
            ["outcome"],
            registry=registry,
        )
        self._delivery_seconds = Histogram(
            f"{PREFIX}_callback_delivery_seconds",
            "How long one StatusCallback delivery attempt took (look-up, connect, send, answer).",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._connector_seconds = Histogram(
            f"{PREFIX}_connector_request_seconds",
            "How long one request to a Generic Pay Connector's endpoint took.",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._streams = Gauge(
            f"{PREFIX}_open_streams",
            "Control-plane requests held open: server-sent event streams (events) and "
            "callback long-polls (long_poll).",
            ["kind"],
            registry=registry,
        )
        self._open_streams: Callable[[str], int] | None = None
        # the counter of each (route, method, status, code) seen: bounded by the routes, the
        # methods and the codes the emulator answers with
        self._request_counters: dict[tuple[str, str, int, int | None], Any] = {}
        for kind in STREAM_KINDS:
            self._streams.labels(kind).set_function(partial(self._streams_of, kind))
        self._connections: Callable[[], int] | None = None
        connections = Gauge(
            f"{PREFIX}_open_connections",
            "HTTP and HTTPS connections open (0 when not served by the emulator's HTTP layer).",
            registry=registry,
        )
        connections.set_function(lambda: float(self._connections() if self._connections else 0))
        registry.register(_States(totals))

    # --- what happens ----------------------------------------------------------------------

    def request(self, route: str, method: str, status: int, code: int | None) -> None:
        """A request was answered (``status`` 0: its connection was dropped)."""
        key = (route, method, status, code)
        child = self._request_counters.get(key)
        if child is None:  # labels() takes a lock and builds its key: once per kind of answer
            labels = (route, method, str(status), "" if code is None else str(code))
            child = self._request_counters[key] = self._requests.labels(*labels)
        child.inc()

    def callback_attempt(self, outcome: str, duration_s: float) -> None:
        """A delivery attempt ended: ``delivered``, ``failed`` or ``retrying``."""
        self._attempts.labels(outcome).inc()
        self._delivery_seconds.observe(duration_s)

    def connector_request(self, duration_s: float) -> None:
        """A request to a Generic Pay Connector's endpoint ended (answered or not)."""
        self._connector_seconds.observe(duration_s)

    def watch_streams(self, count: Callable[[str], int]) -> None:
        """Where the number of open streams of a kind is read at each scrape (the streams
        service, :mod:`emulator.services.streams`)."""
        self._open_streams = count

    def _streams_of(self, kind: str) -> float:
        return float(self._open_streams(kind)) if self._open_streams else 0.0

    def watch_connections(self, count: Callable[[], int]) -> None:
        """Where the number of open connections is read at each scrape (the HTTP layer)."""
        self._connections = count

    # --- reading -----------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every metric, in Prometheus's text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)


class _States(Collector):
    """Sessions and callbacks by state, read from the database at each scrape."""

    def __init__(self, totals: Callable[[], Totals]) -> None:
        self._totals = totals

    def describe(self) -> Iterable[Metric]:
        return []  # not known before a scrape: the collector is not asked at registration

    def collect(self) -> Iterable[Metric]:
        totals = self._totals()
        sessions = GaugeMetricFamily(
            f"{PREFIX}_sessions", "Payment sessions, by state.", labels=["state"]
        )
        for state in State:
            sessions.add_metric([state.value], totals.sessions.get(state.value, 0))
        callbacks = GaugeMetricFamily(
            f"{PREFIX}_callbacks",
            "StatusCallbacks, by delivery state (pending: not yet attempted, or to be retried).",
            labels=["state"],
        )
        for delivery_state in CALLBACK_STATES:
            callbacks.add_metric([delivery_state], totals.callbacks.get(delivery_state, 0))
        yield sessions
        yield callbacks
