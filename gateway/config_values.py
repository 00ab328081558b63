"""Reading one setting's value: coercing what the environment (text) or TOML (typed) gives to the setting's type,
and the checks several settings share (a positive finite number, a URL, a port). No environment is read here:
gateway/config.py does that."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping
from urllib.parse import urlsplit


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it (and its environment variable) in one line."""


CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
            if isinstance(value, bool):
                raise ValueError
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
