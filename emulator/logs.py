"""Logging: lines for people (``text``, the default) or one JSON object a line (``json``).

Both go to stderr. ``json`` is for CI and log collectors: every record is an object with
``time`` (ISO 8601 UTC, milliseconds), ``level``, ``logger`` and ``message``, plus the fields
the emulator knows of what it logs: ``request_id``, ``method``, ``path``, ``status``, ``code``
(Twilio's error code), ``duration_ms``, ``account``, ``call``, ``session``, and ``event``
(``request``, ``callback.delivered``, ``callback.failed``, ``callback.retrying``,
``connector.request``, ``listening``, ...). At ``debug`` the access log is one ``request``
object per request, written by the emulator (``emulator.access``) instead of uvicorn's.

Nothing logged carries card data: the access log has no form parameters, callback and
connector records carry SIDs, URLs (passwords masked) and statuses.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["JsonFormatter", "announce", "log_config"]

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_HIDDEN = frozenset({"color_message"})  # uvicorn's coloured copy of the message


def _time(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message, and the record's extra
    fields (those a ``logger.info(..., extra={...})`` gave it), ``None`` ones left out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in _HIDDEN and value is not None:
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` for uvicorn and the emulator's loggers: uvicorn's own
    set-up for ``text``; everything as JSON lines on stderr for ``json``, where the access log
    is the emulator's (``emulator.access``) and uvicorn's is dropped."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    emulator_level = "DEBUG" if level == "trace" else level.upper()
    config["loggers"]["emulator"] = {
        "handlers": ["default"],
        "level": emulator_level,
        "propagate": False,
    }
    if log_format != "json":
        # uvicorn's access log (at debug) is the text format's: the emulator's is not shown
        config["loggers"]["emulator.access"] = {
            "handlers": [],
            "level": "CRITICAL",
            "propagate": False,
        }
        return config
    config["formatters"] = {"json": {"()": f"{__name__}.JsonFormatter"}}
    config["handlers"] = {
        "default": {
            "formatter": "json",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
        "access": {"class": "logging.NullHandler"},
    }
    return config


def announce(log_format: str, message: str, **fields: Any) -> None:
    """A line written whatever the log level (the address a server listens on: tools read
    it), as text or as a JSON object of the ``emulator`` logger at ``info``."""
    if log_format == "json":
        now = datetime.now(UTC).timestamp()
        line = json.dumps(
            {
                "time": _time(now),
                "level": "info",
                "logger": "emulator",
                "message": message,
                **fields,
            },
            default=str,
            ensure_ascii=False,
        )
    else:
        line = message
    print(line, file=sys.stderr, flush=True)
