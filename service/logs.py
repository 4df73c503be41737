"""Structured (JSON lines) logs. Nothing logged carries keys, tokens or member needs."""

from __future__ import annotations

import json
import logging
import sys
import time

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# Fields that must never reach a log line, whoever passes them in ``extra``.
_REDACTED = {"authorization", "token", "key", "platform_key", "organiser_key", "admin_token",
             "needs", "private_needs", "offers", "secret"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD and not name.startswith("_") and name != "color_message":
                entry[name] = "[redacted]" if name.lower() in _REDACTED else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs come from our own middleware, without query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # The embedded server's start-up chatter is for debugging only.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
