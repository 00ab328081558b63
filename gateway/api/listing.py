"""What every list of the API shares: ?limit, ?cursor, ?created_since/?created_until, and the answer's shape.

A list answers {"<items>": [...], "next": "<cursor>"}, newest first; "next" is absent on the last page (the
event log, older, answers "next": null there). Pass it back as ?cursor= with the same filters for the next
page. A cursor is opaque: base64url of a small JSON naming its list and the (created_at, id) of the last row
shown; one that does not read, or belongs to another list, is 422 invalid_query. Times are ISO 8601 with a UTC
offset ("2026-11-29T23:00:00Z"); since is inclusive, until exclusive. Reuse: declare the query as a
gateway/api/list_types.py ListQuery, `asked = window(request, "events", query)`, fetch asked.limit rows (one
more than the page: the extra row only says a next page exists) with the store's filters, then
`shown, next = paged(asked, "events", rows)`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Callable, Sequence, TypeVar

from aiohttp import web

from gateway.api import scope
from gateway.api.list_types import ListQuery
from gateway.errors import InvalidInput
from gateway.storage.lists import Window

T = TypeVar("T")


def window(request: web.Request, kind: str, query: ListQuery) -> Window:
    """The caller's scope and the shared query parameters; InvalidInput (invalid_query) for a bad one. Asks the
    store for one row more than the page, to know whether another page follows."""
    return Window(scope.communities(request), parse_time(query.created_since, "created_since"),
                  parse_time(query.created_until, "created_until"), _cursor(query.cursor, kind), query.limit + 1)


def paged(asked: Window, kind: str, rows: Sequence[T],
          key: Callable[[T], tuple[datetime, int]] = lambda row: (row.created_at, row.id)
          ) -> tuple[Sequence[T], str | None]:
    """Up to a page of the rows, and the cursor of the next page when rows held one more than the page."""
    limit = asked.limit - 1
    shown = rows[:limit]
    if len(rows) <= limit:
        return shown, None
    at, row_id = key(shown[-1])
    return shown, encode_cursor(kind, at, row_id)


def encode_cursor(kind: str, at: datetime, row_id: int) -> str:
    raw = json.dumps({"k": kind, "t": at.isoformat(), "id": row_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(raw: str, kind: str) -> tuple[datetime, int] | None:
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


def parse_time(raw: str, name: str) -> datetime | None:
    """A query's ?name= as an ISO 8601 time with a UTC offset, in UTC; None when absent or empty."""
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
