"""Starting the server: the listening sockets, TLS files, the open-files limit, uvicorn's
``Server`` and the signals, logging, the event loop.

``run(settings)`` checks the installed uvicorn (``emulator.server.compat``), builds the app
(configuration errors surface here, before any socket is opened), binds the listening sockets
itself (so that a busy port is a clear message), prints the addresses it listens on and serves
until stopped: plain HTTP, and HTTPS too when TLS is on, with certificates of its own local CA
if none are given (``emulator.certs``).

Both servers use one protocol class, :class:`~emulator.server.protocol.EmulatorHttpProtocol`,
bound to the HTTP limits of the settings (sizes, timeouts, and one connection cap for the
two together).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import inspect
import logging
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from emulator import __version__
from emulator.app import create_app
from emulator.errors import ConfigError
from emulator.logs import announce, log_config
from emulator.paths import INSPECTOR_PREFIX
from emulator.server import compat
from emulator.server.limits import HttpLimits
from emulator.settings import DEFAULT_TLS_PORT, Settings, local_url

if TYPE_CHECKING:
    from emulator.server.protocol import EmulatorHttpProtocol

__all__ = ["listen", "raise_open_file_limit", "run"]

logger = logging.getLogger("emulator")

OPEN_FILES_WANTED = 1 << 20
"""The soft limit of open files asked for at start-up (at most the hard limit)."""


def run(settings: Settings) -> int:
    """Serve until SIGINT or SIGTERM: HTTP on ``port``, and HTTPS on ``tls_port`` when TLS
    is on, both from this one process and this one app (one state)."""
    warning = compat.check()  # first: a uvicorn without the protocol's hooks is refused
    if warning is not None:
        print(f"payments-emulator: warning: {warning}", file=sys.stderr, flush=True)
    # Imported once uvicorn is known to have what it subclasses.
    from emulator.server.protocol import EmulatorHttpProtocol

    app = create_app(settings)
    tls = _tls_files(settings) if settings.tls_enabled else None
    raise_open_file_limit()
    protocol = EmulatorHttpProtocol.configured(
        HttpLimits.from_settings(settings, request_id=app.emulator.ids.request_id)
    )
    app.emulator.metrics.watch_connections(protocol.limiter.__len__)
    sock = listen(settings.host, settings.port)
    tls_sock = None
    if tls is not None:
        tls_port = settings.tls_port if settings.tls_port is not None else DEFAULT_TLS_PORT
        tls_sock = listen(settings.host, tls_port)
    options: dict[str, Any] = {
        "log_level": settings.log_level,
        "access_log": settings.log_level in ("debug", "trace"),
        "log_config": log_config(settings.log_level, settings.log_format),
        "http": protocol,
        "ws": "none",  # no WebSocket: an upgrade request is answered as any other
        # uvicorn types these two as int, and uses them as the float seconds they are.
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "server_header": False,
        "date_header": False,
        # No proxy stands in front of a test emulator: X-Forwarded-* are not read (uvicorn's
        # middleware for them would wrap every request for nothing).
        "proxy_headers": False,
    }
    servers = [_Server(uvicorn.Config(app, lifespan="on", **options), protocol, settings)]
    sockets = [sock]
    # Printed whatever the log level: tools (emulator.testing among them) read the port here.
    address = local_url(*sock.getsockname()[:2])
    fmt = settings.log_format
    announce(
        fmt,
        f"payments-emulator {__version__} listening on {address} (database {settings.database})",
        event="listening",
        url=address,
    )
    announce(fmt, f"payments-emulator inspector: {address}{INSPECTOR_PREFIX}/", event="inspector")
    if tls is not None and tls_sock is not None:
        cert, key, ca = tls
        config = uvicorn.Config(
            app, lifespan="off", ssl_certfile=str(cert), ssl_keyfile=str(key), **options
        )
        servers.append(_Server(config, protocol, settings))
        sockets.append(tls_sock)
        host, port = tls_sock.getsockname()[:2]
        tls_address = local_url(host, port).replace("http:", "https:")
        announce(
            fmt,
            f"payments-emulator HTTPS on {tls_address}"
            + (f" (CA certificate: {ca})" if ca else ""),
            event="listening",
            url=tls_address,
        )
    # Nothing the emulator sends may reach where it listens (a StatusCallback at its own
    # control plane would run it): the one way out learns the listening addresses.
    app.emulator.outgoing.serving([sock.getsockname()[:2] for sock in sockets])
    # Requests allocate many short-lived objects and almost no cycles: collect the young
    # generation less often, and the old ones rarely (p99 latency under load: 63 -> 20 ms).
    gc.set_threshold(100_000, 50, 100)
    _run_loop(_serve(app, servers, sockets))
    return 0 if servers[0].started else 1


def raise_open_file_limit(wanted: int = OPEN_FILES_WANTED) -> None:
    """Raise the soft limit of open files towards the hard one, so that connections beyond
    the usual 1024 are refused by ``max_connections`` (which closes idle ones to make room)
    rather than by the system (which fails new clients); the cap, not this, bounds memory."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:  # pragma: no cover - e.g. macOS's OPEN_MAX
            logger.debug("could not raise the open-files limit to %d: %s", target, exc)


class _Server(uvicorn.Server):
    """uvicorn's server, with signals handled once for all servers by :func:`_serve`, and a
    TLS handshake timeout."""

    def __init__(
        self, config: uvicorn.Config, protocol: type[EmulatorHttpProtocol], settings: Settings
    ) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self.protocol = protocol
        self.handshake_timeout = settings.header_timeout_s

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None or self.config.ssl is None:
            await super().startup(sockets=sockets)
        else:
            # uvicorn leaves the TLS handshake timeout at the loop's 60 s, during which a
            # connection that never completes its handshake is not yet the protocol's (so
            # neither timed out nor counted): the handshake gets the header timeout instead.
            await super().startup(sockets=[])  # the lifespan, and uvicorn's state
            make_protocol = functools.partial(
                self.protocol,
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
            )
            loop = asyncio.get_running_loop()
            for sock in sockets:
                server = await loop.create_server(
                    make_protocol,
                    sock=sock,
                    ssl=self.config.ssl,
                    backlog=self.config.backlog,
                    ssl_handshake_timeout=self.handshake_timeout,
                )
                self.servers.append(server)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(app: object, servers: list[_Server], sockets: list[socket.socket]) -> None:
    """Start the first server (it runs the app's lifespan), then the others; stop them all
    on SIGINT or SIGTERM (telling the app first, when it has a way to be told)."""
    loop = asyncio.get_running_loop()
    pending: set[asyncio.Future[Any]] = set()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    def on_signal() -> None:
        begin_shutdown = getattr(getattr(app, "emulator", None), "begin_shutdown", None)
        try:
            if callable(begin_shutdown):
                result = begin_shutdown()
                if inspect.isawaitable(result):
                    future = asyncio.ensure_future(result)
                    pending.add(future)
                    future.add_done_callback(pending.discard)
        except Exception:
            logger.exception("begin_shutdown failed")
        finally:
            stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    first = asyncio.create_task(servers[0].serve(sockets=[sockets[0]]))
    ready = asyncio.create_task(servers[0].ready.wait())
    await asyncio.wait([first, ready], return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    others = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, sock in zip(servers[1:], sockets[1:], strict=True)
    ]
    await first
    stop()
    await asyncio.gather(*others)


def _run_loop(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for every platform
        asyncio.run(main)
        return
    uvloop.run(main)


def _tls_files(settings: Settings) -> tuple[Path, Path, Path | None]:
    """The certificate and key to serve HTTPS with, generated on first use when none are
    given; and the CA certificate clients must trust, when it is ours."""
    if settings.tls_cert is not None or settings.tls_key is not None:
        if settings.tls_cert is None or settings.tls_key is None:
            raise ConfigError("--tls-cert and --tls-key go together")
        for path in (settings.tls_cert, settings.tls_key):
            if not Path(path).is_file():
                raise ConfigError(f"cannot read TLS file {path!r}")
        return Path(settings.tls_cert), Path(settings.tls_key), None
    from emulator.certs import certificate_files, write_certificates  # cryptography: 8 MB

    files = certificate_files(Path(settings.tls_dir))
    if not files.exist():
        write_certificates(Path(settings.tls_dir), settings.tls_names)
    return files.server_cert, files.server_key, files.ca_cert.resolve()


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so that a busy port is a clear message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (
            "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        )
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
