"""Every setting in one place: defaults, ``EMULATOR_*`` variables, and command-line flags.

Precedence: a command-line flag wins over an ``EMULATOR_*`` variable, which wins over the
default. The README's configuration table lists the same fields; a test keeps them in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "DEFAULT_FIXTURES",
    "DEFAULT_TLS_NAMES",
    "DEFAULT_TLS_PORT",
    "Settings",
    "default_fixture_path",
    "local_url",
]

LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]

DEFAULT_FIXTURES = "default"
DEFAULT_TLS_NAMES = ("api.twilio.com", "localhost", "127.0.0.1", "::1")
DEFAULT_TLS_PORT = 8443


def default_fixture_path() -> Path:
    """The built-in fixture set: packaged in the wheel, or the source tree's ``fixtures/``."""
    packaged = Path(__file__).parent / "_fixtures" / "default.json"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "fixtures" / "default.json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMULATOR_", extra="forbid")

    host: str = Field("127.0.0.1", description="Interface to listen on.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port.")
    database: str = Field(
        "sqlite:///payments-emulator.db",
        description="SQLAlchemy URL of the SQLite database; `sqlite://` keeps it in memory.",
    )
    fixtures: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [DEFAULT_FIXTURES],
        description="Fixture files to load at start-up (comma-separated in the variable); "
        "`default` is the built-in set.",
    )
    log_level: LogLevel = Field("info", description="Log level; `debug` adds an access log.")
    strict_calls: bool = Field(
        False,
        description="Refuse (404) a CallSid that is not declared, instead of registering it.",
    )
    seed: int | None = Field(
        None, description="Seed for the SIDs, tokens and request ids the emulator makes up."
    )
    journal_size: int = Field(
        1000, ge=0, description="How many API requests the request journal keeps."
    )
    caller: Literal["auto", "manual"] = Field(
        "auto", description="Default mode of a call's simulated caller (`auto` or `manual`)."
    )
    caller_delay_ms: int = Field(
        50, ge=0, description="How long the auto caller waits after a Capture before keying."
    )
    caller_card_number: str = Field(
        "4242424242424242", pattern=r"^[0-9]{12,19}$", description="Card number the caller keys."
    )
    caller_expiration_date: str | None = Field(
        None,
        pattern=r"^(0[1-9]|1[0-2])[0-9]{2}$",
        description="Expiry (MMYY) the caller keys; default December, three years ahead.",
    )
    caller_security_code: str = Field(
        "123", pattern=r"^[0-9]{3,4}$", description="Security code the caller keys (amex: + `4`)."
    )
    caller_postal_code: str = Field(
        "94105", pattern=r"^[0-9A-Za-z]{1,10}$", description="Postal code the caller keys."
    )
    caller_routing_number: str = Field(
        "121000358", pattern=r"^[0-9]{9}$", description="ABA routing number the caller keys."
    )
    caller_account_number: str = Field(
        "000123456789", pattern=r"^[0-9]{4,17}$", description="Bank account number the caller keys."
    )
    callback_base_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description="Base for relative StatusCallbacks on calls without a URL of their own.",
    )
    callback_timeout_s: float = Field(15.0, gt=0, description="Timeout of a callback delivery.")
    callback_retries: int = Field(0, ge=0, le=10, description="Retries of a failed delivery.")
    callback_retry_backoff_ms: int = Field(
        1000, ge=0, description="Wait before the first retry; doubled for each next one."
    )
    tls_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Also serve HTTPS on this port (8443 when only a certificate is given).",
    )
    tls_cert: str | None = Field(None, description="Server certificate (PEM) for HTTPS.")
    tls_key: str | None = Field(None, description="Its private key (PEM).")
    tls_dir: str = Field(
        "payments-emulator-tls",
        description="Where HTTPS certificates are generated when none are given.",
    )
    tls_names: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TLS_NAMES),
        description="Names of the generated server certificate (comma-separated in the variable).",
    )
    idempotency_ttl_hours: float = Field(
        24.0, gt=0, description="How long an IdempotencyKey's first answer is kept."
    )

    @field_validator("fixtures", "tls_names", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Lists come as comma-separated text from an ``EMULATOR_*`` variable."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def tls_enabled(self) -> bool:
        return self.tls_port is not None or self.tls_cert is not None

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    def fixture_paths(self) -> list[Path]:
        return [default_fixture_path() if f == DEFAULT_FIXTURES else Path(f) for f in self.fixtures]

    @property
    def base_url(self) -> str:
        """Where a client on this machine reaches the server."""
        return local_url(self.host, self.port)


def local_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server listening on ``host:port``."""
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
