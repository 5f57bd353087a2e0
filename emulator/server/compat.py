"""Which uvicorn the server layer works with, checked before the server starts.

The protocol (``emulator.server.protocol``) subclasses uvicorn's private ``HttpToolsProtocol``
and the launcher (``emulator.server.launch``) its ``Server``: uvicorn's public options cannot
keep the HTTP limits (no header or body timeout, no header size limit with httptools, no body
limit, a cap that answers 503 instead of closing idle connections). Private code changes
without notice, so the dependency is pinned to the range the HTTP-layer tests pass with
(:data:`REQUIREMENT`; CI runs them against its oldest and its newest), and :func:`check`
verifies, before any socket is opened, that every hook and attribute the subclasses rely on is
there: a uvicorn without one is refused with a one-line message naming its version, instead of
serving without the limits. A uvicorn outside the range that has them all is served with, after
a warning.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from emulator.errors import ConfigError

__all__ = ["NEWEST", "OLDEST", "REQUIREMENT", "Uvicorn", "check", "problems"]

OLDEST = "0.45.0"
"""The oldest uvicorn tested (the first with ``HttpToolsProtocol._start_asgi_task``)."""
NEWEST = "0.55.0"
"""The newest uvicorn tested."""
REQUIREMENT = "uvicorn>=0.45,<0.56"
"""The range ``pyproject.toml`` allows: from the oldest tested to the next minor release after
the newest (a test checks that the two agree)."""

_LOW, _HIGH = (0, 45), (0, 56)

# What the protocol overrides or calls, with the parameters it passes (names, in order).
_PROTOCOL_METHODS: dict[str, tuple[str, ...]] = {
    "__init__": ("self", "config", "server_state", "app_state", "_loop"),
    "connection_made": ("self", "transport"),
    "connection_lost": ("self", "exc"),
    "data_received": ("self", "data"),
    "on_message_begin": ("self",),
    "on_headers_complete": ("self",),
    "on_body": ("self", "body"),
    "on_message_complete": ("self",),
    "on_response_complete": ("self",),
    "shutdown": ("self",),
    "_start_asgi_task": ("self", "cycle", "app"),
    "_unset_keepalive_if_required": ("self",),
}
# Where uvicorn must call the protocol's hooks: a request reaches the app through
# _start_asgi_task only, once its headers are in and when its turn comes after pipelined ones
# (else the app would see bodies before they are complete).
_PROTOCOL_CALLS = {
    "on_headers_complete": "_start_asgi_task",
    "on_response_complete": "_start_asgi_task",
}
# The attributes the protocol reads or sets on itself, and on uvicorn's request cycle.
_PROTOCOL_ATTRIBUTES = (
    "parser",
    "pipeline",
    "cycle",
    "flow",
    "transport",
    "loop",
    "scope",
    "headers",
    "url",
    "client",
    "timeout_keep_alive_task",
)
_CYCLE_ATTRIBUTES = (
    "body",
    "more_body",
    "waiting_for_100_continue",
    "response_complete",
    "keep_alive",
    "disconnected",
    "message_event",
)
# The launcher's server: startup() without sockets (the lifespan and uvicorn's state) before
# its own TLS servers, no signal handling of its own.
_SERVER_METHODS: dict[str, tuple[str, ...]] = {
    "startup": ("self", "sockets"),
    "serve": ("self", "sockets"),
    "capture_signals": ("self",),
}
_SERVER_ATTRIBUTES = ("servers", "server_state", "lifespan", "should_exit", "started")
_CONFIG_OPTIONS = (
    "app",
    "log_level",
    "access_log",
    "log_config",
    "http",
    "ws",
    "lifespan",
    "timeout_keep_alive",
    "timeout_graceful_shutdown",
    "server_header",
    "date_header",
    "proxy_headers",
    "ssl_certfile",
    "ssl_keyfile",
)
_CONFIG_ATTRIBUTES = ("ssl", "backlog")


@dataclass(frozen=True)
class Uvicorn:
    """The uvicorn the server layer builds on: its version and the classes it subclasses or
    configures (``cycle`` is None when uvicorn has no ``RequestResponseCycle`` to find)."""

    version: str
    protocol: type | None
    cycle: type | None
    server: type
    config: type

    @classmethod
    def installed(cls) -> Uvicorn:
        import uvicorn

        try:
            module: Any = importlib.import_module("uvicorn.protocols.http.httptools_impl")
        except ImportError:
            module = None
        return cls(
            version=uvicorn.__version__,
            protocol=getattr(module, "HttpToolsProtocol", None),
            cycle=getattr(module, "RequestResponseCycle", None),
            server=uvicorn.Server,
            config=uvicorn.Config,
        )


def check(uvicorn: Uvicorn | None = None) -> str | None:
    """Raise :class:`ConfigError` if ``uvicorn`` (the installed one by default) lacks what the
    server layer relies on; else a warning when its version is outside the tested range."""
    uvicorn = uvicorn or Uvicorn.installed()
    found = problems(uvicorn)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ConfigError(
            f"uvicorn {uvicorn.version} is not supported: {found[0]}{more};"
            f" the emulator is tested with {REQUIREMENT} (pip install '{REQUIREMENT}')"
        )
    version = _minor(uvicorn.version)
    if version is None or not _LOW <= version < _HIGH:
        return (
            f"uvicorn {uvicorn.version} is outside the tested range ({REQUIREMENT});"
            " its hooks are all there, but the HTTP limits are not tested with it"
        )
    return None


def problems(uvicorn: Uvicorn) -> list[str]:
    """What the server layer relies on and ``uvicorn`` lacks, one phrase each."""
    found: list[str] = []
    if uvicorn.protocol is None:
        found.append("uvicorn.protocols.http.httptools_impl.HttpToolsProtocol is missing")
    else:
        found += _methods(uvicorn.protocol, _PROTOCOL_METHODS)
        found += _attributes(uvicorn.protocol, _PROTOCOL_ATTRIBUTES)
        for caller, callee in _PROTOCOL_CALLS.items():
            method = getattr(uvicorn.protocol, caller, None)
            if method is not None and callee not in _names_in(method):
                found.append(f"HttpToolsProtocol.{caller} does not call {callee}")
    if uvicorn.cycle is None:
        found.append("uvicorn.protocols.http.httptools_impl.RequestResponseCycle is missing")
    else:
        found += _attributes(uvicorn.cycle, _CYCLE_ATTRIBUTES)
    found += _methods(uvicorn.server, _SERVER_METHODS)
    found += _attributes(uvicorn.server, _SERVER_ATTRIBUTES)
    found += _parameters(uvicorn.config, _CONFIG_OPTIONS)
    found += _attributes(uvicorn.config, _CONFIG_ATTRIBUTES)
    return found


def _methods(cls: type, expected: dict[str, tuple[str, ...]]) -> list[str]:
    """Each method exists, and takes the expected parameters first (any others optional)."""
    found = []
    for name, parameters in expected.items():
        method = getattr(cls, name, None)
        if not callable(method):
            found.append(f"{cls.__name__}.{name} is missing")
            continue
        try:
            signature = list(inspect.signature(method).parameters.values())
        except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
            continue
        names = tuple(parameter.name for parameter in signature[: len(parameters)])
        rest = signature[len(parameters) :]
        if names != parameters or any(
            p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in rest
        ):
            shown = ", ".join(parameter.name for parameter in signature)
            found.append(f"{cls.__name__}.{name}({shown}) is not ({', '.join(parameters)})")
    return found


def _parameters(cls: type, expected: Iterable[str]) -> list[str]:
    """The constructor takes each option by name."""
    accepted = inspect.signature(cls).parameters
    return [f"{cls.__name__} has no option {name!r}" for name in expected if name not in accepted]


def _attributes(cls: type, expected: Iterable[str]) -> list[str]:
    """Each attribute is named in the class's code (set or read by it), or on the class."""
    used = set(dir(cls))
    for klass in cls.__mro__:
        for value in vars(klass).values():
            used |= _names_in(value)
    return [f"{cls.__name__} has no attribute {name!r}" for name in expected if name not in used]


def _names_in(value: Any) -> set[str]:
    """The names a function's code uses (attributes included), nested functions included."""
    if isinstance(value, staticmethod | classmethod):
        value = value.__func__
    elif isinstance(value, property):
        value = value.fget
    code = getattr(value, "__code__", None)
    return _code_names(code) if isinstance(code, types.CodeType) else set()


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _code_names(constant)
    return names


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None
