"""The fixture format: the accounts, API keys, calls and connectors the emulator starts with.

A fixture file is JSON, validated here with pydantic models (pure: reading the files is
:func:`emulator.services.accounts.read_fixtures`'s, writing the rows
:mod:`emulator.store.fixtures`'s); see the docs' "Fixtures" section for the format.
:func:`parse_fixtures` validates and merges files' texts, and checks that what they declare
refers to what they declare.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from emulator.domain.connectors import Connector
from emulator.domain.gpc import GenericConnector, Mode
from emulator.domain.phones import Phone
from emulator.domain.scripts import check_script
from emulator.domain.vocabulary import (
    KEYPAD_PATTERN,
    PAYMENT_METHODS,
    TOKEN_TYPES,
    CallerMode,
    PaymentMethod,
    TokenType,
)
from emulator.errors import ConfigError

__all__ = [
    "BUILT_IN_ACCOUNT_SID",
    "BUILT_IN_API_KEY_SECRET",
    "BUILT_IN_API_KEY_SID",
    "BUILT_IN_AUTH_TOKEN",
    "AccountFixture",
    "ApiKeyFixture",
    "CallFixture",
    "ConnectorFixture",
    "FixtureSet",
    "PhoneFixture",
    "parents_first",
    "parse_fixtures",
]

# The built-in fixture set's account and API key (fixtures/default.json): public, documented
# credentials that copy as code may print.
BUILT_IN_ACCOUNT_SID = "AC" + "a" * 32
BUILT_IN_AUTH_TOKEN = "a" * 32
BUILT_IN_API_KEY_SID = "SK" + "a" * 32
BUILT_IN_API_KEY_SECRET = "a" * 32

AccountSid = Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
ApiKeySid = Annotated[str, StringConstraints(pattern=r"^SK[0-9a-fA-F]{32}$")]
CallSid = Annotated[str, StringConstraints(pattern=r"^CA[0-9a-fA-F]{32}$")]
# Letters and digits only: twilio-go refuses any other character in credentials.
Secret = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]+$", max_length=128)]
CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"
]


class _Fixture(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountFixture(_Fixture):
    sid: AccountSid
    auth_token: Secret
    friendly_name: str = ""
    parent_sid: AccountSid | None = None


class ApiKeyFixture(_Fixture):
    sid: ApiKeySid
    secret: Secret
    account_sid: AccountSid
    friendly_name: str = ""


Digits = Annotated[str, StringConstraints(pattern=KEYPAD_PATTERN)]
# What a caller keys per item, and at <Gather>s (gather, gather-N): as the control plane takes it.
Script = Annotated[dict[str, Digits], AfterValidator(check_script)]


class CallFixture(_Fixture):
    sid: CallSid
    account_sid: AccountSid
    status: CallStatus = "in-progress"
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = None
    caller: CallerMode | None = None
    script: Script = Field(default_factory=dict)


class PhoneFixture(_Fixture):
    """Who answers at a number: the calls the account places to it (``To``) start with this
    caller and script (see :mod:`emulator.domain.phones`)."""

    account_sid: AccountSid
    number: Annotated[str, StringConstraints(pattern=r"^\S{1,64}$")]
    caller: CallerMode = "auto"
    script: Script = Field(default_factory=dict)

    def phone(self) -> Phone:
        return Phone(self.account_sid, self.number, self.caller, self.script)


Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class GenericFixture(_Fixture):
    """A Generic Pay Connector: the merchant's endpoint Twilio POSTs the payment to."""

    endpoint_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)]
    username: Annotated[str, StringConstraints(max_length=256)] = ""
    password: Annotated[str, StringConstraints(max_length=256)] = ""
    mode: Mode = "test"
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    retries: Annotated[int, Field(ge=0, le=10)] = 5
    legacy_paths: bool = False

    def config(self) -> GenericConnector:
        return GenericConnector(**self.model_dump())


class ConnectorFixture(_Fixture):
    account_sid: AccountSid
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    charge: bool = True
    tokenize: bool = True
    currencies: tuple[Currency, ...] | None = None
    payment_methods: tuple[PaymentMethod, ...] = PAYMENT_METHODS
    token_types: tuple[TokenType, ...] = TOKEN_TYPES
    generic: GenericFixture | None = None

    def connector(self) -> Connector:
        return Connector(
            name=self.name,
            charge=self.charge,
            tokenize=self.tokenize,
            currencies=self.currencies,
            payment_methods=self.payment_methods,
            token_types=self.token_types,
            generic=self.generic.config() if self.generic is not None else None,
        )

    @property
    def key(self) -> str:
        return f"connector:{self.account_sid}:{self.name}"


class FixtureSet(_Fixture):
    accounts: list[AccountFixture] = Field(default_factory=list)
    api_keys: list[ApiKeyFixture] = Field(default_factory=list)
    calls: list[CallFixture] = Field(default_factory=list)
    connectors: list[ConnectorFixture] = Field(default_factory=list)
    phones: list[PhoneFixture] = Field(default_factory=list)


def parse_fixtures(files: Iterable[tuple[str, str]]) -> FixtureSet:
    """Validate and merge fixture files, given as (name, text); a :class:`ConfigError` names
    what is wrong, and in which file."""
    merged: dict[str, list[_Fixture]] = {name: [] for name in FixtureSet.model_fields}
    names: list[str] = []
    for name, text in files:
        names.append(name)
        try:
            fixture_set = FixtureSet.model_validate_json(text)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'file'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"invalid fixture file {name!r}: {problems}") from None
        for field_name in merged:
            merged[field_name].extend(getattr(fixture_set, field_name))
    result = FixtureSet.model_validate(merged)
    _check_references(result, names)
    return result


def _check_references(fixtures: FixtureSet, names: Iterable[str] = ()) -> None:
    loaded = ", ".join(names) or "no files"
    seen: set[str] = set()
    sids = [f.sid for f in fixtures.accounts] + [f.sid for f in fixtures.api_keys]
    for sid in sids + [f.sid for f in fixtures.calls]:
        key = sid.lower()
        if key in seen:
            raise ConfigError(f"invalid fixtures: {sid} is declared more than once")
        seen.add(key)
    accounts = {a.sid for a in fixtures.accounts}
    for account in fixtures.accounts:
        if account.parent_sid is not None and account.parent_sid not in accounts:
            raise ConfigError(
                f"invalid fixtures: account {account.sid} names parent {account.parent_sid}, "
                f"which is not declared in the fixture files loaded ({loaded})"
            )
        if account.parent_sid == account.sid:
            raise ConfigError(f"invalid fixtures: account {account.sid} is its own parent")
    owners = [(k.sid, k.account_sid) for k in fixtures.api_keys]
    owners += [(c.sid, c.account_sid) for c in fixtures.calls]
    owners += [(f"connector {c.name}", c.account_sid) for c in fixtures.connectors]
    owners += [(f"the phone at {p.number}", p.account_sid) for p in fixtures.phones]
    phones = [(p.account_sid, p.number) for p in fixtures.phones]
    if len(set(phones)) != len(phones):
        raise ConfigError("invalid fixtures: a phone is declared twice for one account")
    connector_keys = [c.key for c in fixtures.connectors]
    if len(set(connector_keys)) != len(connector_keys):
        raise ConfigError("invalid fixtures: a connector is declared twice for one account")
    for sid, account_sid in owners:
        if account_sid not in accounts:
            raise ConfigError(
                f"invalid fixtures: {sid} belongs to account {account_sid}, which is not declared "
                f"in the fixture files loaded ({loaded})"
            )


def parents_first(accounts: list[AccountFixture]) -> list[AccountFixture]:
    by_sid = {a.sid: a for a in accounts}
    ordered: list[AccountFixture] = []
    placed: set[str] = set()

    def place(account: AccountFixture, path: tuple[str, ...]) -> None:
        if account.sid in placed:
            return
        if account.sid in path:
            raise ConfigError(f"invalid fixtures: accounts {' -> '.join(path)} form a cycle")
        if account.parent_sid is not None:
            place(by_sid[account.parent_sid], (*path, account.sid))
        placed.add(account.sid)
        ordered.append(account)

    for account in accounts:
        place(account, ())
    return ordered
