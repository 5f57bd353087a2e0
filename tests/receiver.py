"""A StatusCallback receiver of the test's own: a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Received:
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic()

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode(), keep_blank_values=True)


class Receiver:
    """Records every POST; answers ``status`` (with ``body``) after ``delay_s``. With
    ``challenge``, a POST without an ``Authorization`` header is answered 401 with that
    ``WWW-Authenticate`` value instead (and recorded all the same)."""

    def __init__(
        self,
        status: int = 204,
        delay_s: float = 0.0,
        body: bytes = b"",
        challenge: str | None = None,
    ) -> None:
        self.status = status
        self.delay_s = delay_s
        self.body = body
        self.challenge = challenge
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._arrived:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), body, time.monotonic())
                    )
                    receiver._arrived.notify_all()
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                if receiver.challenge is not None and "Authorization" not in self.headers:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", receiver.challenge)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(receiver.status)
                if receiver.body:
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(receiver.body)))
                self.end_headers()
                self.wfile.write(receiver.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/status") -> str:
        return self.base_url + path

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"{len(self.received)} callbacks arrived, expected {count}"
                    )
                self._arrived.wait(remaining)
            return list(self.received)

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)
