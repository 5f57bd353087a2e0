"""The ``payments-emulator`` command: ``serve`` (the default) and ``healthcheck``.

Configuration problems end with a one-line message naming what is wrong and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emulator import __version__
from emulator.errors import ConfigError
from emulator.settings import DEFAULT_TLS_NAMES, Settings

__all__ = ["main"]

PROG = "payments-emulator"
COMMANDS = ("serve", "healthcheck", "certs")

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "serve")
    parsed = _parser().parse_args(args)
    command: str = parsed.command
    options = {k: v for k, v in vars(parsed).items() if k != "command"}
    try:
        if command == "healthcheck":
            return healthcheck(**options)
        if command == "certs":
            return certs(**options)
        return serve(options)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="A local emulator of Twilio's Voice Payments REST resource."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,healthcheck,certs}")

    serve_parser = commands.add_parser(
        "serve", help="run the emulator (the default)", argument_default=argparse.SUPPRESS
    )
    serve_parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="HTTP port (default 8080)")
    serve_parser.add_argument(
        "--database",
        metavar="URL",
        help="SQLAlchemy SQLite URL (default sqlite:///payments-emulator.db; sqlite:// = in memory)",
    )
    serve_parser.add_argument(
        "--fixtures",
        nargs="+",
        metavar="FILE",
        help="fixture files to load; 'default' is the built-in set (default: default)",
    )
    serve_parser.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        type=str.lower,
        help="log level (default info; debug adds an access log)",
    )

    serve_parser.add_argument(
        "--strict-calls",
        action="store_const",
        const=True,
        help="refuse (404) unknown CallSids instead of registering them as in-progress calls",
    )
    serve_parser.add_argument(
        "--idempotency-ttl-hours",
        type=float,
        metavar="HOURS",
        help="how long the first answer to an IdempotencyKey is kept (default 24)",
    )
    serve_parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="make the generated SIDs, tokens and request ids the same on every run",
    )
    serve_parser.add_argument(
        "--journal-size",
        type=int,
        metavar="N",
        help="how many API requests the request journal keeps (default 1000)",
    )
    serve_parser.add_argument(
        "--caller", choices=["auto", "manual"], help="default caller mode (auto)"
    )
    for flag, metavar, kind, what in [
        ("--caller-delay-ms", "MS", int, "auto caller's delay before keying (default 50)"),
        ("--caller-card-number", "DIGITS", str, "card number the caller keys"),
        ("--caller-expiration-date", "MMYY", str, "expiry the caller keys"),
        ("--caller-security-code", "DIGITS", str, "security code the caller keys"),
        ("--caller-postal-code", "CODE", str, "postal code the caller keys"),
        ("--caller-routing-number", "DIGITS", str, "ABA routing number the caller keys"),
        ("--caller-account-number", "DIGITS", str, "bank account number the caller keys"),
        ("--callback-base-url", "URL", str, "base URL for relative StatusCallbacks"),
        ("--callback-timeout-s", "SECONDS", float, "callback delivery timeout (default 15)"),
        ("--callback-retries", "N", int, "retries of a failed callback (default 0)"),
        ("--callback-retry-backoff-ms", "MS", int, "first retry delay, doubled each time"),
    ]:
        serve_parser.add_argument(flag, metavar=metavar, type=kind, help=what)

    serve_parser.add_argument(
        "--tls-port", type=int, metavar="N", help="also serve HTTPS on port N"
    )
    serve_parser.add_argument("--tls-cert", metavar="FILE", help="HTTPS server certificate (PEM)")
    serve_parser.add_argument("--tls-key", metavar="FILE", help="its private key (PEM)")
    serve_parser.add_argument(
        "--tls-dir",
        metavar="DIR",
        help="where to generate certificates when none are given (default payments-emulator-tls)",
    )
    serve_parser.add_argument(
        "--tls-names", nargs="+", metavar="NAME", help="names of a generated server certificate"
    )

    certs_parser = commands.add_parser(
        "certs", help="write a local CA and a server certificate for api.twilio.com"
    )
    certs_parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    certs_parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help="an extra DNS name or IP address for the server certificate (repeatable)",
    )
    certs_parser.add_argument("--force", action="store_true", help="replace existing files")

    health_parser = commands.add_parser(
        "healthcheck", help="exit 0 if the emulator at --url answers its health check"
    )
    health_parser.add_argument(
        "--url",
        metavar="BASE_URL",
        help="emulator base URL (default: the configured host and port)",
    )
    health_parser.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    return parser


def _settings(options: dict[str, Any]) -> Settings:
    try:
        return Settings(**options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None


def serve(options: dict[str, Any]) -> int:
    settings = _settings(options)
    from emulator.serving import run  # imported here so that `healthcheck` starts fast

    return run(settings)


def certs(out: str, name: list[str], force: bool) -> int:
    from emulator.certs import write_certificates

    files = write_certificates(Path(out), [*DEFAULT_TLS_NAMES, *name], force=force)
    print(f"CA certificate (trust this one): {files.ca_cert}")
    print(f"server certificate: {files.server_cert}")
    print(f"server key: {files.server_key}")
    return 0


def healthcheck(url: str | None, timeout: float) -> int:
    base = url or _settings({}).base_url
    target = base.rstrip("/") + "/_emulator/health"
    try:
        with urllib.request.urlopen(target, timeout=timeout) as response:  # noqa: S310
            if response.status == 200:
                return 0
            print(f"{PROG}: {target} answered {response.status}", file=sys.stderr)
    except urllib.error.HTTPError as exc:
        print(f"{PROG}: {target} answered {exc.code}", file=sys.stderr)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"{PROG}: {target} unreachable: {reason}", file=sys.stderr)
    return 1
