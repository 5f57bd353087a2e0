"""A webhook as Twilio sends it: StatusCallbacks and voice webhooks are built here alike.

The parameters go in the query of a GET, or as a form in the body of a POST; the request is
signed (``X-Twilio-Signature`` over the URL Twilio signs and the form's parameters) and carries
the ``I-Twilio-Idempotency-Token`` that every try of it repeats. Its timeouts are the URL's
connection overrides (``#ct``, ``#rt``), never beyond the deadline of all its tries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from emulator.domain.forms import form_body
from emulator.domain.overrides import Overrides
from emulator.domain.signing import compute_signature, signed_url
from emulator.domain.voice import with_query
from emulator.outgoing.client import USER_AGENT, OutgoingRequest

__all__ = ["signed_webhook"]

FORM = "application/x-www-form-urlencoded"


def signed_webhook(
    method: str,
    url: str,
    params: Sequence[tuple[str, str]],
    auth_token: str,
    idempotency_token: str,
    settings: Overrides,
    deadline: float,
    *,
    headers: Mapping[str, str] | None = None,
    max_answer_bytes: int | None = None,
) -> OutgoingRequest:
    """The request to send to ``url`` (absolute, without its overrides' fragment) by
    ``time.monotonic()`` ``deadline``; ``headers`` are added to Twilio's own."""
    sent = {"User-Agent": USER_AGENT, **(headers or {})}
    sent["I-Twilio-Idempotency-Token"] = idempotency_token
    body = b""
    if method == "GET":  # the parameters in the query: the signed URL has them
        url = with_query(url, list(params))
        sent["X-Twilio-Signature"] = compute_signature(auth_token, signed_url(url), ())
    else:
        body = form_body(params)
        sent["Content-Type"] = FORM
        sent["X-Twilio-Signature"] = compute_signature(auth_token, signed_url(url), params)
    remaining_s = max(deadline - time.monotonic(), 0.001)
    return OutgoingRequest(
        method,
        url,
        sent,
        body,
        timeout_s=min(settings.read_timeout_ms / 1000, remaining_s),
        connect_timeout_s=min(settings.connect_timeout_ms / 1000, remaining_s),
        deadline_s=remaining_s,
        max_answer_bytes=max_answer_bytes,
    )
