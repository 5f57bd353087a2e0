"""The ``payments-emulator`` command: ``serve`` (the default), ``healthcheck`` and ``certs``.

The flags of ``serve`` are made from the fields of :class:`~emulator.settings.Settings`, one
flag per setting; ``healthcheck`` and ``certs`` have options of their own. ``payments-emulator
--help`` is ``serve``'s help (the default command's options), which names the other commands.

Configuration problems end with a one-line message naming what is wrong, and where it came
from (the flag, or the ``EMULATOR_*`` variable, and its value), and a non-zero exit status,
never a traceback. A bad flag is said first; a one-line usage follows, not the list of every
option.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import UnionType
from typing import Any, Literal, NoReturn, Union, get_args, get_origin

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError

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


SERVE_USAGE = f"{PROG} [serve] [OPTION ...]"
OTHER_COMMANDS = f"""other commands:
  {PROG} healthcheck [--url BASE_URL] [--timeout S]
                        exit 0 if the emulator at BASE_URL answers its health check
  {PROG} certs --out DIR [--name NAME ...] [--force]
                        write a local CA and a server certificate for api.twilio.com
  {PROG} --version      print the version

{PROG} COMMAND --help shows a command's options."""


class _Parser(argparse.ArgumentParser):
    """argparse, saying what is wrong first, and then a one-line usage (not the usage of every
    option of ``serve``, which would bury the problem)."""

    commands: Mapping[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        usage = (self.usage or self.format_usage()).strip().removeprefix("usage: ")
        if len(usage) > 100:
            usage = usage[:97] + "..."
        self.exit(
            2,
            f"{self.prog}: error: {message}\n"
            f"usage: {usage}\n"
            f"({self.prog} --help lists the options)\n",
        )


def _parse(argv: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The command (``serve`` when none is named) and the options given for it."""
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] != "--version"):
        args.insert(0, "serve")  # ``--help`` too: the default command's options
    parser = _parser()
    parsed, unknown = parser.parse_known_args(args)
    command: str = parsed.command
    if unknown:  # said by the command's parser, with its own usage
        parser.commands[command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return command, {k: v for k, v in vars(parsed).items() if k != "command"}


def _parser() -> _Parser:
    parser = _Parser(
        prog=PROG, description="A local emulator of Twilio's Voice Payments REST resource."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="{serve,healthcheck,certs}", parser_class=_Parser
    )

    parser.commands = commands.choices
    _add_setting_flags(
        commands.add_parser(
            "serve",
            help="run the emulator (the default)",
            usage=SERVE_USAGE,
            description="Run the emulator (the default command: `payments-emulator [OPTION ...]` "
            "serves too). Every option is a setting that an EMULATOR_* variable can also give; "
            "the flag wins over the variable, which wins over the default.",
            epilog=OTHER_COMMANDS,
            formatter_class=argparse.RawDescriptionHelpFormatter,
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
        parser.add_argument(_flag_name(name, field), dest=name, **_flag_options(name, field))


def _flag_name(name: str, field: FieldInfo | None = None) -> str:
    """The ``serve`` flag of a setting: ``log_level`` -> ``--log-level``; a bool setting that
    is true by default is turned off: ``default_fixtures`` -> ``--no-default-fixtures``."""
    field = field if field is not None else Settings.model_fields.get(name)
    off = field is not None and field.annotation is bool and field.get_default() is True
    return ("--no-" if off else "--") + name.replace("_", "-")


def _flag_options(name: str, field: FieldInfo) -> dict[str, Any]:
    """How argparse reads a setting's flag, from the field's type, description and metadata."""
    kind = _without_none(field.annotation)
    options: dict[str, Any] = {"help": _flag_help(name, field)}
    if kind is bool:
        default = field.get_default()
        if default not in (False, True):
            raise TypeError(f"setting {name!r}: a flag can only set a bool that has a default")
        return {**options, "action": "store_const", "const": not default}
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
    if default is None or default is False or default == []:
        facts = f"env {variable}"
    elif default is True:
        facts = f"on by default; env {variable}"
    else:
        shown = " ".join(default) if isinstance(default, list) else default
        facts = f"default {shown}; env {variable}"
    return f"{field.description or ''} ({facts})".strip().replace("%", "%%")


def _settings(options: dict[str, Any]) -> Settings:
    """The settings of ``options`` (the flags given) over the ``EMULATOR_*`` variables; a
    :class:`ConfigError` names each bad value and where it came from."""
    try:
        return Settings(**options)
    except ValidationError as exc:
        problems = "; ".join(_problem(err["loc"], err["msg"], options) for err in exc.errors())
        raise ConfigError(f"invalid setting {problems}") from None
    except SettingsError as exc:  # a variable pydantic-settings could not even read
        raise ConfigError(f"invalid setting: {exc}") from None


SECRET_SETTINGS = frozenset({"control_token"})


def _problem(loc: tuple[int | str, ...], message: str, options: dict[str, Any]) -> str:
    """``port: EMULATOR_PORT='abc': Input should be ...``, or ``port: --port 70000: ...``."""
    name = str(loc[0]) if loc else ""
    field = Settings.model_fields.get(name)
    if field is None:
        return f"{'.'.join(str(p) for p in loc)}: {message}"
    if name in options:
        value = options[name]
        shown = " ".join(value) if isinstance(value, list) else str(value)
        source = f"{_flag_name(name, field)} {_shown(name, shown)}"
    else:
        variable, text = _variable(name)
        source = f"{variable}={_shown(name, text)}" if text is not None else variable
    return f"{name}: {source}: {message}"


def _variable(name: str) -> tuple[str, str | None]:
    """The ``EMULATOR_*`` variable of a setting, and its value in this environment (matched
    regardless of case, as pydantic-settings reads it)."""
    variable = Settings.model_config.get("env_prefix", "") + name.upper()
    for key, value in os.environ.items():
        if key.upper() == variable:
            return variable, value
    return variable, None


def _shown(name: str, value: str) -> str:
    """A bad value as an error message shows it: a secret's masked, a long one cut."""
    if name in SECRET_SETTINGS:
        return "****"
    value = value if len(value) <= 60 else value[:57] + "..."
    return value if value and not any(c.isspace() for c in value) else repr(value)


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
