"""What every list of the API shares: ?limit, ?cursor, ?created_since/?created_until, and the answer's shape.

A list answers {"<items>": [...], "next": "<cursor>"}, newest first; "next" is absent on the last page. Pass it
back as ?cursor= with the same filters for the next page. A cursor is opaque: base64url of a small JSON naming
its list and the (created_at, id) of the last row shown; one that does not read, or belongs to another list, is
422 invalid_query. Times are ISO 8601 with a UTC offset ("2026-11-29T23:00:00Z"); since is inclusive, until
exclusive. Reuse: `asked = window(request, "events")`, fetch asked.limit rows (one more than the page: the
extra row only says a next page exists) with the store's filters, then `page(asked, "events", "events", rows,
render)`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence, TypeVar

from aiohttp import web

from gateway.api import scope
from gateway.api.contract import json_answer
from gateway.api.validation import ascii_number, query_number, query_text
from gateway.errors import InvalidInput
from gateway.storage.lists import Window

T = TypeVar("T")
MAX_LIMIT = 1000


def window(request: web.Request, kind: str) -> Window:
    """The caller's scope and the shared query parameters; InvalidInput (invalid_query) for a bad one. Asks the
    store for one row more than the page, to know whether another page follows."""
    limit = query_number(request, "limit", 100, 1, MAX_LIMIT, f"1 to {MAX_LIMIT}")
    return Window(scope.communities(request), query_time(request, "created_since"),
                  query_time(request, "created_until"), _cursor(request, kind), limit + 1)


def page(asked: Window, kind: str, items: str, rows: Sequence[T], render: Callable[[T], dict],
         key: Callable[[T], tuple[datetime, int]] = lambda row: (row.created_at, row.id)) -> web.Response:
    """The answer: up to a page of rows rendered, and "next" when rows held one more than the page."""
    limit = asked.limit - 1
    shown = rows[:limit]
    body: dict[str, Any] = {items: [render(row) for row in shown]}
    if len(rows) > limit:
        at, row_id = key(shown[-1])
        body["next"] = encode_cursor(kind, at, row_id)
    return json_answer(body)


def encode_cursor(kind: str, at: datetime, row_id: int) -> str:
    raw = json.dumps({"k": kind, "t": at.isoformat(), "id": row_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(request: web.Request, kind: str) -> tuple[datetime, int] | None:
    raw = query_text(request, "cursor", max_length=300)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        at, row_id = _utc(datetime.fromisoformat(data["t"])), data["id"]
        if data["k"] != kind or not isinstance(row_id, int) or not 0 < row_id < 2 ** 62:
            raise ValueError
    except (ValueError, TypeError, KeyError, OverflowError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise InvalidInput("invalid_query", f"cursor: not a cursor of this list ({kind}); pass back 'next' as "
                                            "it came") from None
    return at, row_id


def query_time(request: web.Request, name: str) -> datetime | None:
    """?name= as an ISO 8601 time with a UTC offset; None when absent."""
    raw = query_text(request, name, max_length=40)
    if not raw:
        return None
    try:
        return _utc(datetime.fromisoformat(raw.replace(" ", "+")))  # an unescaped "+" in a query reads as a space
    except (ValueError, OverflowError):
        raise InvalidInput("invalid_query", f"{name}: expected an ISO 8601 time with an offset, such as "
                                            "2026-11-29T23:00:00Z") from None


def _utc(at: datetime) -> datetime:
    """The time in UTC; ValueError without an offset, OverflowError past year 1 or 9999 once in UTC (Postgres
    takes those, Python cannot hand them over)."""
    if at.tzinfo is None:
        raise ValueError("no offset")
    return at.astimezone(timezone.utc)


def query_choice(request: web.Request, name: str, choices: Iterable[str]) -> str | None:
    """?name= as one of choices; None when absent."""
    raw = request.query.get(name)
    allowed = list(choices)
    if raw is not None and raw not in allowed:
        raise InvalidInput("invalid_query", f"{name}: expected one of {', '.join(allowed)}")
    return raw


def query_id(request: web.Request, name: str) -> int | None:
    """?name= as a row id; None when absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    number = ascii_number(raw)
    if number is None or not 0 < number < 2 ** 62:
        raise InvalidInput("invalid_query", f"{name}: expected an id")
    return number
