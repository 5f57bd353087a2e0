"""Copy as code: the twilio-python and twilio-node programs that play a session again on a
fresh call (of a fresh emulator, or this one), as :mod:`emulator.inspector.replay` planned it,
and check that it ends in the same state with the same ``Result``. Pure.

The requests come from the journal (its form values, already scrubbed of long digit runs).
Accepted requests become SDK calls with fresh IdempotencyKeys (the old keys would replay the
old answers); refused ones become comments. The caller, the waits, the clock and the outcome
go through the emulator's test API: ``emulator.testing.ControlClient`` in Python, the Node
helper (npm ``twilio-payments-emulator``) in Node. The emulator is ``PAYMENTS_EMULATOR_URL``,
by default the one that served the page. Credentials: the built-in account's are public and
printed; a control-plane account is made afresh; another fixture account's secret is read
from the environment (it is not in the page).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from emulator.domain.fixtures import (
    BUILT_IN_API_KEY_SECRET,
    BUILT_IN_API_KEY_SID,
    BUILT_IN_AUTH_TOKEN,
)
from emulator.domain.records import ForcedOutcome
from emulator.domain.vocabulary import CREATE_PARAMETERS, UPDATE_PARAMETERS
from emulator.inspector.replay import Replay, ReplayStep

__all__ = ["CREATE", "UPDATE", "Snippets", "snippets"]

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
class Snippets:
    python: str
    node: str


def snippets(replay: Replay) -> Snippets:
    """The two programs that play ``replay``."""
    return Snippets(python=_python(replay), node=_node(replay))


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


def _arguments(step: ReplayStep) -> tuple[list[tuple[str, str]], list[str]]:
    """(SDK parameters, form names the SDK method does not take) of a request."""
    known = CREATE_PARAMS if step.kind == CREATE else UPDATE_PARAMS
    taken = [(name, value) for name, value in step.params if name in known]
    ignored = [name for name, _ in step.params if name not in known and name != "IdempotencyKey"]
    return taken, ignored


def _comment_lines(prefix: str, text: str) -> list[str]:
    return [f"{prefix} {line}" for line in text.splitlines() or [""]]


def _wait_python(replay: Replay, wait_for: int) -> str:
    return (
        f"control.callbacks(payment_sid=payment.sid, wait_for={wait_for}, timeout=30)"
        f"  # {_waited(replay, wait_for)}"
    )


def _wait_node(replay: Replay, wait_for: int) -> str:
    return (
        f"  await control.callbacks({{ paymentSid: payment.sid, waitFor: {wait_for},"
        f" timeoutMs: 30000 }}); // {_waited(replay, wait_for)}"
    )


def _waited(replay: Replay, wait_for: int) -> str:
    last = replay.events[wait_for - 1] if 0 < wait_for <= len(replay.events) else "?"
    return f"{wait_for} callback{'' if wait_for == 1 else 's'}, the last: {last}"


def _python_outcome(outcome: ForcedOutcome) -> list[str]:
    arguments = [f"    result={_string(outcome.result)},"]
    if outcome.pay_error_code is not None:
        arguments.append(f"    pay_error_code={_string(str(outcome.pay_error_code))},")
    if outcome.payment_error:
        arguments.append(f"    payment_error={_string(outcome.payment_error)},")
    if outcome.connector_error:
        arguments.append(f"    connector_error={_string(outcome.connector_error)},")
    return ["control.set_outcome(", "    payment.sid,", *arguments, ")"]


def _node_outcome(outcome: ForcedOutcome) -> list[str]:
    fields = [f"result: {_string(outcome.result)}"]
    if outcome.pay_error_code is not None:
        fields.append(f"payErrorCode: {_string(str(outcome.pay_error_code))}")
    if outcome.payment_error:
        fields.append(f"paymentError: {_string(outcome.payment_error)}")
    if outcome.connector_error:
        fields.append(f"connectorError: {_string(outcome.connector_error)}")
    body = ",\n".join(f"    {field}" for field in fields)
    return ["  await control.setOutcome(payment.sid, {", body + ",", "  });"]


def _header(replay: Replay, comment: str) -> list[str]:
    lines = [
        f"{comment} Payment session {replay.payment_sid} played again on a fresh call: the same",
        f"{comment} requests, {'an auto' if replay.caller == 'auto' else 'a manual'} caller, the"
        " same outcome; it checks the end state.",
        f"{comment} Against another emulator: PAYMENTS_EMULATOR_URL=http://host:port",
    ]
    lines += [f"{comment} ({note})" for note in replay.notes]
    return lines


def _caller_step(step: ReplayStep, python: bool) -> list[str]:
    """A key, a hang-up, a Timeout: through the control plane."""
    if step.kind == "key":
        what = (
            "presses *"
            if step.digits == "*"
            else ("keys part of an entry" if step.partial else "keys an entry")
        )
        if step.text:
            what += f" ({step.text})"
        if python:
            partial = ", partial=True" if step.partial else ""
            return [
                f"control.key_in(payment.sid, {_string(step.digits)}{partial})  # the caller {what}"
            ]
        partial = ", { partial: true }" if step.partial else ""
        return [
            f"  await control.keyIn(payment.sid, {_string(step.digits)}{partial}); // the caller {what}"
        ]
    if step.kind == "hang-up":
        if python:
            return ["control.hang_up(call_sid)  # the caller hangs up"]
        return ["  await control.hangUp(callSid); // the caller hangs up"]
    # a Timeout passes: the clock moves on past it
    if python:
        return [f"control.set_clock(advance_seconds={step.seconds})  # the caller's Timeout passes"]
    return [
        f"  await control.setClock({{ advanceSeconds: {step.seconds} }}); // the caller's Timeout passes"
    ]


def _python(replay: Replay) -> str:
    lines = [
        *_header(replay, "#"),
        "import os",
        "import secrets",
        "",
        "from twilio.rest import Client",
        "",
        "from emulator.testing import ControlClient",
        "",
    ]
    lines += [
        f'base_url = os.environ.get("PAYMENTS_EMULATOR_URL", {_string(replay.base_url)})',
        "control = ControlClient(base_url)",
    ]
    account = _string(replay.account_sid)
    api_key = replay.username.startswith("SK")
    if replay.account_kind == "built-in":
        if api_key:
            lines.append(
                f"client = Client({_string(BUILT_IN_API_KEY_SID)}, {_string(BUILT_IN_API_KEY_SECRET)},"
                f" {account})  # the built-in API key (public)"
            )
        else:
            lines.append(
                f"client = Client({account}, {_string(BUILT_IN_AUTH_TOKEN)})"
                "  # the built-in account (public)"
            )
    elif replay.account_kind == "created":
        lines.append(
            f"account = control.create_account()  # a fresh one: {replay.account_sid} was made so too"
        )
        account = "account.account_sid"
        if api_key:
            lines.append(
                "client = Client(account.api_key_sid, account.api_key_secret, account.account_sid)"
            )
        else:
            lines.append("client = Client(account.account_sid, account.auth_token)")
    else:
        secret = f"os.environ[{_string(_secret_variable(replay.username))}]"
        extra = f", {account}" if api_key else ""
        lines.append(
            f"client = Client({_string(replay.username)}, {secret}{extra})  # a fixture account"
        )
    lines.append("client.api.base_url = base_url")
    if replay.connector is not None:
        lines.append(
            f"control.create_connector({account}, {_string(replay.connector)})  # the session's Pay Connector, built in"
        )
    lines.append("")
    caller = [f"caller={_string(replay.caller)}"]
    if replay.script:
        caller.append(f"script={json.dumps(replay.script)}")
    lines.append(
        f"call_sid = control.create_call({account}, {', '.join(caller)})  # the session ran on {replay.call_sid}"
    )
    created = False
    waited = 0
    for step in replay.steps:
        if step.kind == "note":
            lines += _comment_lines("#", step.text)
            continue
        if not created and step.kind != CREATE:
            continue  # nothing to wait on before the session exists
        if step.wait_for > waited:
            lines.append(_wait_python(replay, step.wait_for))
            waited = step.wait_for
        if step.kind == "outcome" and step.outcome is not None:
            lines += _python_outcome(step.outcome)
            continue
        if step.kind in ("key", "hang-up", "timeout"):
            lines += _caller_step(step, python=True)
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
        else:
            lines += ["client.calls(call_sid).payments(payment.sid).update(", *arguments, ")"]
    if not created:
        lines.append("# the session's create is no longer in the journal: nothing to send")
        return "\n".join(lines) + "\n"
    if replay.ended:
        lines.append("view = control.wait_until_ended(payment.sid, timeout=30)")
    else:
        lines += [_wait_python(replay, replay.callbacks), "view = control.payment(payment.sid)"]
    expected = f"({_string(replay.state)}, {_string(replay.result) if replay.result else 'None'})"
    lines += [
        'print(payment.sid, view["state"], view["result"])',
        f'assert (view["state"], view["result"]) == {expected}, view',
    ]
    return "\n".join(lines) + "\n"


def _node(replay: Replay) -> str:
    lines = [
        *_header(replay, "//"),
        'const assert = require("assert");',
        'const crypto = require("crypto");',
        'const twilio = require("twilio");',
        'const { ControlClient, pointAtEmulator } = require("twilio-payments-emulator");',
        "",
        f"const baseUrl = process.env.PAYMENTS_EMULATOR_URL || {_string(replay.base_url)};",
        "const control = new ControlClient(baseUrl);",
        "",
        "(async () => {",
    ]
    account = _string(replay.account_sid)
    api_key = replay.username.startswith("SK")
    if replay.account_kind == "built-in":
        if api_key:
            credentials = (
                f"{_string(BUILT_IN_API_KEY_SID)}, {_string(BUILT_IN_API_KEY_SECRET)},"
                f" {{ accountSid: {account} }}"
            )
            lines.append(
                f"  const client = pointAtEmulator(twilio({credentials}), baseUrl); // the built-in API key (public)"
            )
        else:
            lines.append(
                f"  const client = pointAtEmulator(twilio({account}, {_string(BUILT_IN_AUTH_TOKEN)}), baseUrl);"
                " // the built-in account (public)"
            )
    elif replay.account_kind == "created":
        lines.append(
            f"  const account = await control.createAccount(); // a fresh one: {replay.account_sid} was made so too"
        )
        account = "account.accountSid"
        if api_key:
            lines.append(
                "  const client = pointAtEmulator(twilio(account.apiKeySid, account.apiKeySecret, { accountSid: account.accountSid }), baseUrl);"
            )
        else:
            lines.append(
                "  const client = pointAtEmulator(twilio(account.accountSid, account.authToken), baseUrl);"
            )
    else:
        secret = f"process.env.{_secret_variable(replay.username)}"
        extra = f", {{ accountSid: {account} }}" if api_key else ""
        lines.append(
            f"  const client = pointAtEmulator(twilio({_string(replay.username)}, {secret}{extra}), baseUrl); // a fixture account"
        )
    if replay.connector is not None:
        lines.append(
            f"  await control.createConnector({account}, {_string(replay.connector)}); // the session's Pay Connector, built in"
        )
    options = [f"caller: {_string(replay.caller)}"]
    if replay.script:
        options.append(f"script: {json.dumps(replay.script)}")
    lines.append(
        f"  const callSid = await control.createCall({account}, {{ {', '.join(options)} }}); // the session ran on {replay.call_sid}"
    )
    created = False
    waited = 0
    for step in replay.steps:
        if step.kind == "note":
            lines += _comment_lines("  //", step.text)
            continue
        if not created and step.kind != CREATE:
            continue
        if step.wait_for > waited:
            lines.append(_wait_node(replay, step.wait_for))
            waited = step.wait_for
        if step.kind == "outcome" and step.outcome is not None:
            lines += _node_outcome(step.outcome)
            continue
        if step.kind in ("key", "hang-up", "timeout"):
            lines += _caller_step(step, python=False)
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
        else:
            lines += [
                "  await client.calls(callSid).payments(payment.sid).update({",
                *arguments,
                "  });",
            ]
    if not created:
        lines += ["  // the session's create is no longer in the journal: nothing to send", "})();"]
        return "\n".join(lines) + "\n"
    if replay.ended:
        lines.append(
            "  const view = await control.waitUntilEnded(payment.sid, { timeoutMs: 30000 });"
        )
    else:
        lines += [
            _wait_node(replay, replay.callbacks),
            "  const view = await control.payment(payment.sid);",
        ]
    expected = f"[{_string(replay.state)}, {_string(replay.result) if replay.result else 'null'}]"
    lines += [
        "  console.log(payment.sid, view.state, view.result);",
        f"  assert.deepStrictEqual([view.state, view.result], {expected});",
        "})().catch((error) => {",
        "  console.error(error);",
        "  process.exitCode = 1;",
        "});",
    ]
    return "\n".join(lines) + "\n"
