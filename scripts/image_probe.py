"""Host-side probes for scripts/check-image: what it asks of the booted image.

Each subcommand prints what it found and exits non-zero with a one-line reason when the
image does not do what it should. Every connection goes to 127.0.0.1, and every HTTPS
connection trusts only the CA certificate it is given (the one the emulator generated into
/data/tls), never the machine's bundle.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import socket
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

ACCOUNT_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
AUTH_TOKEN = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
# A closed port on loopback: the emulator's StatusCallback deliveries fail there, locally.
STATUS_CALLBACK = "http://127.0.0.1:9/status"


class ProbeError(Exception):
    """What the image did wrong, in one line."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that nothing listens on at 127.0.0.1 right now."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def image_config(inspect_file: str) -> str:
    """Bash assignments for what ``podman image inspect`` says the image runs, and how."""
    with open(inspect_file, encoding="utf-8") as f:
        inspected = json.load(f)
    image = inspected[0] if isinstance(inspected, list) else inspected
    config: dict[str, Any] = image.get("Config") or {}
    health: dict[str, Any] = (
        image.get("Healthcheck") or image.get("HealthCheck") or config.get("Healthcheck") or {}
    )
    test: list[str] = list(health.get("Test") or [])
    if not test or test[0] == "NONE":
        raise ProbeError("the image has no HEALTHCHECK (was it built with --format docker?)")
    if test[0] == "CMD":
        health_argv = test[1:]
    elif test[0] == "CMD-SHELL":
        health_argv = ["/bin/sh", "-c", " ".join(test[1:])]
    else:
        raise ProbeError(f"unknown HEALTHCHECK form {test[0]!r}")
    command = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not command:
        raise ProbeError("the image has neither ENTRYPOINT nor CMD")
    timeout_s = max(1, int(health.get("Timeout") or 30_000_000_000) // 1_000_000_000)

    def array(name: str, values: Sequence[str]) -> str:
        return f"{name}=({' '.join(shlex.quote(v) for v in values)})"

    def scalar(name: str, value: str) -> str:
        return f"{name}={shlex.quote(value)}"

    return "\n".join(
        [
            array("img_env", config.get("Env") or []),
            scalar("img_user", config.get("User") or "0"),
            scalar("img_workdir", config.get("WorkingDir") or "/"),
            array("img_cmd", command),
            array("img_volumes", sorted(config.get("Volumes") or {})),
            array("img_health", health_argv),
            scalar("img_health_timeout", str(timeout_s)),
        ]
    )


def _context(ca: str | None) -> ssl.SSLContext | None:
    # With cafile given, create_default_context loads that file and nothing else.
    return ssl.create_default_context(cafile=ca) if ca else None


def get(url: str, ca: str | None, contains: str | None) -> str:
    """GET ``url``; 200 and (when asked) ``contains`` in the body, or a ProbeError."""
    try:
        with urllib.request.urlopen(url, timeout=10, context=_context(ca)) as response:  # noqa: S310
            body: str = response.read().decode("utf-8", "replace")
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ProbeError(f"GET {url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ProbeError(f"GET {url} failed: {getattr(exc, 'reason', exc)}") from None
    if status != 200:
        raise ProbeError(f"GET {url} answered {status}")
    if contains is not None and contains not in body:
        raise ProbeError(f"GET {url} answered 200 without {contains!r}: {body[:200]}")
    return body


def tls_names(port: int, ca: str, names: Sequence[str]) -> None:
    """The server certificate verifies, through ``ca`` alone, for each of ``names``."""
    context = ssl.create_default_context(cafile=ca)
    for name in names:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                context.wrap_socket(raw, server_hostname=name),
            ):
                pass
        except (ssl.SSLError, OSError) as exc:
            raise ProbeError(f"TLS as {name!r} on 127.0.0.1:{port}: {exc}") from None
        print(f"  valid for {name}")


def _client(base_url: str, ca: str | None) -> Any:
    """A twilio-python client aimed at ``base_url``: trusting only ``ca`` (None: the SDK's
    own default trust, certifi), with no proxy and no CA bundle taken from the environment."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    http_client = TwilioHttpClient(timeout=15)
    assert http_client.session is not None
    http_client.session.trust_env = False
    http_client.session.verify = ca if ca else True
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
    client.api.base_url = base_url
    return client


def sdk_create(base_url: str, ca: str) -> dict[str, str]:
    """A create and an update through the SDK over HTTPS; first, the same create must fail
    TLS verification without the emulator's CA (so the CA is what the client trusts)."""
    import requests

    call_sid = "CA" + secrets.token_hex(16)
    try:
        _client(base_url, None).calls(call_sid).payments.create(
            idempotency_key=secrets.token_hex(8), status_callback=STATUS_CALLBACK
        )
    except requests.exceptions.SSLError:
        print("  without the emulator's CA the SDK refuses the server certificate, as it should")
    else:
        raise ProbeError("the SDK accepted the server certificate without the emulator's CA")

    client = _client(base_url, ca)
    payment = client.calls(call_sid).payments.create(
        idempotency_key=secrets.token_hex(8), status_callback=STATUS_CALLBACK, charge_amount=10.5
    )
    if not str(payment.sid).startswith("PK"):
        raise ProbeError(f"create answered a sid that is no PaymentSid: {payment.sid!r}")
    print(f"  created {payment.sid} on {call_sid}")
    updated = (
        client.calls(call_sid)
        .payments(payment.sid)
        .update(
            idempotency_key=secrets.token_hex(8),
            status_callback=STATUS_CALLBACK,
            capture="payment-card-number",
        )
    )
    if updated.sid != payment.sid:
        raise ProbeError(f"update answered {updated.sid!r}, not {payment.sid!r}")
    print(f"  updated {payment.sid}: Capture=payment-card-number")
    return {"call_sid": call_sid, "payment_sid": str(payment.sid)}


def sdk_cancel(base_url: str, ca: str, call_sid: str, payment_sid: str) -> None:
    """Status=cancel through the SDK over HTTPS, on a session made before a restart."""
    updated = (
        _client(base_url, ca)
        .calls(call_sid)
        .payments(payment_sid)
        .update(
            idempotency_key=secrets.token_hex(8), status_callback=STATUS_CALLBACK, status="cancel"
        )
    )
    if updated.sid != payment_sid:
        raise ProbeError(f"update answered {updated.sid!r}, not {payment_sid!r}")
    print(f"cancelled {payment_sid}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="image_probe.py", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("free-ports")
    p.add_argument("count", type=int)
    p = commands.add_parser("image-config")
    p.add_argument("inspect_file")
    p = commands.add_parser("get")
    p.add_argument("url")
    p.add_argument("--ca")
    p.add_argument("--contains")
    p = commands.add_parser("tls-names")
    p.add_argument("port", type=int)
    p.add_argument("ca")
    p.add_argument("names", help="comma-separated")
    p = commands.add_parser("sdk-create")
    p.add_argument("base_url")
    p.add_argument("ca")
    p.add_argument("out", help="JSON file for the sids")
    p = commands.add_parser("sdk-cancel")
    p.add_argument("base_url")
    p.add_argument("ca")
    p.add_argument("sids", help="JSON file written by sdk-create")
    args = parser.parse_args(argv)
    try:
        if args.command == "free-ports":
            print(" ".join(str(p) for p in free_ports(args.count)))
        elif args.command == "image-config":
            print(image_config(args.inspect_file))
        elif args.command == "get":
            print(get(args.url, args.ca, args.contains)[:300])
        elif args.command == "tls-names":
            tls_names(args.port, args.ca, [n for n in args.names.split(",") if n])
        elif args.command == "sdk-create":
            sids = sdk_create(args.base_url, args.ca)
            with open(args.out, "w", encoding="utf-8") as f:
                json.dump(sids, f)
        elif args.command == "sdk-cancel":
            with open(args.sids, encoding="utf-8") as f:
                sids = json.load(f)
            sdk_cancel(args.base_url, args.ca, sids["call_sid"], sids["payment_sid"])
    except ProbeError as exc:
        print(f"image_probe: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # the SDK's and requests' errors, said in one line
        print(f"image_probe: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
