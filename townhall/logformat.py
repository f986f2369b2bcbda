"""The log's two formats: plain lines for a terminal (the default), or JSON lines for a log
collector, one object a line: `time`, `level`, `logger`, `message`, and where a line is about a
message from a client, `forum`, `event`, `role` and `outcome` (`ok` or the refusal's code).

What a line may hold is what its call passes; no call passes a cookie id, a key or a post's text
(a participant is named by nothing at all, a connection by its Engine.IO session id)."""

from __future__ import annotations

import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("plain", "json")
PLAIN = "%(levelname)s %(name)s: %(message)s"
# The fields a client message's line carries (`extra=` of the logging call).
MESSAGE_FIELDS = ("forum", "event", "role", "outcome")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in MESSAGE_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def plain_uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own terminal lines, as ever, but its access lines on standard error with the
    rest of the log: standard output holds only the addresses printed at start."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def uvicorn_log_config(level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config` dict for uvicorn's `log_config`: its loggers and Townhall's (the
    root's) in the one format."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonLines"} if log_format == "json" else {"format": PLAIN}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"townhall": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "townhall",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
