"""Logging: structlog to stdout, JSON lines when not on a terminal; context bound per request.

Every line the process prints goes through here, the standard library's loggers (aiohttp, asyncio, warnings)
included, and every value is scrubbed on the way out: phone numbers masked, credentials redacted, control
characters escaped, long text cut. Call sites still mask and clip what they log; this is the net under them.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from aiohttp.http_exceptions import HttpProcessingError

from gateway.config import Config
from gateway.relay.phones import mask

# Tracebacks as JSON without the frames' local variables, which hold message bodies, codes and secrets.
_TRACEBACKS = structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False))

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

# A run of 10 to 15 digits standing alone, with or without "+" (or "%2B", in a URL): the shape of an E.164
# number (ITU-T E.164 allows at most 15 digits); shorter runs are ids and counts.
_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+|%2[Bb])?(\d{10,15})(?![0-9A-Za-z])")
# RFC 9110 credentials after an auth scheme, wherever they turn up (an exception quoting a header line).
_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic|digest)(\s+|%20)[^\s'\",;]+")
_SECRET_KEYS = re.compile(r"(?i)authorization|token|secret|signature|password|cookie")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029]")
_LONGEST = 2000  # characters of any one logged value; call sites clip caller-supplied text much shorter


def clip(value: object, limit: int = 64) -> str | None:
    """Text a caller or carrier chose, fit for a log line: phones masked, control characters escaped as \\xNN,
    at most `limit` characters (then "..."). None stays None."""
    if value is None:
        return None
    text = _scrub_text(str(value), keep_newlines=False)
    return text if len(text) <= limit else text[:limit] + "..."


def _scrub_text(text: str, keep_newlines: bool) -> str:
    text = _PHONE.sub(lambda m: mask("+" + m.group(1)), text)
    text = _CREDENTIALS.sub(lambda m: m.group(1) + " [redacted]", text)

    def escape(m: re.Match) -> str:
        char = m.group(0)
        return char if keep_newlines and char in "\n\t" else char.encode("unicode_escape").decode("ascii")

    return _CONTROL.sub(escape, text)


def _scrub(value: Any, in_traceback: bool = False) -> Any:
    if isinstance(value, str):
        text = _scrub_text(value, keep_newlines=in_traceback)
        return text if len(text) <= _LONGEST or in_traceback else text[:_LONGEST] + "..."
    if isinstance(value, dict):
        return {key: _scrub_item(key, item, in_traceback) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item, in_traceback) for item in value]
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"  # raw request bytes are never logged
    return value


def _scrub_item(key: object, value: Any, in_traceback: bool) -> Any:
    if isinstance(key, str) and key != "event" and _SECRET_KEYS.search(key):
        return "[redacted]"
    return _scrub(value, in_traceback)


def scrub(_logger, _method: str, event_dict: dict) -> dict:
    """The last step before rendering: every value of every line, tracebacks included, scrubbed."""
    return {key: _scrub_item(key, value, key == "exception") for key, value in event_dict.items()}


def drop_request_bytes(_logger, _method: str, event_dict: dict) -> dict:
    """aiohttp's parse errors quote the raw request line or header (a token among them): keep only what
    kind of error it was, and no traceback, which is aiohttp's own and tells nothing about ours."""
    exc_info = event_dict.get("exc_info")
    exc = sys.exc_info()[1] if exc_info is True else exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(exc, HttpProcessingError):
        event_dict.pop("exc_info")
        reason = str(exc.message).split("\n", 1)[0].split(":", 1)[0].strip()
        event_dict.update(error=type(exc).__name__, status=exc.code, reason=reason)
    return event_dict


def _pre_chain() -> list:
    return [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True)]


def configure(config: Config) -> None:
    """Set up structlog once per process; event names are snake_case past tense, bodies never logged.

    The standard library's root logger gets one handler that renders through the same processors, so
    aiohttp's "Error handling request", asyncio's warnings and Python's warnings come out as the same JSON
    lines; third-party loggers below WARNING are dropped.
    """
    as_json = config.log.format == "json" or (config.log.format == "auto" and not sys.stdout.isatty())
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    tail = [drop_request_bytes, _TRACEBACKS if as_json else structlog.processors.format_exc_info, scrub, renderer]
    structlog.configure(
        processors=_pre_chain() + tail,
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS[config.log.level]),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )
    handler = _StdoutHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_pre_chain() + [structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta] + tail,
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(max(LEVELS[config.log.level], logging.WARNING))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is logged, as print() does (a test may swap it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _log_uncaught(kind, exc, traceback) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, traceback)
        return
    structlog.get_logger("gateway").critical("process_crashed", exc_info=(kind, exc, traceback))
