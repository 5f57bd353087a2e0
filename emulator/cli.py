"""The ``payments-emulator`` command: ``serve`` (the default), ``healthcheck`` and ``certs``.

The flags of ``serve`` are made from the fields of :class:`~emulator.settings.Settings`, one
flag per setting; ``healthcheck`` and ``certs`` have options of their own.

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
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo

from emulator import __version__
from emulator.errors import ConfigError
from emulator.paths import HEALTH_PATH
from emulator.settings import DEFAULT_TLS_NAMES, LOWERCASE, Metavar, Settings

__all__ = ["main"]

PROG = "payments-emulator"
COMMANDS = ("serve", "healthcheck", "certs")

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    command, options = _parse(sys.argv[1:] if argv is None else argv)
    try:
        if command == "healthcheck":
            return healthcheck(**options)
        if command == "certs":
            return certs(**options)
        return serve(options)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The command (``serve`` when none is named) and the options given for it."""
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "--version")):
        args.insert(0, "serve")
    parsed = _parser().parse_args(args)
    command: str = parsed.command
    return command, {k: v for k, v in vars(parsed).items() if k != "command"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="A local emulator of Twilio's Voice Payments REST resource."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{serve,healthcheck,certs}")

    _add_setting_flags(
        commands.add_parser(
            "serve",
            help="run the emulator (the default)",
            description="Run the emulator. Every flag is a setting that an EMULATOR_* variable "
            "can also give; the flag wins over the variable, which wins over the default.",
            argument_default=argparse.SUPPRESS,
        )
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


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per field of :class:`Settings`, in the order of the fields."""
    for name, field in Settings.model_fields.items():
        parser.add_argument(_flag_name(name), dest=name, **_flag_options(name, field))


def _flag_name(name: str) -> str:
    """The ``serve`` flag of a setting: ``log_level`` -> ``--log-level``."""
    return "--" + name.replace("_", "-")


def _flag_options(name: str, field: FieldInfo) -> dict[str, Any]:
    """How argparse reads a setting's flag, from the field's type, description and metadata."""
    kind = _without_none(field.annotation)
    options: dict[str, Any] = {"help": _flag_help(name, field)}
    if kind is bool:
        if field.get_default() is not False:
            raise TypeError(f"setting {name!r}: a flag can only set a bool that defaults to False")
        return {**options, "action": "store_const", "const": True}
    metavar = next((m.name for m in field.metadata if isinstance(m, Metavar)), None)
    if metavar is not None:
        options["metavar"] = metavar
    if get_origin(kind) is list:
        options["nargs"] = "+"
        (kind,) = get_args(kind)
    if get_origin(kind) is Literal and all(isinstance(v, str) for v in get_args(kind)):
        options["choices"] = list(get_args(kind))
        options["type"] = str.lower if LOWERCASE in field.metadata else str
    elif kind in (int, float):
        options["type"] = kind
    elif kind in (str, Path, SecretStr):
        options["type"] = str  # pydantic makes the Path or SecretStr
    else:
        raise TypeError(f"setting {name!r}: no command-line flag for type {field.annotation}")
    return options


def _without_none(annotation: Any) -> Any:
    """``int | None`` -> ``int``; anything else as it is."""
    if get_origin(annotation) in (Union, UnionType):
        kinds = [kind for kind in get_args(annotation) if kind is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def _flag_help(name: str, field: FieldInfo) -> str:
    variable = Settings.model_config.get("env_prefix", "") + name.upper()
    default = field.get_default(call_default_factory=True)
    if default is None or isinstance(default, bool):
        facts = f"env {variable}"
    else:
        shown = " ".join(default) if isinstance(default, list) else default
        facts = f"default {shown}; env {variable}"
    return f"{field.description or ''} ({facts})".strip().replace("%", "%%")


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
    from emulator.server.launch import run  # imported here so that `healthcheck` starts fast

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
    target = base.rstrip("/") + HEALTH_PATH
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
