"""A Generic Pay Connector endpoint of the tests' own: a real HTTP(S) server on 127.0.0.1.

It checks HTTP Basic credentials (wrong or missing: 401), records every request (path,
headers, body, parsed JSON) and answers from a script, one :class:`Reply` per request in
order; once the script runs out, every request gets a well-formed success for its method.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from emulator.testing import Account, EmulatorServer

USERNAME = "merchant"
PASSWORD = "s3cr3t:pa55"  # a colon in the password: only the first one splits


@dataclass(frozen=True)
class Reply:
    """How to answer one request.

    ``body`` None: a success for the request's method (``charge_id`` or ``token_id``).
    ``hang``: never answer (until the server stops). ``close``: close the connection without
    answering. ``hang_after_headers``: send the status line and headers (a Content-Length of
    ``len(body) + 100``) and the body, then hang. ``close_mid_body``: the same, then close.
    ``delay_s``: wait before answering. ``gate``: wait until it is set before answering.
    """

    status: int = 200
    body: bytes | None = None
    content_type: str | None = "application/json"
    delay_s: float = 0.0
    gate: threading.Event | None = None
    hang: bool = False
    close: bool = False
    hang_after_headers: bool = False
    close_mid_body: bool = False


def answer(
    *,
    charge_id: str | None = None,
    token_id: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    parameters: dict[str, Any] | None = None,
) -> bytes:
    """A GPC answer body with all five keys."""
    return json.dumps(
        {
            "charge_id": charge_id,
            "token_id": token_id,
            "error_code": error_code,
            "error_message": error_message,
            "parameters": parameters or {},
        }
    ).encode()


def card_body(
    method: str,
    transaction_id: str,
    *,
    cardnumber: str,
    cvv: str | None,
    expiry_month: str,
    expiry_year: str,
    postal_code: str | None,
    description: str | None,
    parameters: dict[str, Any],
    amount: str | None = None,
    currency_code: str | None = None,
) -> dict[str, Any]:
    """The JSON Twilio POSTs to a Generic Pay Connector for a card, key for key as Twilio's
    GPC page shows it (https://www.twilio.com/docs/voice/twiml/pay/generic-pay-connector):
    ``amount`` and ``currency_code`` only when charging. The one statement of that format
    the tests compare the wire with."""
    body: dict[str, Any] = {
        "method": method,
        "transaction_id": transaction_id,
        "cardnumber": cardnumber,
        "cvv": cvv,
        "expiry_month": expiry_month,
        "expiry_year": expiry_year,
        "postal_code": postal_code,
    }
    return _with_amount(body, amount, currency_code, description, parameters)


def ach_body(
    method: str,
    transaction_id: str,
    *,
    bankaccountnumber: str,
    routingnumber: str,
    description: str | None,
    parameters: dict[str, Any],
    amount: str | None = None,
    currency_code: str | None = None,
) -> dict[str, Any]:
    """The same for a bank account (ACH), as the GPC page's ACH example shows it."""
    body: dict[str, Any] = {
        "method": method,
        "transaction_id": transaction_id,
        "bankaccountnumber": bankaccountnumber,
        "routingnumber": routingnumber,
    }
    return _with_amount(body, amount, currency_code, description, parameters)


def _with_amount(
    body: dict[str, Any],
    amount: str | None,
    currency_code: str | None,
    description: str | None,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    if body["method"] == "charge":
        body |= {"amount": amount, "currency_code": currency_code}
    return body | {"description": description, "parameters": parameters}


def reply(**fields: Any) -> Reply:
    """A 200 JSON answer: ``reply(charge_id="ch_1")``."""
    return Reply(body=answer(**fields))


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    json: Any  # None when the body is not JSON

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class GpcEndpoint:
    def __init__(
        self,
        script: Iterable[Reply] = (),
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        tls: tuple[Path, Path] | None = None,  # (certificate chain, key)
    ) -> None:
        self.script: deque[Reply] = deque(script)
        self.requests: list[Seen] = []
        self.expected_authorization = "Basic " + base64.b64encode(
            f"{username}:{password}".encode()
        ).decode("ascii")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._open: set[socket.socket] = set()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                with endpoint._lock:
                    endpoint._open.add(self.request)
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.do_handshake()  # here, not in the thread that accepts
                super().setup()

            def finish(self) -> None:
                with endpoint._lock:
                    endpoint._open.discard(self.request)
                with suppress(OSError):
                    super().finish()

            def do_POST(self) -> None:
                endpoint._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = False
            block_on_close = True

            def get_request(self) -> tuple[socket.socket, Any]:
                connection, address = super().get_request()
                if context is not None:
                    connection = context.wrap_socket(
                        connection, server_side=True, do_handshake_on_connect=False
                    )
                return connection, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that time out and hang up are part of the tests

        context = None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        scheme = "https" if tls else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"

    def url(self, path: str = "/gpc") -> str:
        return self.base_url + path

    def push(self, *replies: Reply) -> None:
        with self._lock:
            self.script.extend(replies)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Seen]:
        """The requests once ``count`` of them arrived (AssertionError after ``timeout``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests arrived, expected {count}")
            return list(self.requests)

    # --- answering ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length", "0"))
        body = handler.rfile.read(length)
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._lock:
            self.requests.append(Seen(handler.path, headers, body, parsed))
            self._arrived.notify_all()
        if headers.get("authorization") != self.expected_authorization:
            self._send(handler, 401, b'{"error": "unauthorized"}', "application/json")
            return
        with self._lock:
            planned = self.script.popleft() if self.script else Reply()
        if planned.gate is not None:
            while not planned.gate.wait(0.05):
                if self._stopping.is_set():
                    return
        if planned.delay_s and self._stopping.wait(planned.delay_s):
            return
        if planned.hang:
            self._stopping.wait()
            handler.close_connection = True
            return
        if planned.close:
            handler.close_connection = True
            return
        content = planned.body
        if content is None:
            tokenize = handler.path.partition("?")[0].endswith("/tokenize") or (
                isinstance(parsed, dict) and parsed.get("method") == "tokenize"
            )
            content = answer(token_id="tok_123") if tokenize else answer(charge_id="ch_123")
        if planned.hang_after_headers or planned.close_mid_body:
            handler.send_response(planned.status)
            handler.send_header("Content-Length", str(len(content) + 100))
            handler.end_headers()
            handler.wfile.write(content)
            handler.wfile.flush()
            if planned.hang_after_headers:
                self._stopping.wait()
            handler.close_connection = True
            return
        self._send(handler, planned.status, content, planned.content_type)

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str | None
    ) -> None:
        handler.send_response(status)
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # --- life cycle ---------------------------------------------------------------------------

    @contextmanager
    def running(self) -> Iterator[GpcEndpoint]:
        thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.start()
        try:
            yield self
        finally:
            self._stopping.set()
            self.server.shutdown()
            with self._lock:  # kept-alive connections: their handlers wait for a request
                for connection in list(self._open):
                    with suppress(OSError):
                        connection.shutdown(socket.SHUT_RDWR)
            self.server.server_close()  # joins the handler threads
            thread.join(5)


def install(server: EmulatorServer, account: Account, url: str, **generic: Any) -> dict[str, Any]:
    """Install a Generic Pay Connector named ``gpc`` on ``account``, at ``url`` with this
    endpoint's credentials (``generic`` adds or overrides fields); its view, as installed."""
    body = {
        "account_sid": account.account_sid,
        "name": "gpc",
        "generic": {"endpoint_url": url, "username": USERNAME, "password": PASSWORD, **generic},
    }
    response = server.control.http.post("/_emulator/connectors", json=body)
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view
