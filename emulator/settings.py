"""Every setting in one place: its default, its ``EMULATOR_*`` variable and its command-line flag.

Precedence: a command-line flag wins over an ``EMULATOR_*`` variable, which wins over the
default.

A field of :class:`Settings` is the one source of all three: the variable is ``EMULATOR_`` plus
the name in capitals, and ``payments-emulator serve`` makes the flag (``--`` plus the name with
``-`` for ``_``) from the field: its type (``bool``: a flag that sets true, or for a setting
that is true by default ``--no-`` plus the name, which sets false; a ``Literal``: the choices; ``list[str]``: one or more values; ``int``, ``float``, ``str``, each optional), its
description (the help text) and an optional :class:`Metavar`. Adding a setting is adding a
field here, and its row to the README's configuration table (a test checks both)::

    request_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        30.0, gt=0, description="How long a request may take."
    )
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator, Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emulator.domain.cards import (
    DEFAULT_BANK_ACCOUNT,
    DEFAULT_POSTAL_CODE,
    DEFAULT_ROUTING_NUMBER,
    DEFAULT_SECURITY_CODE,
    DEFAULT_TEST_CARD,
)
from emulator.domain.overrides import TWILIO_RETRY_COUNT, TWILIO_RETRY_POLICY, RetryOn
from emulator.domain.timeouts import INPUT_TIMEOUT_FROM, InputTimeoutFrom
from emulator.domain.twiml_pay import MaxAttemptsMeans
from emulator.domain.vocabulary import AUTO, CallerMode

__all__ = [
    "DEFAULT_CORS_ORIGINS",
    "DEFAULT_FIXTURES",
    "DEFAULT_TLS_NAMES",
    "DEFAULT_TLS_PORT",
    "LOWERCASE",
    "CommaSeparated",
    "Metavar",
    "Settings",
    "default_fixture_path",
    "local_url",
]

DEFAULT_FIXTURES = "default"
DEFAULT_TLS_NAMES = ("api.twilio.com", "localhost", "127.0.0.1", "::1")
DEFAULT_TLS_PORT = 8443
DEFAULT_CORS_ORIGINS = tuple(
    f"{scheme}://{host}:*"
    for host in ("localhost", "127.0.0.1", "[::1]")
    for scheme in ("http", "https")
)


@dataclass(frozen=True)
class Metavar:
    """Annotation: what a setting's value is called in ``serve --help`` (``--database URL``);
    without one, the name in capitals."""

    name: str


def _lowercase(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _split_commas(value: object) -> object:
    """Lists come as comma-separated text from an ``EMULATOR_*`` variable."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


LOWERCASE: Final = BeforeValidator(_lowercase)
"""Annotation: the value is lowercased before it is checked, whether it comes from a variable
or from a flag (the flag's choices then match in any case)."""

_COMMAS: Final = BeforeValidator(_split_commas)

CommaSeparated = Annotated[list[str], NoDecode, _COMMAS]
"""A list: ``--flag A B ...`` on the command line, ``A,B,...`` in the variable."""

LogLevel = Annotated[Literal["critical", "error", "warning", "info", "debug", "trace"], LOWERCASE]
LogFormat = Annotated[Literal["text", "json"], LOWERCASE]


def default_fixture_path() -> Path:
    """The built-in fixture set: packaged in the wheel, or the source tree's ``fixtures/``."""
    packaged = Path(__file__).parent / "_fixtures" / "default.json"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "fixtures" / "default.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMULATOR_", extra="forbid")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(
        8080, ge=0, le=65535, description="HTTP port; 0 picks a free one (printed at start)."
    )
    database: Annotated[str, Metavar("URL")] = Field(
        "sqlite:///payments-emulator.db",
        description="The SQLite database, as a URL in SQLAlchemy's form: `sqlite:///relative.db`, "
        "`sqlite:////absolute.db`, or `sqlite://` to keep everything in memory.",
    )
    fixtures: Annotated[CommaSeparated, Metavar("FILE")] = Field(
        default_factory=list,
        description="Fixture files to load at start-up, in addition to the built-in set "
        "(`default` names the built-in set).",
    )
    default_fixtures: bool = Field(
        True,
        description="Load the built-in fixture set (its account, API key and call); "
        "`--no-default-fixtures` loads only the `fixtures` files.",
    )
    log_level: LogLevel = Field("info", description="Log level; `debug` adds an access log.")
    log_format: LogFormat = Field(
        "text",
        description="`text` (lines for people) or `json` (one JSON object a line, for CI: "
        "time, level, message, and request id, method, path, status, code, duration, account, "
        "call, session and event where known).",
    )
    strict_calls: bool = Field(
        False,
        description="Refuse (404) a CallSid that no fixture or control-plane call declared, "
        "instead of registering it as an in-progress call.",
    )
    seed: Annotated[int | None, Metavar("N")] = Field(
        None,
        description="Make the SIDs, secrets, tokens and request ids the emulator generates the "
        "same on every run.",
    )
    journal_size: Annotated[int, Metavar("N")] = Field(
        1000, ge=0, description="How many API requests the request journal keeps."
    )
    caller: CallerMode = Field(AUTO, description="Default mode of a call's simulated caller.")
    input_timeout_from: InputTimeoutFrom = Field(
        INPUT_TIMEOUT_FROM,
        description="When a session's `Timeout` starts: `first-digit` (Twilio's spec: the wait "
        "between digits, after the first one; a caller who keys nothing waits) or `capture` "
        "(from the accepted Capture, and again after every entry).",
    )
    cancel_result: Annotated[str, Metavar("RESULT")] = Field(
        "transaction-cancelled",
        pattern=r"^[a-z-]*$",
        description="The `Result` of a cancelled session's last callback (undocumented by "
        "Twilio); empty: the callback has no `Result`.",
    )
    invalid_charge_amount: Literal["refuse", "validation-error"] = Field(
        "refuse",
        description="A `ChargeAmount` that is a number out of range (negative, 1,000,000 or "
        "more, too many decimals): `refuse` the create (400, 64003), or accept it and end the "
        "session's complete with `Result=validation-error`.",
    )
    pay_max_attempts_means: MaxAttemptsMeans = Field(
        "retries",
        description='What `<Pay maxAttempts=N>` counts: `retries` (the `<Pay>` page: "The '
        'default of `1` means `<Pay>` retries *once*": N + 1 tries an item) or `tries` (N '
        "tries an item, as the statusCallback's `Attempt` of 1 to 3 suggests).",
    )
    pay_action_https_only: bool = Field(
        False,
        description="Refuse a `<Pay>` `action` that is not https (Twilio's 64016, \"Action URL "
        'does not use https://"): off by default, as test apps listen on plain http.',
    )
    caller_delay_ms: Annotated[int, Metavar("MS")] = Field(
        50, ge=0, description="How long the auto caller waits after a Capture before keying."
    )
    caller_card_number: Annotated[str, Metavar("DIGITS")] = Field(
        DEFAULT_TEST_CARD,
        pattern=r"^(?:[0-9]{12,19}|[0-9]{0,19}\.\.\.)$",
        description="Card number the caller keys.",
    )
    caller_expiration_date: Annotated[str | None, Metavar("MMYY")] = Field(
        None,
        pattern=r"^(?:(?:0[1-9]|1[0-2])[0-9]{2}|[0-9]{0,4}\.\.\.)$",
        description="Expiry the caller keys; without one, December three years ahead.",
    )
    caller_security_code: Annotated[str, Metavar("DIGITS")] = Field(
        DEFAULT_SECURITY_CODE,
        pattern=r"^(?:[0-9]{3,4}|[0-9]{0,4}\.\.\.)$",
        description="Security code the caller keys (with a `4` appended for an amex card).",
    )
    caller_postal_code: Annotated[str, Metavar("CODE")] = Field(
        DEFAULT_POSTAL_CODE,
        pattern=r"^(?:[0-9A-Za-z]{1,10}|[0-9A-Za-z]{0,10}\.\.\.)$",
        description="Postal code the caller keys.",
    )
    caller_routing_number: Annotated[str, Metavar("DIGITS")] = Field(
        DEFAULT_ROUTING_NUMBER,
        pattern=r"^(?:[0-9]{9}|[0-9]{0,9}\.\.\.)$",
        description="ABA routing number the caller keys.",
    )
    caller_account_number: Annotated[str, Metavar("DIGITS")] = Field(
        DEFAULT_BANK_ACCOUNT,
        pattern=r"^(?:[0-9]{4,17}|[0-9]{0,17}\.\.\.)$",
        description="Bank account number the caller keys.",
    )
    callback_base_url: Annotated[str | None, Metavar("URL")] = Field(
        None,
        pattern=r"^https?://",
        description="Base for relative StatusCallbacks on calls without a URL of their own.",
    )
    callback_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        15.0,
        gt=0,
        description="Time all attempts of one callback delivery may take together (Twilio's "
        "`tt`, 15 s), unless its URL says otherwise (`#tt=MS`).",
    )
    callback_retries: Annotated[int, Metavar("N")] = Field(
        TWILIO_RETRY_COUNT,
        ge=0,
        le=10,
        description="Retries of a failed callback delivery (Twilio's `rc`, 1), unless its URL "
        "says otherwise (`#rc=N`).",
    )
    callback_retry_policy: Annotated[list[RetryOn], NoDecode, _COMMAS, Metavar("WHEN")] = Field(
        default_factory=lambda: list(TWILIO_RETRY_POLICY),
        description="Which failures are retried (Twilio's `rp`: `ct` no connection, `rt` no "
        "answer in time, `4xx`, `5xx`, `all`), unless its URL says otherwise (`#rp=...`).",
    )
    callback_retry_backoff_ms: Annotated[int, Metavar("MS")] = Field(
        0, ge=0, description="Wait before the first retry; doubled for each next one."
    )
    voice_webhook_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        15.0,
        gt=0,
        le=60,
        description="Time a call's voice webhook (its Url, a `<Gather>` action, a `<Redirect>`) "
        "may take in all before the call gets error 11200 (Twilio's: \"we wait a maximum of "
        '15 seconds for a response"), unless its URL says otherwise (`#rt=MS`, `#tt=MS`).',
    )
    tls_port: Annotated[int | None, Metavar("N")] = Field(
        None,
        ge=0,
        le=65535,
        description="Also serve HTTPS on this port (8443 when only a certificate is given).",
    )
    tls_cert: Annotated[str | None, Metavar("FILE")] = Field(
        None, description="Server certificate (PEM) for HTTPS."
    )
    tls_key: Annotated[str | None, Metavar("FILE")] = Field(
        None, description="Its private key (PEM)."
    )
    tls_dir: Annotated[str, Metavar("DIR")] = Field(
        "payments-emulator-tls",
        description="Where HTTPS certificates are generated (and reused) when none are given.",
    )
    tls_names: Annotated[CommaSeparated, Metavar("NAME")] = Field(
        default_factory=lambda: list(DEFAULT_TLS_NAMES),
        description="Names of a generated server certificate.",
    )
    idempotency_ttl_hours: Annotated[float, Metavar("HOURS")] = Field(
        24.0, gt=0, description="How long the first answer to an IdempotencyKey is kept."
    )
    # --- limits: no client, receiver or endpoint can make the emulator hold unbounded memory
    max_body_bytes: Annotated[int, Metavar("BYTES")] = Field(
        65_536,
        ge=1024,
        description="Largest request body accepted (413 beyond it, refused while it streams "
        "in). A Payments form is under 10 KB; at 64 KiB, even max_connections clients each "
        "sending a whole body at once hold at most 64 MiB.",
    )
    max_header_bytes: Annotated[int, Metavar("BYTES")] = Field(
        32_768,
        ge=1024,
        description="Largest request line plus headers accepted (431 beyond it).",
    )
    max_form_fields: Annotated[int, Metavar("N")] = Field(
        256, ge=16, description="Most form fields accepted in one request (413 beyond it)."
    )
    header_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        10.0,
        gt=0,
        description="Time a client has to send a request's line and headers, from connecting or "
        "from its previous answer; then the connection is closed.",
    )
    body_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        10.0,
        gt=0,
        description="Time a client has to send a request's body once its headers are in "
        "(408 when it runs out).",
    )
    keep_alive_timeout_s: Annotated[float, Metavar("SECONDS")] = Field(
        5.0, gt=0, description="How long an idle kept-alive connection stays open."
    )
    max_connections: Annotated[int, Metavar("N")] = Field(
        1000,
        ge=8,
        description="Most connections held open at once; beyond it the connection idle longest "
        "without a request in progress is closed to make room.",
    )
    shutdown_grace_s: Annotated[float, Metavar("SECONDS")] = Field(
        10.0,
        ge=0,
        description="On SIGTERM or SIGINT, how long callback deliveries in flight may take to "
        "finish (and be recorded) before the process exits.",
    )
    # --- StatusCallback delivery
    callback_hosts: Annotated[CommaSeparated, Metavar("HOST")] = Field(
        default_factory=list,
        description="Hosts StatusCallbacks may be delivered to (e.g. `localhost,127.0.0.1,app`); "
        "empty: any. A callback to another host is recorded as failed, with no name look-up or "
        "connection.",
    )
    callback_host_concurrency: Annotated[int, Metavar("N")] = Field(
        32,
        ge=1,
        description="Most deliveries in flight to one host at a time (a slow receiver delays "
        "only callbacks to itself).",
    )
    callback_max_response_bytes: Annotated[int, Metavar("BYTES")] = Field(
        65_536,
        ge=0,
        description="How much of a receiver's answer is read (and kept in the delivery log); "
        "the rest is not read, and the connection is closed.",
    )
    # --- the control plane
    max_streams: Annotated[int, Metavar("N")] = Field(
        100,
        ge=1,
        description="Most long-lived control-plane requests open at once: event streams "
        "(`/_emulator/events`) and long-polls (`/_emulator/callbacks?wait_for=`); more are "
        "answered 503 with `Retry-After`. Their connections are the first closed (after idle "
        "ones) when `max_connections` is reached.",
    )
    control_token: Annotated[str | None, Metavar("TOKEN")] = Field(
        None,
        pattern=r"^[A-Za-z0-9._~+/=-]+$",
        description="When set, every `/_emulator` request needs `Authorization: Bearer TOKEN`.",
    )
    allowed_hosts: Annotated[CommaSeparated, Metavar("NAME")] = Field(
        default_factory=list,
        description="Extra names the `Host` header of a request may carry (IP literals, "
        "`localhost`, the machine's host name and the `tls_names` always may; on the Twilio "
        "paths also any single-label name, such as a compose service).",
    )
    cors_origins: Annotated[CommaSeparated, Metavar("ORIGIN")] = Field(
        default_factory=lambda: list(DEFAULT_CORS_ORIGINS),
        description="Origins whose browser pages may call the Twilio paths across sites "
        "(`Sec-Fetch-Site: cross-site`); a port of `*` matches any port, and `*` alone any "
        "origin (api.twilio.com's answer). Requests without `Sec-Fetch-Site` (SDKs) are not "
        "affected.",
    )

    @property
    def tls_enabled(self) -> bool:
        return self.tls_port is not None or self.tls_cert is not None

    def fixture_paths(self) -> list[Path]:
        """The fixture files to load: the built-in set first (unless ``default_fixtures`` is
        off), then the ``fixtures`` files in order; the built-in set once, even if named."""
        paths = [default_fixture_path()] if self.default_fixtures else []
        for name in self.fixtures:
            path = default_fixture_path() if name == DEFAULT_FIXTURES else Path(name)
            if path not in paths:
                paths.append(path)
        return paths

    @property
    def base_url(self) -> str:
        """Where a client on this machine reaches the server."""
        return local_url(self.host, self.port)


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server listening on ``host:port``."""
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
