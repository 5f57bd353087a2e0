"""A client for the emulator's control plane (``/_emulator/...``), for tests.

:class:`ControlClient` has one method per control-plane endpoint, and
:meth:`~ControlClient.wait_until_ended`, which waits for a payment session to end without
knowing how many callbacks it makes::

    control = ControlClient("http://127.0.0.1:8080")
    account = control.create_account()
    call_sid = control.create_call(account.account_sid, caller="auto")
    ...  # the code under test starts a payment on call_sid, captures, completes
    control.set_outcome(payment_sid, result="payment-connector-error", pay_error_code="64012")
    view = control.wait_until_ended(payment_sid)
    assert view["result"] == "payment-connector-error"

A control-plane error (a 4xx or 5xx answer) raises :class:`ControlError`, whose message
carries the emulator's explanation (its ``detail``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

__all__ = ["ENDED_STATES", "Account", "ControlClient", "ControlError"]

ENDED_STATES = ("completed", "cancelled", "ended")
"""The states of a payment session that has ended (``active`` and ``processing`` have not)."""

_POLL_S = 5.0  # the longest a wait_until_ended long-poll waits before looking again
_SLACK_S = 10.0  # HTTP timeout beyond a long-poll's own
_MAX_WAIT_S = 120.0  # the longest one long-poll may wait (the emulator's limit)


@dataclass(frozen=True)
class Account:
    """A fresh account, as :meth:`ControlClient.create_account` makes it: its SID and auth
    token, and an API key (SID and secret) of its own."""

    account_sid: str
    auth_token: str
    api_key_sid: str
    api_key_secret: str
    parent_account_sid: str | None = None


class ControlError(httpx.HTTPStatusError):
    """The control plane refused a request (4xx) or failed (5xx). ``detail`` is what the
    emulator said (FastAPI's ``detail``: a text, or a list of validation problems)."""

    def __init__(self, response: httpx.Response) -> None:
        try:
            detail: Any = response.json().get("detail", response.text)
        except (ValueError, AttributeError):
            detail = response.text
        self.detail = detail
        request = response.request
        super().__init__(
            f"{request.method} {request.url.path} answered {response.status_code}: {detail}",
            request=request,
            response=response,
        )


class ControlClient:
    """A client for the control plane of the emulator at ``base_url``.

    Args:
        base_url: the emulator's address, e.g. ``http://127.0.0.1:8080``.
        timeout: seconds an ordinary request may take (long-polls get their own).
        token: the control-plane token, for an emulator started with ``--control-token``.

    It can be used as a context manager, which closes it. ``http`` is the underlying
    :class:`httpx.Client`, for anything else.
    """

    def __init__(self, base_url: str, timeout: float = 30.0, token: str | None = None) -> None:
        self.base_url = base_url
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self.http = httpx.Client(base_url=base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _json(self, response: httpx.Response) -> Any:
        if response.is_error:
            raise ControlError(response)
        return response.json()

    # --- the emulator ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /_emulator/health``.

        Returns:
            ``{"status": "ok", "version": "..."}``.
        """
        result: dict[str, Any] = self._json(self.http.get("/_emulator/health"))
        return result

    def reset(self, account_sid: str | None = None) -> None:
        """Wipe all state and reload the fixtures; or, with ``account_sid``, that account's
        data only (calls, sessions, callbacks, idempotency records, journal), keeping the
        account and its credentials.

        Args:
            account_sid: the account to reset; None resets everything.
        """
        params = {"account_sid": account_sid} if account_sid else None
        self._json(self.http.post("/_emulator/reset", params=params))

    def metrics(self) -> str:
        """``GET /_emulator/metrics``.

        Returns:
            The emulator's metrics in Prometheus's text format.
        """
        response = self.http.get("/_emulator/metrics")
        if response.is_error:
            raise ControlError(response)
        return response.text

    # --- accounts, calls and callers ---------------------------------------------------------

    def create_account(self, parent_account_sid: str | None = None) -> Account:
        """A fresh account with random credentials.

        Args:
            parent_account_sid: makes the new account a subaccount of this one.

        Returns:
            The account, with its auth token and an API key.
        """
        body = {"parent_account_sid": parent_account_sid} if parent_account_sid else {}
        return Account(**self._json(self.http.post("/_emulator/accounts", json=body)))

    def create_call(
        self,
        account_sid: str,
        caller: str | None = None,
        script: Mapping[str, str] | None = None,
        url: str | None = None,
        *,
        voice_url: str | None = None,
        method: str | None = None,
        from_: str | None = None,
        to: str | None = None,
        fallback_url: str | None = None,
        status_callback: str | None = None,
        status_callback_event: Sequence[str] | None = None,
        status_callback_method: str | None = None,
    ) -> str:
        """A new call of the account, with a simulated caller. Without ``voice_url``, a call
        in progress that runs no TwiML (for the Payments API); with it, an inbound call that
        rings and fetches its TwiML from ``voice_url`` (see :meth:`call`).

        Args:
            account_sid: the call's account.
            caller: ``auto`` (keys the script's value after each Capture, and at each
                ``<Gather>``) or ``manual`` (keys nothing until :meth:`key_in` or
                :meth:`key_in_call`); default: the emulator's ``caller`` setting.
            script: what the caller keys, per item (``{"payment-card-number": "4000..."}``)
                and at ``<Gather>``s (``gather``: at every one; ``gather-2``: at the second);
                a value ending in ``...`` makes the caller go quiet after it.
            url: the call's own URL, against which relative StatusCallbacks resolve (until
                the call runs a TwiML document: then that document's URL).
            voice_url: where the call fetches its TwiML (the voice webhook).
            method: ``POST`` (default) or ``GET``, for ``voice_url``.
            from_: the caller's number (``From``; default ``+15555550100``).
            to: the number called (``To``; default ``+15555550199``).
            fallback_url: asked when ``voice_url`` fails (with ``ErrorCode``, ``ErrorUrl``).
            status_callback: where the call's status callbacks go.
            status_callback_event: which: ``initiated``, ``ringing``, ``answered``,
                ``completed`` (default: ``completed``).
            status_callback_method: ``POST`` (default) or ``GET``.

        Returns:
            The CallSid.
        """
        body: dict[str, Any] = {"account_sid": account_sid, "script": dict(script or {})}
        optional: dict[str, Any] = {
            "caller": caller,
            "url": url,
            "voice_url": voice_url,
            "method": method,
            "from": from_,
            "to": to,
            "fallback_url": fallback_url,
            "status_callback": status_callback,
            "status_callback_method": status_callback_method,
            "status_callback_event": list(status_callback_event)
            if status_callback_event is not None
            else None,
        }
        body |= {key: value for key, value in optional.items() if value is not None}
        call_sid: str = self._json(self.http.post("/_emulator/calls", json=body))["call_sid"]
        return call_sid

    def call(self, call_sid: str) -> dict[str, Any]:
        """The call view.

        Args:
            call_sid: the call.

        Returns:
            ``{"call_sid", "account_sid", "status", "direction", "from", "to", "caller",
            "url", "runs_twiml", "voice_url", "waiting" ("gather", "pause", "pay" or None),
            "created_at", "start_time", "end_time", "duration", "steps", "status_callbacks",
            "pay_callbacks"}``; each step is ``{"at", "kind" (request, verb, prompt, pay,
            input, status, notice, note), "name", ...}``; a ``<Pay>`` verb's step names its
            payment session (``session``).
        """
        view: dict[str, Any] = self._json(self.http.get(f"/_emulator/calls/{call_sid}"))
        return view

    def key_in_call(self, call_sid: str, digits: str) -> dict[str, Any]:
        """The caller keys ``digits`` into the call's ``<Gather>`` (a ``#`` among them ends
        the input when it is the ``finishOnKey``), or into what its ``<Pay>`` asks for (up
        to a ``#``: the entry; without one: part of it; ``*``: the caller interrupts).

        Args:
            call_sid: the call, waiting in a ``<Gather>`` or asked for an item by a
                ``<Pay>`` (else :class:`ControlError`, 409).
            digits: ``0``-``9``, ``*`` and ``#``.

        Returns:
            The call view (see :meth:`call`).
        """
        view: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/calls/{call_sid}/digits", json={"digits": digits})
        )
        return view

    def wait_for_call(
        self,
        call_sid: str,
        status: str | Sequence[str] | None = None,
        waiting: str | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Wait until the call is in ``status`` (one of them), or waits in ``waiting``
        (``gather``, ``pause`` or ``pay``); the change feed (not a sleep) waits between looks.

        Args:
            call_sid: the call.
            status: e.g. ``completed``, or ``["completed", "canceled"]``.
            waiting: ``gather`` (it takes keys: :meth:`key_in_call`), ``pause`` or ``pay``
                (see :meth:`wait_for_pay`).
            timeout: seconds to wait at most.

        Returns:
            The call view (see :meth:`call`).

        Raises:
            TimeoutError: the call did not get there within ``timeout`` seconds.
        """
        wanted = (status,) if isinstance(status, str) else tuple(status or ())
        deadline = time.monotonic() + timeout
        while True:
            version = self.changes()
            view = self.call(call_sid)
            if (not wanted or view["status"] in wanted) and (
                waiting is None or view["waiting"] == waiting
            ):
                return view
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"call {call_sid} is {view['status']}"
                    + (f", waiting in {view['waiting']}" if view["waiting"] else "")
                    + f" after {timeout:g} s"
                )
            with contextlib.suppress(TimeoutError):
                self.wait_for_change(version, timeout=min(left, _POLL_S))

    def wait_for_pay(
        self,
        call_sid: str,
        asking: str | None = None,
        attempt: int | None = None,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Wait until the call's ``<Pay>`` asks for ``asking`` (its ``attempt``-th try, if
        given), or with no ``asking`` until it has started its payment session; then key
        with :meth:`key_in` (the session's SID is the view's ``sid``) or
        :meth:`key_in_call`.

        Args:
            call_sid: the call.
            asking: an item (``payment-card-number``, ``expiration-date``, ...;
                ``bank-account-number-matcher`` for its second entry).
            attempt: which try at it (from 1).
            timeout: seconds to wait at most.

        Returns:
            The session view (see :meth:`payment`), of the call's latest ``<Pay>``.

        Raises:
            TimeoutError: the ``<Pay>`` did not get there within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        seen = "no <Pay> yet"
        while True:
            version = self.changes()
            started = [
                step["session"]
                for step in self.call(call_sid)["steps"]
                if step["kind"] == "verb" and step["name"] == "Pay" and "session" in step
            ]
            if started:
                view = self.payment(started[-1])
                pay = view.get("pay") or {}
                if asking is None or (
                    view["capturing"] == asking
                    and (attempt is None or pay.get("attempt") == attempt)
                ):
                    return view
                seen = f"its <Pay> asks for {view['capturing']} (try {pay.get('attempt')})"
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"call {call_sid}: {seen} after {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                self.wait_for_change(version, timeout=min(left, _POLL_S))

    def set_caller(
        self, call_sid: str, mode: str, script: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Switch the call's simulated caller (and its active session's); an auto caller at
        once keys the item being captured.

        Args:
            call_sid: the call.
            mode: ``auto`` or ``manual``.
            script: a new script for the caller (see :meth:`create_call`).

        Returns:
            ``{"call_sid", "caller"}``.
        """
        body: dict[str, Any] = {"mode": mode}
        if script is not None:
            body["script"] = dict(script)
        result: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/calls/{call_sid}/caller", json=body)
        )
        return result

    def hang_up(self, call_sid: str) -> None:
        """End the call; a session still active on it ends with ``Result=caller-hung-up``.

        Args:
            call_sid: the call.
        """
        self._json(self.http.post(f"/_emulator/calls/{call_sid}/hangup"))

    # --- phones: callers set up before their calls exist ---------------------------------------

    def set_phone(
        self,
        account_sid: str,
        number: str,
        mode: str = "auto",
        script: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Set up who answers at ``number``: every call the account places to it with the
        Calls API (``To``), and every :meth:`create_call` from it (``from_``) that names no
        caller or script, starts with this caller. For tests whose application places the
        call, so the CallSid comes too late for :meth:`set_caller`. Kept in memory until
        :meth:`remove_phones`, a reset or a restart; replaces the phone at that number.

        Args:
            account_sid: the account whose calls it answers.
            number: the number, as the call gives it (``+14155550123``).
            mode: ``auto`` or ``manual`` (see :meth:`create_call`).
            script: what the caller keys (see :meth:`create_call`), at most 64 entries.

        Returns:
            ``{"account_sid", "number", "caller", "items"}`` (the script's keys, not its values).
        """
        body = {
            "account_sid": account_sid,
            "number": number,
            "caller": mode,
            "script": dict(script or {}),
        }
        result: dict[str, Any] = self._json(self.http.post("/_emulator/phones", json=body))
        return result

    def phones(self, account_sid: str | None = None) -> list[dict[str, Any]]:
        """The phones set up, oldest first (see :meth:`set_phone`).

        Args:
            account_sid: only this account's.
        """
        params = {"account_sid": account_sid} if account_sid else {}
        phones: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/phones", params=params)
        )["phones"]
        return phones

    def remove_phones(self, account_sid: str | None = None, number: str | None = None) -> int:
        """Forget phones; calls already placed keep their callers.

        Args:
            account_sid: only this account's (default: every account's).
            number: only the one at this number.

        Returns:
            How many were forgotten.
        """
        params = {
            key: value
            for key, value in {"account_sid": account_sid, "number": number}.items()
            if value is not None
        }
        removed: int = self._json(self.http.delete("/_emulator/phones", params=params))["removed"]
        return removed

    # --- payment sessions --------------------------------------------------------------------

    def key_in(self, payment_sid: str, digits: str, partial: bool = False) -> dict[str, Any]:
        """The caller keys ``digits`` into the item being captured (``*`` ends the session
        with ``Result=caller-interrupted-with-star``).

        Args:
            payment_sid: the session.
            digits: what the caller keys.
            partial: a partial entry (``PartialResult=true``); the next entry without it
                completes the item.

        Returns:
            The session view (see :meth:`payment`).
        """
        body = {"digits": digits, "partial": partial}
        view: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/payments/{payment_sid}/input", json=body)
        )
        return view

    def payment(self, payment_sid: str) -> dict[str, Any]:
        """The session view.

        Args:
            payment_sid: the session.

        Returns:
            ``{"sid", "account_sid", "call_sid", "state", "capturing", "required",
            "captured" (masked), "card_type", "result", "caller", "status_callback",
            "connector", "timeout", "input_deadline", "forced_outcome", "history",
            "connector_requests"}``; ``state`` is ``active``, ``processing``, ``completed``,
            ``cancelled`` or ``ended``.
        """
        view: dict[str, Any] = self._json(self.http.get(f"/_emulator/payments/{payment_sid}"))
        return view

    def set_outcome(
        self,
        payment_sid: str,
        result: str,
        pay_error_code: str | int | None = None,
        payment_error: str | None = None,
        connector_error: str | None = None,
    ) -> dict[str, Any]:
        """Decide what the session's next ``Status=complete`` produces, whatever the card
        (for built-in and Generic Pay Connectors alike: a generic one's endpoint is then
        not called).

        Args:
            payment_sid: the session (it must not have ended).
            result: ``success``, ``payment-connector-error`` or ``validation-error``.
            pay_error_code: the callback's ``PayErrorCode`` (e.g. ``64012``, a decline).
            payment_error: its ``PaymentError`` text (e.g. ``card is declined``).
            connector_error: its ``ConnectorError`` (e.g. ``card_declined``).

        Returns:
            The session view, with ``forced_outcome`` set.
        """
        body: dict[str, Any] = {"result": result}
        if pay_error_code is not None:
            body["pay_error_code"] = str(pay_error_code)
        if payment_error is not None:
            body["payment_error"] = payment_error
        if connector_error is not None:
            body["connector_error"] = connector_error
        view: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/payments/{payment_sid}/outcome", json=body)
        )
        return view

    def wait_until_ended(self, payment_sid: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the session has ended and its last StatusCallback has been attempted.

        No callback count is needed: the session's view says when it has ended, and how many
        callbacks it made; the callbacks' long-poll (not a sleep) waits between looks.

        Args:
            payment_sid: the session.
            timeout: seconds to wait at most.

        Returns:
            The session view (see :meth:`payment`), its ``state`` ``completed``,
            ``cancelled`` or ``ended``.

        Raises:
            TimeoutError: the session had not ended, or its last callback had not been
                attempted, after ``timeout`` seconds.
            ControlError: there is no such session (404).
        """
        deadline = time.monotonic() + timeout
        while True:
            # callbacks first, then the view: a session that ends in between has made a
            # callback the long-poll below has not counted yet, so it does not wait in vain
            attempted = _attempted(self.callbacks(payment_sid=payment_sid))
            view = self.payment(payment_sid)
            left = deadline - time.monotonic()
            if view["state"] in ENDED_STATES:
                made = len(view["history"])  # one entry per callback the session caused
                if attempted >= made:
                    return view
                if left <= 0:
                    raise TimeoutError(
                        f"payment session {payment_sid} ended ({view['state']}), but its last "
                        f"callback was not attempted within {timeout:g} s"
                    )
                self.callbacks(
                    payment_sid=payment_sid, wait_for=made, timeout=min(left, _MAX_WAIT_S)
                )
                continue
            if left <= 0:
                raise TimeoutError(
                    f"payment session {payment_sid} did not end within {timeout:g} s: it is "
                    f"{view['state']}"
                    + (f", capturing {view['capturing']}" if view.get("capturing") else "")
                    + (f", required {', '.join(view['required'])}" if view.get("required") else "")
                )
            started = time.monotonic()
            found = self.callbacks(
                payment_sid=payment_sid, wait_for=attempted + 1, timeout=min(left, _POLL_S)
            )
            if _attempted(found) <= attempted and time.monotonic() - started < 0.01:
                time.sleep(0.01)  # answered at once with nothing new: the emulator is stopping

    # --- StatusCallbacks ---------------------------------------------------------------------

    def callbacks(
        self,
        payment_sid: str | None = None,
        call_sid: str | None = None,
        account_sid: str | None = None,
        wait_for: int = 0,
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """The StatusCallbacks, in order, filtered by session, call or account.

        Args:
            payment_sid: only this session's.
            call_sid: only this call's.
            account_sid: only this account's.
            wait_for: wait until at least this many of them were attempted (delivered or
                failed); 0 answers at once.
            timeout: how long ``wait_for`` waits at most (then it answers with what there is).

        Returns:
            ``[{"id", "payment_sid" (None for a call's status callback), "event", "method",
            "url", "params", "headers", "response",
            "idempotency_token", "state", "attempts", "status_code", "error", "created_at",
            "delivered_at"}, ...]``.
        """
        params: dict[str, Any] = {
            k: v
            for k, v in {
                "payment_sid": payment_sid,
                "call_sid": call_sid,
                "account_sid": account_sid,
            }.items()
            if v
        }
        http_timeout: float | None = None
        if wait_for:
            params |= {"wait_for": wait_for, "timeout": timeout}
            http_timeout = timeout + _SLACK_S
        response = (
            self.http.get("/_emulator/callbacks", params=params, timeout=http_timeout)
            if http_timeout is not None
            else self.http.get("/_emulator/callbacks", params=params)
        )
        found: list[dict[str, Any]] = self._json(response)["callbacks"]
        return found

    def redeliver(self, callback_id: int) -> dict[str, Any]:
        """Send a callback again (after what is pending for its session).

        Args:
            callback_id: the callback's ``id`` (see :meth:`callbacks`).

        Returns:
            The callback, pending again.
        """
        callback: dict[str, Any] = self._json(
            self.http.post(f"/_emulator/callbacks/{callback_id}/redeliver")
        )
        return callback

    # --- Pay Connectors ----------------------------------------------------------------------

    def create_connector(
        self,
        account_sid: str,
        name: str,
        *,
        charge: bool = True,
        tokenize: bool = True,
        currencies: Sequence[str] | None = None,
        payment_methods: Sequence[str] | None = None,
        token_types: Sequence[str] | None = None,
        generic: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Install a Pay Connector on the account, with the fields of a fixture's
        ``connectors`` entry; one of the same name on the account is replaced.

        Args:
            account_sid: the account.
            name: what a session's ``PaymentConnector`` names (``Default`` is used when a
                session names none).
            charge: whether it can charge.
            tokenize: whether it can tokenize.
            currencies: ISO codes it accepts (default: any).
            payment_methods: ``credit-card``, ``ach-debit`` (default: both).
            token_types: ``one-time``, ``reusable``, ``payment-method`` (default: all).
            generic: makes it a Generic Pay Connector: ``{"endpoint_url", "username",
                "password", "mode" ("test" or "live"), "timeout_s", "retries",
                "legacy_paths"}`` (all but ``endpoint_url`` optional).

        Returns:
            The connector as installed (a generic one's password shown as ``****``).
        """
        body: dict[str, Any] = {
            "account_sid": account_sid,
            "name": name,
            "charge": charge,
            "tokenize": tokenize,
        }
        optional: dict[str, Iterable[str] | None] = {
            "currencies": currencies,
            "payment_methods": payment_methods,
            "token_types": token_types,
        }
        body |= {key: list(value) for key, value in optional.items() if value is not None}
        if generic is not None:
            body["generic"] = dict(generic)
        connector: dict[str, Any] = self._json(self.http.post("/_emulator/connectors", json=body))
        return connector

    # --- faults and the request journal ------------------------------------------------------

    def add_fault(self, action: str, **rule: Any) -> dict[str, Any]:
        """A fault rule for the Twilio API.

        Args:
            action: ``error`` (answers ``status`` and ``code``, and ``message``), ``delay``
                (``delay_ms``, then the request is handled) or ``drop`` (the connection is
                closed without an answer).
            **rule: ``method``, ``path`` (a regular expression searched in the path),
                ``account_sid`` to match; ``times`` (the next N matching requests) or
                ``probability``.

        Returns:
            The rule, with its ``id``.
        """
        created: dict[str, Any] = self._json(
            self.http.post("/_emulator/faults", json={"action": action, **rule})
        )
        return created

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, with how often each fired."""
        rules: list[dict[str, Any]] = self._json(self.http.get("/_emulator/faults"))["faults"]
        return rules

    def delete_fault(self, rule_id: int) -> list[dict[str, Any]]:
        """Remove one fault rule.

        Args:
            rule_id: the rule's ``id`` (from :meth:`add_fault`).

        Returns:
            The rules left.
        """
        rules: list[dict[str, Any]] = self._json(self.http.delete(f"/_emulator/faults/{rule_id}"))[
            "faults"
        ]
        return rules

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._json(self.http.delete("/_emulator/faults"))

    def requests(self, **filters: str | int) -> list[dict[str, Any]]:
        """The request journal: the Twilio API requests received, newest last.

        Args:
            **filters: ``account_sid``, ``call_sid``, ``payment_sid``, ``status``.

        Returns:
            ``[{"request_id", "time", "method", "path", "params" (card data masked),
            "authenticated_as", "auth_failure", "account_sid", "call_sid", "payment_sid",
            "status", "response", "duration_ms"}, ...]``; ``auth_failure`` says which
            authentication check failed for a 401.
        """
        result: list[dict[str, Any]] = self._json(
            self.http.get("/_emulator/requests", params=filters)
        )["requests"]
        return result

    # --- the clock and the change feed -------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        """The emulator's clock.

        Returns:
            ``{"now": "2030-01-01T00:00:00.000Z", "frozen": bool}``.
        """
        state: dict[str, Any] = self._json(self.http.get("/_emulator/clock"))
        return state

    def set_clock(
        self,
        freeze_at: str | None = None,
        advance_seconds: float | None = None,
        reset: bool = False,
    ) -> dict[str, Any]:
        """Freeze the emulator's clock, move it on, or give it back to real time.

        Args:
            freeze_at: a moment, ISO 8601 with a time zone (``2030-01-01T00:00:00Z``).
            advance_seconds: moves the clock on (input timeouts that pass fire at once).
            reset: back to real time (applied first).

        Returns:
            The clock (see :meth:`clock`).
        """
        body: dict[str, Any] = {"reset": reset}
        if freeze_at is not None:
            body["freeze_at"] = freeze_at
        if advance_seconds is not None:
            body["advance_seconds"] = advance_seconds
        state: dict[str, Any] = self._json(self.http.post("/_emulator/clock", json=body))
        return state

    def hold_clock(self) -> dict[str, Any]:
        """Stop the emulator's clock at the current instant: no session's ``Timeout`` passes
        while it is held (the clock is the whole emulator's, every session follows it).

        Returns:
            The clock (see :meth:`clock`), ``frozen`` true.
        """
        state: dict[str, Any] = self._json(self.http.post("/_emulator/clock", json={"hold": True}))
        return state

    def release_clock(self) -> dict[str, Any]:
        """Let a held (or frozen) clock run again from the instant it stood at: deadlines
        resume where they were, none jumps ahead (unlike ``set_clock(reset=True)``).

        Returns:
            The clock (see :meth:`clock`), ``frozen`` false.
        """
        state: dict[str, Any] = self._json(self.http.post("/_emulator/clock", json={"hold": False}))
        return state

    def changes(self) -> int:
        """The change feed's version: it grows whenever the emulator's state moves on."""
        version: int = self._json(self.http.get("/_emulator/changes"))["version"]
        return version

    def wait_for_change(self, since: int | None = None, timeout: float = 15.0) -> int:
        """Wait for the state to move on past version ``since``, through the server-sent
        events of ``GET /_emulator/events``.

        Args:
            since: the version seen (default: the current one, from :meth:`changes`).
            timeout: seconds to wait at most.

        Returns:
            The new version.

        Raises:
            TimeoutError: nothing changed within ``timeout`` seconds.
        """
        seen = self.changes() if since is None else since
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            try:
                with self.http.stream(
                    "GET",
                    "/_emulator/events",
                    params={"since": seen},
                    timeout=httpx.Timeout(left + _SLACK_S, read=left),
                ) as response:
                    if response.is_error:
                        response.read()
                        raise ControlError(response)
                    for line in response.iter_lines():
                        if line.startswith("data: ") and int(line[6:]) != seen:
                            return int(line[6:])
                        if time.monotonic() >= deadline:  # a keep-alive comment came
                            break
            except httpx.ReadTimeout:
                break
        raise TimeoutError(f"the emulator's state did not change within {timeout:g} s")


def _attempted(callbacks: Iterable[dict[str, Any]]) -> int:
    return sum(1 for callback in callbacks if callback["attempts"] > 0)
