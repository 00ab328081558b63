"""Reading and checking request input: JSON bodies (unknown fields, wrong types and bad text are refused), ids and
numbers in paths and queries (ASCII digits only), and text in queries."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from aiohttp import web

from gateway.errors import InvalidInput, Malformed, NotFound, UnsupportedMedia

JSON_TYPES = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true or false"}


NO_BODY = object()  # what json_body gives for an empty body that may be left out


async def json_body(request: web.Request, optional: bool = False) -> Any:
    """The body parsed as JSON (any JSON value), or NO_BODY when it is blank and optional. 415
    unsupported_media_type unless application/json; 400 invalid_json when it is not JSON."""
    raw = await request.read()
    if not raw.strip() and optional:
        return NO_BODY
    if request.content_type != "application/json":
        raise UnsupportedMedia("unsupported_media_type", "send the body as application/json")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's stack allows; nothing we take nests that deep.
        raise Malformed("invalid_json", "the body is not valid JSON") from None


async def read_json(request: web.Request, fields: Mapping[str, type], required: Iterable[str] = (),
                    optional_body: bool = False) -> dict[str, Any]:
    """The body as a dict with only the named fields, each of the named JSON type."""
    data = await json_body(request, optional_body)
    if data is NO_BODY:
        return {}
    refuse_unstorable(data)
    return check_object(data, fields, required, where="body")


def refuse_unstorable(data: Any) -> None:
    """Refuse any string (key or value, at any depth) Postgres cannot store in text or jsonb: a NUL, or a lone
    surrogate (JSON's "\\ud800" escapes decode to one). Walked with a stack, not recursion, so depth is no risk."""
    pending = [("body", data)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if not storable(key):
                    raise InvalidInput("invalid_field", f"{where}: a field name contains a NUL or invalid Unicode")
                pending.append((key if where == "body" else f"{where}.{key}", inner))
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))
        elif isinstance(item, str) and not storable(item):
            raise InvalidInput("invalid_field", f"{where}: contains a NUL character or invalid Unicode")


def storable(value: str) -> bool:
    """Whether Postgres can store the text: no NUL (U+0000), no lone surrogate (U+D800 to U+DFFF)."""
    return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def has_control(value: str, allowed: str = "") -> bool:
    """Whether the text holds an ASCII control character (C0 or DEL) other than those allowed."""
    return any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value)


def check_object(data: Any, fields: Mapping[str, type], required: Iterable[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Malformed("invalid_json", f"{where}: expected a JSON object")
    for name in data:
        if name not in fields:
            raise Malformed("unknown_field", f"{where}.{name}: unknown field" if where != "body" else
                             f"{name}: unknown field")
    for name in required:
        if data.get(name) is None:
            raise InvalidInput("missing_field", f"{_path(where, name)}: required")
    for name, value in data.items():
        kind = fields[name]
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise InvalidInput("invalid_field", f"{_path(where, name)}: expected {JSON_TYPES[kind]}")
        if kind is int and value is not None and not 0 <= value < 2**62:
            raise InvalidInput("invalid_field", f"{_path(where, name)}: out of range")
    return data


def _path(where: str, name: str) -> str:
    return name if where == "body" else f"{where}.{name}"


def text(value: str, field: str, *, max_length: int, multiline: bool = False) -> str:
    """A non-empty string without control characters (newlines allowed in message bodies)."""
    if not value.strip():
        raise InvalidInput("invalid_field", f"{field}: must not be empty")
    if len(value) > max_length:
        raise InvalidInput("invalid_field", f"{field}: at most {max_length} characters")
    if has_control(value, allowed="\n\r\t" if multiline else ""):
        raise InvalidInput("invalid_field", f"{field}: contains control characters")
    if not storable(value):
        raise InvalidInput("invalid_field", f"{field}: contains invalid Unicode")
    return value if multiline else value.strip()


def ascii_number(raw: str, digits: int = 18) -> int | None:
    """The number written in ASCII digits, at most `digits` of them; None for anything else. str.isdigit() and
    int() also take "²" and "١" (Arabic-Indic one), which no id or count of ours is written in."""
    if not raw or len(raw) > digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    number = ascii_number(raw)
    if number is None:
        raise NotFound("not_found", f"no such {name.replace('_', ' ')}: {raw[:40]}")
    return number


def query_number(request: web.Request, name: str, default: int, low: int, high: int, what: str) -> int:
    """?name= as an ASCII-digit number from low to high (default when absent); else 422 invalid_query."""
    raw = request.query.get(name)
    number = default if raw is None else ascii_number(raw)
    if number is None or not low <= number <= high:
        raise InvalidInput("invalid_query", f"{name}: {what}")
    return number


def query_text(request: web.Request, name: str, default: str = "", max_length: int = 100) -> str:
    """?name= as printable text (no control characters, NUL or lone surrogates); else 422 invalid_query."""
    raw = request.query.get(name, default)
    if len(raw) > max_length or not storable(raw) or has_control(raw):
        raise InvalidInput("invalid_query", f"{name}: at most {max_length} printable characters")
    return raw
