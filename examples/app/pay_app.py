"""An example application: an agent-assisted card payment with the unmodified twilio SDK.

It is what an application's payment code looks like against real Twilio: build a Client
from credentials, start a Pay session on a live call, ask for each item, follow the
StatusCallbacks on its own webhook (checking every X-Twilio-Signature), then complete. Nothing
in it knows about the emulator: in docker-compose, ``api.twilio.com`` resolves to the
emulator and the emulator's CA is trusted through ``REQUESTS_CA_BUNDLE``.

Environment:
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN  credentials
  CALL_SID                               the live call (default: a new CallSid)
  APP_LISTEN                             where the webhook listens (default 0.0.0.0:9000)
  APP_CALLBACK_URL                       the webhook as Twilio reaches it
                                         (default http://127.0.0.1:<port>/payments/status)
  CHARGE_AMOUNT                          default 19.99

Prints a JSON summary; exits 0 when the payment succeeded and every signature was valid.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator
from twilio.rest import Client

ITEMS = ["payment-card-number", "expiration-date", "security-code", "postal-code"]
WAIT_S = 30.0


class Webhook:
    """Receives the StatusCallbacks and checks each signature as Twilio's docs show."""

    def __init__(self, listen: str, public_url: str | None, auth_token: str) -> None:
        host, port = listen.rsplit(":", 1)
        self.validator = RequestValidator(auth_token)
        self.arrived: queue.Queue[dict[str, str]] = queue.Queue()
        self.signatures_valid: list[bool] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                params = dict(parse_qsl(body.decode(), keep_blank_values=True))
                # The URL Twilio requested: our public origin, and the path and query it used.
                origin = urlsplit(webhook.public_url)
                url = f"{origin.scheme}://{origin.netloc}{self.path}"
                valid = webhook.validator.validate(
                    url, params, self.headers.get("X-Twilio-Signature", "")
                )
                webhook.signatures_valid.append(valid)
                self.send_response(204 if valid else 403)
                self.end_headers()
                webhook.arrived.put(params)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, int(port)), Handler)
        self.public_url = public_url or (
            f"http://127.0.0.1:{self.server.server_address[1]}/payments/status"
        )
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, done: Any) -> dict[str, str]:
        """The first callback for which ``done(params)`` is true."""
        while True:
            params = self.arrived.get(timeout=WAIT_S)
            if done(params):
                return params


def main() -> int:
    account_sid = os.environ["TWILIO_ACCOUNT_SID"]
    auth_token = os.environ["TWILIO_AUTH_TOKEN"]
    call_sid = os.environ.get("CALL_SID") or "CA" + secrets.token_hex(16)
    webhook = Webhook(
        os.environ.get("APP_LISTEN", "0.0.0.0:9000"),
        os.environ.get("APP_CALLBACK_URL"),
        auth_token,
    )
    callback = webhook.public_url
    client = Client(account_sid, auth_token)
    call = client.calls(call_sid)

    payment = call.payments.create(
        idempotency_key=secrets.token_hex(8),
        status_callback=callback,
        charge_amount=float(os.environ.get("CHARGE_AMOUNT", "19.99")),
        currency="USD",
        description="example order",
    )
    session = call.payments(payment.sid)
    for item in ITEMS:
        session.update(idempotency_key=secrets.token_hex(8), status_callback=callback, capture=item)
        entered = webhook.wait(
            lambda p, item=item: (
                p.get("Capture") == item
                and p.get("PartialResult") == "false"
                and (p.get("ErrorType") or item not in p.get("Required", "").split(","))
            )
        )
        if entered.get("ErrorType"):
            print(json.dumps({"failed": item, "error_type": entered["ErrorType"]}))
            return 1
    session.update(
        idempotency_key=secrets.token_hex(8), status_callback=callback, status="complete"
    )
    result = webhook.wait(lambda p: "Result" in p)
    summary = {
        "payment_sid": payment.sid,
        "result": result["Result"],
        "confirmation_code": result.get("PaymentConfirmationCode", ""),
        "card": result.get("PaymentCardNumber", ""),
        "callbacks": len(webhook.signatures_valid),
        "signatures_valid": all(webhook.signatures_valid),
    }
    print(json.dumps(summary))
    webhook.server.shutdown()
    return 0 if summary["result"] == "success" and summary["signatures_valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
