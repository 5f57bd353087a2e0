"""Copy as code: the twilio-python and twilio-node programs that send a session's requests
again, to the emulator, on a new call. Pure.

The requests come from the journal (its form values, already scrubbed of long digit runs).
Accepted requests become SDK calls with fresh IdempotencyKeys (the old keys would replay the
old answers); refused ones, and what the caller did in between, become comments. Secrets
are not in the page: the program reads the password from an environment variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emulator.domain.vocabulary import CREATE_PARAMETERS, UPDATE_PARAMETERS

__all__ = ["SnippetStep", "Snippets", "snippets"]

CREATE = "create"
UPDATE = "update"

# The parameters each SDK method takes, by their form names (the key is the SDK's own).
CREATE_PARAMS = tuple(name for name in CREATE_PARAMETERS if name != "IdempotencyKey")
UPDATE_PARAMS = tuple(name for name in UPDATE_PARAMETERS if name != "IdempotencyKey")
BOOLEANS = frozenset({"PostalCode", "SecurityCode"})
INTEGERS = frozenset({"Timeout", "MinPostalCodeLength"})
NUMBERS = frozenset({"ChargeAmount"})
_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,6})?")
_INTEGER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True, slots=True)
class SnippetStep:
    """A request (``kind`` create or update, with its form ``params`` and answer ``status``,
    ``error``), or a comment (``kind`` note, in ``text``)."""

    kind: str
    params: tuple[tuple[str, str], ...] = ()
    status: int = 0
    error: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Snippets:
    python: str
    node: str


def snippets(
    base_url: str,
    account_sid: str,
    username: str | None,
    call_sid: str,
    payment_sid: str,
    steps: Sequence[SnippetStep],
) -> Snippets:
    """The two programs. ``username`` is who authenticated (an AC or SK SID)."""
    username = username or account_sid
    return Snippets(
        python=_python(base_url, account_sid, username, call_sid, payment_sid, steps),
        node=_node(base_url, account_sid, username, call_sid, payment_sid, steps),
    )


def _secret_variable(username: str) -> str:
    return "TWILIO_API_KEY_SECRET" if username.startswith("SK") else "TWILIO_AUTH_TOKEN"


def _string(value: str) -> str:
    """A string literal that Python and JavaScript both read (JSON's, ASCII only)."""
    return json.dumps(value)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _parameter_object(value: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    if isinstance(parsed, dict) and all(
        isinstance(v, str | int | float | bool) or v is None for v in parsed.values()
    ):
        return parsed
    return None


def _number(value: str) -> str:
    """A number literal both languages read (no leading zeros)."""
    whole, point, fraction = value.partition(".")
    return (whole.lstrip("0") or "0") + point + fraction


def _python_value(name: str, value: str) -> str:
    if name in BOOLEANS and value.lower() in ("true", "false"):
        return "True" if value.lower() == "true" else "False"
    if (name in INTEGERS and _INTEGER.fullmatch(value)) or (
        name in NUMBERS and _DECIMAL.fullmatch(value)
    ):
        return _number(value)
    if name == "Parameter" and (parsed := _parameter_object(value)) is not None:
        return repr(parsed)
    return _string(value)


def _node_value(name: str, value: str) -> str:
    if name in BOOLEANS and value.lower() in ("true", "false"):
        return value.lower()
    if (name in INTEGERS and _INTEGER.fullmatch(value)) or (
        name in NUMBERS and _DECIMAL.fullmatch(value)
    ):
        return _number(value)
    if name == "Parameter" and (parsed := _parameter_object(value)) is not None:
        return json.dumps(parsed)
    return _string(value)


def _arguments(step: SnippetStep) -> tuple[list[tuple[str, str]], list[str]]:
    """(SDK parameters, form names the SDK method does not take) of a request."""
    known = CREATE_PARAMS if step.kind == CREATE else UPDATE_PARAMS
    taken = [(name, value) for name, value in step.params if name in known]
    ignored = [name for name, _ in step.params if name not in known and name != "IdempotencyKey"]
    return taken, ignored


def _comment_lines(prefix: str, text: str) -> list[str]:
    return [f"{prefix} {line}" for line in text.splitlines() or [""]]


def _refusal(step: SnippetStep) -> str:
    what = "create" if step.kind == CREATE else "update"
    params = ", ".join(f"{name}={value}" for name, value in step.params if name != "IdempotencyKey")
    return f"refused {what} ({params}): {step.status} {step.error}".rstrip()


def _python(
    base_url: str,
    account_sid: str,
    username: str,
    call_sid: str,
    payment_sid: str,
    steps: Sequence[SnippetStep],
) -> str:
    credentials = f"{_string(username)}, os.environ[{_string(_secret_variable(username))}]"
    if username != account_sid:
        credentials += f", {_string(account_sid)}"
    lines = [
        "import os",
        "import secrets",
        "",
        "from twilio.rest import Client",
        "",
        f"# The requests of payment session {payment_sid}, sent again on a new call.",
        f"client = Client({credentials})",
        f"client.api.base_url = {_string(base_url)}",
        "",
        f"call_sid = {_string('CA')} + secrets.token_hex(16)  # the session ran on {call_sid}",
    ]
    created = False
    for step in steps:
        if step.kind == "note":
            lines += _comment_lines("#", step.text)
            continue
        if not 200 <= step.status < 300:
            lines += _comment_lines("#", _refusal(step))
            continue
        taken, ignored = _arguments(step)
        if ignored:
            lines.append(f"# not an SDK parameter, not sent: {', '.join(ignored)}")
        arguments = ["    idempotency_key=secrets.token_hex(8),"] + [
            f"    {_snake(name)}={_python_value(name, value)}," for name, value in taken
        ]
        if step.kind == CREATE:
            lines += ["payment = client.calls(call_sid).payments.create(", *arguments, ")"]
            created = True
        elif created:
            lines += ["client.calls(call_sid).payments(payment.sid).update(", *arguments, ")"]
    if created:
        lines.append("print(payment.sid)")
    return "\n".join(lines) + "\n"


def _node(
    base_url: str,
    account_sid: str,
    username: str,
    call_sid: str,
    payment_sid: str,
    steps: Sequence[SnippetStep],
) -> str:
    credentials = f"{_string(username)}, process.env.{_secret_variable(username)}"
    if username != account_sid:
        credentials += f", {{ accountSid: {_string(account_sid)} }}"
    lines = [
        'const crypto = require("crypto");',
        'const twilio = require("twilio");',
        "",
        f"// The requests of payment session {payment_sid}, sent again on a new call.",
        f"const client = twilio({credentials});",
        f"client.api.baseUrl = {_string(base_url)};",
        "",
        f'const callSid = "CA" + crypto.randomBytes(16).toString("hex"); // the session ran on {call_sid}',
        "(async () => {",
    ]
    created = False
    for step in steps:
        if step.kind == "note":
            lines += _comment_lines("  //", step.text)
            continue
        if not 200 <= step.status < 300:
            lines += _comment_lines("  //", _refusal(step))
            continue
        taken, ignored = _arguments(step)
        if ignored:
            lines.append(f"  // not an SDK parameter, not sent: {', '.join(ignored)}")
        arguments = ["    idempotencyKey: crypto.randomUUID(),"] + [
            f"    {_camel(name)}: {_node_value(name, value)}," for name, value in taken
        ]
        if step.kind == CREATE:
            lines += [
                "  const payment = await client.calls(callSid).payments.create({",
                *arguments,
                "  });",
            ]
            created = True
        elif created:
            lines += [
                "  await client.calls(callSid).payments(payment.sid).update({",
                *arguments,
                "  });",
            ]
    if created:
        lines.append("  console.log(payment.sid);")
    lines.append("})();")
    return "\n".join(lines) + "\n"
