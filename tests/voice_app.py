"""An application of the test's own that answers voice webhooks with TwiML: a real HTTP server
on 127.0.0.1, which records every request (GET or POST) it receives.

Each path answers what ``pages`` says (``Page``: a body, its status and content type, a delay);
a path with no page answers 404. Requests are recorded with their query, form and headers, so
a test can check what the emulator sent, and its signature with twilio's RequestValidator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator
from twilio.rest import Client


@dataclass(frozen=True)
class Page:
    body: str | bytes = "<Response/>"
    status: int = 200
    content_type: str | None = "text/xml"
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    raw_path: str  # with the query
    body: bytes = b""
    at: float = field(default_factory=time.monotonic)

    @property
    def params(self) -> dict[str, str]:
        """The Twilio parameters: the form of a POST, the query of a GET."""
        return self.form if self.method == "POST" else self.query


class VoiceApp:
    """Serves ``pages`` (path -> :class:`Page`, or a TwiML string)."""

    def __init__(self, pages: dict[str, Page | str] | None = None) -> None:
        self.pages: dict[str, Page | str] = dict(pages or {})
        self.requests: list[Request] = []
        self._arrived = threading.Condition()
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The status line and headers, then the body, are two writes: without TCP_NODELAY
            # the body waits for the emulator's delayed ACK (40 ms a document).
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    dict(parse_qsl(body.decode(), keep_blank_values=True))
                    if self.command == "POST"
                    else {},
                    dict(self.headers.items()),
                    self.path,
                    body,
                )
                with app._arrived:
                    app.requests.append(request)
                    app._arrived.notify_all()
                page = app.pages.get(parts.path)
                if isinstance(page, str):
                    page = Page(page)
                if page is None:
                    page = Page("", status=404, content_type="text/plain")
                if page.delay_s:
                    time.sleep(page.delay_s)
                answer = page.body.encode() if isinstance(page.body, str) else page.body
                try:
                    self.send_response(page.status)
                    if page.content_type is not None:
                        self.send_header("Content-Type", page.content_type)
                    for name, value in page.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the emulator gave up on us (a timeout test)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def at(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Request]:
        """The requests to ``path``, once ``count`` of them arrived."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.at(path)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{r.method} {r.path}" for r in self.requests]
                    raise AssertionError(f"{count} requests to {path} expected; seen: {seen}")
                self._arrived.wait(left)
            return self.at(path)

    @contextmanager
    def running(self) -> Iterator[VoiceApp]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


def signed_correctly(auth_token: str, request: Request, base_url: str) -> bool:
    """What twilio-python's RequestValidator says of the request's X-Twilio-Signature."""
    url = base_url + request.raw_path
    params = request.form if request.method == "POST" else {}
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def twilio_client(server_url: str, account_sid: str, auth_token: str) -> Client:
    """twilio-python's client, pointed at the emulator."""
    client = Client(account_sid, auth_token)
    client.api.base_url = server_url
    return client


def steps(view: dict[str, object], kind: str | None = None) -> list[dict[str, object]]:
    """A call view's steps (of one kind)."""
    found = view["steps"]
    assert isinstance(found, list)
    return [step for step in found if kind is None or step["kind"] == kind]


def verbs(view: dict[str, object]) -> list[str]:
    """The names of the verbs the call ran, in order."""
    return [str(step["name"]) for step in steps(view, "verb")]


def notices(view: dict[str, object]) -> list[int]:
    return [int(str(step["code"])) for step in steps(view, "notice")]
