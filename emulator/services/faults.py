"""Fault injection: errors, latency and dropped connections on demand, for the Twilio paths.

A rule matches requests by method, path (a regular expression searched in the path) and the
account in the path; it fires for its next ``times`` matches, or with a ``probability``, or
both. ``error`` answers Twilio's error body with the rule's status and code, ``delay`` adds
latency before the request is handled normally, ``drop`` closes the connection without an
answer. A request answered by an ``error`` or ``drop`` rule changes no state.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from emulator.domain.masking import mask_card_numbers

__all__ = ["Action", "FaultRule", "Faults"]

Action = Literal["error", "delay", "drop"]


@dataclass(slots=True)
class FaultRule:
    id: int
    action: Action
    method: str | None = None
    path: str | None = None
    account_sid: str | None = None
    status: int = 500
    code: int = 20500
    message: str | None = None
    delay_ms: int = 0
    times: int | None = None  # None: no limit
    probability: float | None = None  # None: always
    fired: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path) if self.path else None
        if self.message is not None:  # shown in answers and the inspector: never a card number
            self.message = mask_card_numbers(self.message)

    def matches(self, method: str, path: str, account_sid: str | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        if self.account_sid is not None and self.account_sid != account_sid:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def view(self) -> dict[str, Any]:
        view = asdict(self)
        view.pop("_pattern")
        view["remaining"] = None if self.times is None else max(self.times - self.fired, 0)
        return view


class Faults:
    """The rules in force; the first matching rule that fires wins."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._random = rng or random.Random()
        self._lock = threading.Lock()

    def add(self, **fields: Any) -> FaultRule:
        with self._lock:
            rule = FaultRule(id=self._next_id, **fields)
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: int) -> bool:
        """Remove one rule; False if there is none with that id."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.id == rule_id:
                    del self._rules[index]
                    return True
        return False

    def clear(self, rng: random.Random | None = None) -> None:
        """Remove every rule; with ``rng``, draw probabilities from it from now on."""
        with self._lock:
            self._rules.clear()
            if rng is not None:
                self._random = rng

    def rules(self) -> list[FaultRule]:
        return list(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def pick(self, method: str, path: str, account_sid: str | None) -> FaultRule | None:
        """The rule that fires for this request, counted as fired; None if none does."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, account_sid):
                    continue
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None
