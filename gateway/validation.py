"""Reading and checking JSON request bodies: unknown fields, wrong types and bad text are refused."""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from aiohttp import web

from gateway.errors import BadRequest, InvalidInput, NotFound

JSON_TYPES = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true or false"}


async def read_json(request: web.Request, fields: Mapping[str, type], required: Iterable[str] = (),
                    optional_body: bool = False) -> dict[str, Any]:
    """The body as a dict with only the named fields, each of the named JSON type."""
    raw = await request.read()
    if not raw.strip() and optional_body:
        return {}
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="send the body as application/json")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("invalid_json", "the body is not valid JSON") from None
    return check_object(data, fields, required, where="body")


def check_object(data: Any, fields: Mapping[str, type], required: Iterable[str], where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadRequest("invalid_json", f"{where}: expected a JSON object")
    for name in data:
        if name not in fields:
            raise BadRequest("unknown_field", f"{where}.{name}: unknown field" if where != "body" else
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
    allowed = "\n\r\t" if multiline else ""
    if any((ord(c) < 32 and c not in allowed) or ord(c) == 127 for c in value):
        raise InvalidInput("invalid_field", f"{field}: contains control characters")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidInput("invalid_field", f"{field}: contains invalid Unicode")
    return value if multiline else value.strip()


def path_id(request: web.Request, name: str = "id") -> int:
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound("not_found", f"no such {name.replace('_', ' ')}: {raw[:40]}")
    return int(raw)
