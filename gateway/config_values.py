"""Reading one setting's value: coercing what the environment (text) or TOML (typed) gives to the setting's type,
and the checks several settings share (a positive finite number, a URL, a port). No environment is read here:
gateway/config.py does that."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Mapping
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it (and its environment variable) in one line."""


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# A number written in the environment: ASCII digits, a sign, and for a float a decimal point and an exponent (or
# inf and nan, which validate() refuses by name: "must be a finite number").
_NUMBER = {int: re.compile(r"[+-]?[0-9]+"),
           float: re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)", re.I)}


def coerce(name: str, kind: type, value: Any) -> Any:
    """Values from the environment arrive as strings; TOML gives typed values."""
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                return value.lower() in ("true", "1")
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind in (int, float):
            if isinstance(value, bool) or isinstance(value, str) and not _NUMBER[kind].fullmatch(value):
                raise ValueError  # Python's int() and float() also take "8_081", " 5" and "١٢"
            return kind(value)
        if kind is list:
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
                raise ValueError
            return list(value)
        if kind is dict:
            # api_tokens' values: a string, or a table parse_tokens reads (validate names a bad one)
            if not isinstance(value, Mapping) or not all(isinstance(v, (str, Mapping)) for v in value.values()):
                raise ValueError
            return dict(value)
        if not isinstance(value, str):
            raise ValueError
        return value
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {kind.__name__}, got {value!r}") from None


# Settings where 0 turns something off; every other number must be greater than 0.
ZERO_IS_OFF = frozenset({("server", "ops_port"), ("retention", "body_days"), ("retention", "row_days")})
# Ages in days that Postgres subtracts from now(): a longer one leaves its timestamps' range (4713 BC), and every
# pass of the task would fail there instead of at start-up. A century is the most; 0 keeps for good where it may.
MAX_DAYS = 36500
DAYS = frozenset({("retention", "body_days"), ("retention", "row_days"), ("media", "retention_days"),
                  ("hooks", "retention_days")})
# Whole numbers are bound as Postgres integers (limits.daily_ceiling in begin_send, ...): a larger one failed every
# statement that binds it (every send) instead of start-up.
MAX_INT = 2**31 - 1
PORTS = frozenset({("embedded", "redis_port")})


def check_numbers(sections: Mapping[str, Any]) -> None:
    """Every number in the configuration is a size, a count, a rate or a time: none may be zero or less (but where
    0 is off), nor an age past a century. sections: name -> settings dataclass."""
    for name, section in sections.items():
        for setting in dataclasses.fields(section):
            value, key = getattr(section, setting.name), (name, setting.name)
            if isinstance(value, list) and any(isinstance(v, int) and v > MAX_INT for v in value):
                raise ConfigError(f"{name}.{setting.name}: each at most {MAX_INT}, got {value}")
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if isinstance(value, int) and value > (65535 if key in PORTS else MAX_INT):
                raise ConfigError(f"{name}.{setting.name}: at most {65535 if key in PORTS else MAX_INT}, got {value}")
            if key in DAYS and value > MAX_DAYS:
                raise ConfigError(f"{name}.{setting.name}: at most {MAX_DAYS} days (a century), got {value}")
            if key in ZERO_IS_OFF:
                if value < 0:
                    raise ConfigError(f"{name}.{setting.name}: must be 0 (off) or more, got {value}")
                continue
            positive(f"{name}.{setting.name}", value)


def positive(name: str, value: float) -> None:
    # "nan" and "inf" parse as floats (TOML and the environment alike) and pass "<= 0": a delay or timeout of nan
    # makes every comparison false, one of inf never ends.
    if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
        raise ConfigError(f"{name}: must be a finite number greater than 0, got {value}")


def check_url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    """Raises ConfigError naming the setting unless value is a URL with one of the schemes."""
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.query):
        raise ConfigError(f"{name}: expected a {'/'.join(schemes)} URL, got {value!r}")


def port(name: str, value: str) -> None:
    try:
        urlsplit(value).port
    except ValueError:
        raise ConfigError(f"{name}: the port must be a number from 0 to 65535, got {value!r}") from None
