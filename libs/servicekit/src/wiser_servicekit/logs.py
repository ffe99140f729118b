"""Structured JSON logs with trace and packet ids, and PHI redaction.

Logs carry ids, never PHI. The redaction filter is the safety net: it masks
anything shaped like an MBI, a date, an e-mail address or a phone number, and
drops query strings from access logs (searches carry names).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

packet_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("packet_id", default=None)

_MBI = re.compile(
    r"\b[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9][AC-HJKMNP-RT-Y]{2}[0-9]{2}\b",
    re.I,
)
_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?<![\w-])\+?1?\d{10}\b")  # not the tail of a UUID or another id
_QUERY = re.compile(r"\?[^\s\"']*")
_SHA256 = re.compile(r"[0-9a-f]{64}")  # a digest (e.g. an audit chain's head) is no PHI: kept whole
_PHI_KEYS = frozenset(
    {"mbi", "first_name", "last_name", "date_of_birth", "dob", "name", "address", "email", "phone", "fax", "q"}
)
_STD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}


def redact(text: str) -> str:
    text = _MBI.sub("[MBI]", text)
    text = _DATE.sub("[DATE]", text)
    text = _EMAIL.sub("[EMAIL]", text)
    return _PHONE.sub("[PHONE]", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        # Query strings carry searches (names, MBIs): no logger keeps them (access logs, HTTP clients, ...).
        message = _QUERY.sub("", record.getMessage())
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": redact(message),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        pid = packet_id_var.get()
        if pid:
            out["packet_id"] = pid
        for key, value in record.__dict__.items():
            if key in _STD_ATTRS or key.startswith("_"):
                continue
            if key in _PHI_KEYS:
                out[key] = "[REDACTED]"
            elif isinstance(value, str) and _SHA256.fullmatch(value):
                out[key] = value
            else:
                out[key] = redact(str(value))
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, default=str)


def setup_logging(service: str, level: str = "INFO", stream: Any = None) -> None:
    """Route every logger (ours, uvicorn's, FastStream's) through one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_wiser", False):
            root.removeHandler(h)
    handler._wiser = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aio_pika", "aiormq"):
        lg = logging.getLogger(name)
        lg.handlers = []
        lg.propagate = True
    logging.getLogger("aiormq").setLevel("WARNING")
    logging.getLogger("httpx").setLevel("WARNING")
    logging.getLogger("httpcore").setLevel("WARNING")
    logging.getLogger("aio_pika").setLevel("WARNING")


class _QuietRefusals(logging.Filter):
    """Drops uvicorn's access line for a 429 on the given paths: a flood of refused credential attempts would
    otherwise write a line per request (the guard logs one summary per address per minute instead)."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        super().__init__()
        self.paths = paths

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and args[4] == 429:
            return not str(args[2]).startswith(self.paths)
        return True


def quiet_access_refusals(*paths: str) -> None:
    access = logging.getLogger("uvicorn.access")
    for f in list(access.filters):
        if isinstance(f, _QuietRefusals):
            access.removeFilter(f)
    access.addFilter(_QuietRefusals(tuple(paths)))
