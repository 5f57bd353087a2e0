"""The Calls resource's form fields -> typed requests, or Twilio's error for the first bad
field.

The order of the checks is Twilio's, as observed: "validates To, then Url, then From —
matching live Twilio order" (``{}`` -> 21201, ``{To}`` -> 21205, ``{To, Url}`` -> 21213);
then each value. Codes are the error dictionary's: 21201 no ``To``, 21205 no or a bad
``Url``, 21213 no ``From``, 21211/21212 a bad ``To``/``From``, 21209 a bad method, 21609 a
bad ``StatusCallback``, 21626 a bad ``StatusCallbackEvent``, 21208 a bad ``Timeout``, 13216 a
bad ``TimeLimit``, 32018 a ``Twiml`` over 4000 characters, 21218 an ``ApplicationSid`` (the
emulator has no applications). Parameters the emulator does not use (``Record``,
``MachineDetection``, ``SendDigits``, ...) are accepted and ignored, as unknown ones are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from emulator.domain.calls import (
    CALL_EVENTS,
    CANCELED,
    COMPLETED,
    DEFAULT_EVENTS,
    DEFAULT_TIME_LIMIT_S,
    DEFAULT_TIMEOUT_S,
    MAX_TIME_LIMIT_S,
    MAX_TIMEOUT_S,
    CreateCall,
    UpdateCall,
)
from emulator.errors import (
    CallApplicationInvalid,
    CallFromInvalid,
    CallFromMissing,
    CallMethodInvalid,
    CallParameterInvalid,
    CallStatusCallbackEventInvalid,
    CallStatusCallbackInvalid,
    CallTimeLimitInvalid,
    CallTimeoutInvalid,
    CallToInvalid,
    CallToMissing,
    CallTwimlTooLong,
    CallUrlInvalid,
    TwilioError,
)
from emulator.twilio_api.params import valid_host

__all__ = ["MAX_TWIML", "MAX_URL", "parse_create_call", "parse_update_call"]

Pairs = Sequence[tuple[str, str]]

MAX_TWIML: Final = 4000  # "Max 4000 characters" (the spec's Twiml)
MAX_URL: Final = 4000  # "The maximum length of the StatusCallback is 4000 characters" (21609)
MAX_ENDPOINT: Final = 256
_SHOWN: Final = 64

_NUMBER = re.compile(r"\+?[0-9]{2,15}")
_FORMATTING = re.compile(r"[\s().-]")
_IDENTITY = re.compile(r"(?:client|sip|sim):\S{1,250}", re.IGNORECASE)
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f]")


def _shown(value: str) -> str:
    text = value.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _first(form: Pairs, name: str) -> str | None:
    for key, value in form:
        if key == name:
            return value
    return None


def _text(form: Pairs, name: str, limit: int, error: type[TwilioError]) -> str | None:
    """A value, within its length and valid UTF-8; None when absent or empty."""
    value = _first(form, name)
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise error(f"{name} is longer than {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{name} is not valid UTF-8") from None
    return value


def _is_url(value: str) -> bool:
    """An absolute http(s) URL naming a valid host (a connection-override fragment allowed)."""
    if _NOT_IN_URL.search(value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and valid_host(parts.hostname or "")
    )


def _url(form: Pairs, name: str, error: type[TwilioError]) -> str | None:
    value = _text(form, name, MAX_URL, error)
    if value is not None and not _is_url(value):
        prefix = f"{error.message}: " if error is CallStatusCallbackInvalid else ""
        raise error(f"{prefix}{name} is not a valid URL: {_shown(value)}")
    return value


def _endpoint(value: str) -> bool:
    """A phone number (E.164, formatting characters allowed), or a ``client:``, ``sip:`` or
    ``sim:`` identity."""
    return bool(_NUMBER.fullmatch(_FORMATTING.sub("", value)) or _IDENTITY.fullmatch(value))


def _method(form: Pairs, name: str, default: str | None = "POST") -> str | None:
    value = _text(form, name, 16, CallMethodInvalid)
    if value is None:
        return default
    if value.upper() not in ("GET", "POST"):
        raise CallMethodInvalid(f"Invalid Method: {name} {_shown(value)!r} is not GET or POST")
    return value.upper()


def _seconds(form: Pairs, name: str, high: int, error: type[TwilioError]) -> int | None:
    """A whole number of seconds, at least 1; above ``high`` it is brought down to it."""
    value = _text(form, name, 16, error)
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise error(f"{error.message}: {name} {_shown(value)!r} is not a whole number of seconds")
    return min(int(text), high)


def _events(form: Pairs) -> tuple[str, ...]:
    """``StatusCallbackEvent``: "specify each one in a separate `status_callback_event`
    parameter"; a value listing several (``initiated, ringing``) is read too."""
    found: list[str] = []
    for key, value in form:
        if key != "StatusCallbackEvent":
            continue
        for event in re.split(r"[\s,]+", value.strip()):
            if not event:
                continue
            if event not in CALL_EVENTS:
                raise CallStatusCallbackEventInvalid(
                    f"Invalid 'StatusCallbackEvent': {_shown(event)!r} is not one of"
                    f" {', '.join(CALL_EVENTS)}"
                )
            if event not in found:
                found.append(event)
    return tuple(event for event in CALL_EVENTS if event in found) or DEFAULT_EVENTS


def _twiml(form: Pairs) -> str | None:
    value = _first(form, "Twiml")
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TWIML:
        raise CallTwimlTooLong()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CallTwimlTooLong("Twiml is not valid UTF-8") from None
    return value


def parse_create_call(form: Pairs) -> CreateCall:
    """A ``CreateCall`` request, or Twilio's error for its first bad parameter."""
    to = _text(form, "To", MAX_ENDPOINT, CallToInvalid)
    if to is None:
        raise CallToMissing()
    twiml = _twiml(form)
    url_given = _first(form, "Url") not in (None, "")
    application = _first(form, "ApplicationSid")
    if not url_given and twiml is None and not application:
        raise CallUrlInvalid()
    from_ = _text(form, "From", MAX_ENDPOINT, CallFromInvalid)
    if from_ is None:
        raise CallFromMissing()
    if application:
        raise CallApplicationInvalid(
            f"Invalid ApplicationSid: {_shown(application)} (the emulator has no applications:"
            " give Url or Twiml)"
        )
    url = _url(form, "Url", CallUrlInvalid)
    if not _endpoint(to):
        raise CallToInvalid(f"The 'To' number {_shown(to)} is not a valid phone number.")
    if not _endpoint(from_):
        raise CallFromInvalid(f"From is not a valid phone number: {_shown(from_)}")
    warnings: tuple[tuple[int, str], ...] = ()
    if url is not None and twiml is not None:
        warnings = ((32019, "Twiml and Voice URL are both set. Using Voice URL."),)
    timeout = _seconds(form, "Timeout", MAX_TIMEOUT_S, CallTimeoutInvalid)
    time_limit = _seconds(form, "TimeLimit", MAX_TIME_LIMIT_S, CallTimeLimitInvalid)
    return CreateCall(
        to=to,
        from_=from_,
        url=url,
        twiml=twiml,
        method=_method(form, "Method") or "POST",
        fallback_url=_url(form, "FallbackUrl", CallUrlInvalid),
        fallback_method=_method(form, "FallbackMethod") or "POST",
        status_callback=_url(form, "StatusCallback", CallStatusCallbackInvalid),
        status_callback_events=_events(form),
        status_callback_method=_method(form, "StatusCallbackMethod") or "POST",
        timeout=DEFAULT_TIMEOUT_S if timeout is None else timeout,
        time_limit=DEFAULT_TIME_LIMIT_S if time_limit is None else time_limit,
        warnings=warnings,
    )


def parse_update_call(form: Pairs) -> UpdateCall:
    """An ``UpdateCall`` request, or Twilio's error for its first bad parameter. ``Url`` and
    ``Twiml`` together: the ``Url`` is used, as on create (the spec: "If both `twiml` and
    `url` are provided then `twiml` parameter will be ignored")."""
    url = _url(form, "Url", CallUrlInvalid)
    twiml = _twiml(form)
    status = _text(form, "Status", 32, CallParameterInvalid)
    if status is not None and status not in (CANCELED, COMPLETED):
        raise CallParameterInvalid(
            f"Invalid Status: {_shown(status)!r} is not one of {CANCELED}, {COMPLETED}"
        )
    return UpdateCall(
        url=url,
        twiml=None if url is not None else twiml,
        method=_method(form, "Method") or "POST",
        status=status,
        fallback_url=_url(form, "FallbackUrl", CallUrlInvalid),
        fallback_method=_method(form, "FallbackMethod", None),
        status_callback=_url(form, "StatusCallback", CallStatusCallbackInvalid),
        status_callback_method=_method(form, "StatusCallbackMethod", None),
        time_limit=_seconds(form, "TimeLimit", MAX_TIME_LIMIT_S, CallTimeLimitInvalid),
    )
