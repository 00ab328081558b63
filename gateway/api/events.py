"""/v1/communities/{id}/events: a community's event deliveries (the log) and replays (gateway/platform/events.py;
the secrets that sign events: gateway/api/event_secrets.py)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from gateway.api.contract import json_answer
from gateway.api.validation import ascii_number, path_id, query_number, query_text, read_json
from gateway.errors import InvalidInput, NotFound
from gateway.keys import POOL
from gateway.platform import communities
from gateway.storage import events as deliveries
from gateway.storage.events import LoggedDelivery
from gateway.vocabulary import DeliveryStatus, EventType

routes = web.RouteTableDef()
MAX_REPLAY = 1000  # deliveries one bulk replay queues again


def _cursor(last_id: int) -> str:
    """Opaque to clients: the id the next page starts below."""
    return base64.urlsafe_b64encode(f"d:{last_id}".encode()).decode().rstrip("=")


def _after(raw: str) -> int | None:
    """?cursor= back to the id the page starts below; 422 invalid_query for one we did not write."""
    if not raw:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    number = ascii_number(decoded[2:]) if decoded.startswith("d:") else None
    if number is None:
        raise InvalidInput("invalid_query", "cursor: the next value of an earlier page")
    return number


def _choice(raw: str, name: str, kinds: type) -> Any:
    if not raw:
        return None
    if raw not in {str(kind) for kind in kinds}:
        raise InvalidInput("invalid_query", f"{name}: one of " + ", ".join(kinds))
    return kinds(raw)


def _delivery(row: LoggedDelivery) -> dict:
    pending = row.status == DeliveryStatus.PENDING
    return {"id": row.id, "webhook_id": row.webhook_id, "type": row.event, "target": row.target, "url": row.url,
            "status": row.status, "attempts": row.attempts, "last_error": row.last_error,
            "next_attempt_at": row.next_attempt_at if pending else None,
            "created_at": row.created_at, "updated_at": row.updated_at,
            "payload": json.loads(row.payload)}


@routes.get("/v1/communities/{id}/events")
async def log(request: web.Request) -> web.Response:
    """{"events": [delivery, newest first], "next": cursor or null}; ?status= ?type= ?limit= (1-200) ?cursor=."""
    community = await communities.find(request.app[POOL], path_id(request))
    limit = query_number(request, "limit", 50, 1, 200, "a page size from 1 to 200")
    rows = await deliveries.list_deliveries(
        request.app[POOL], community_id=community.id, before_id=_after(query_text(request, "cursor")),
        status=_choice(query_text(request, "status"), "status", DeliveryStatus),
        event=_choice(query_text(request, "type"), "type", EventType), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return json_answer({"events": [_delivery(row) for row in rows],
                        "next": _cursor(rows[-1].id) if more else None})


@routes.post("/v1/communities/{id}/events/{delivery_id}/replay")
async def replay_one(request: web.Request) -> web.Response:
    """Queue one delivery again: a new try now, the same webhook-id and body. 202 {"id", "status": "pending"}."""
    community = await communities.find(request.app[POOL], path_id(request))
    delivery_id = path_id(request, "delivery_id")
    if not await deliveries.replay_delivery(request.app[POOL], community_id=community.id, delivery_id=delivery_id):
        raise NotFound("delivery_not_found", f"no delivery {delivery_id} of community {community.id}")
    return json_answer({"id": delivery_id, "status": DeliveryStatus.PENDING}, 202)


def _instant(data: dict, name: str) -> datetime | None:
    raw = data.get(name)
    if raw is None:
        return None
    try:
        instant = datetime.fromisoformat(raw)
        # In UTC here: past year 1 or 9999 once in UTC, Python cannot hand the time to Postgres (a 500 later).
        instant = instant.astimezone(timezone.utc) if instant.tzinfo is not None else None
    except (ValueError, OverflowError):
        instant = None
    if instant is None:
        raise InvalidInput("invalid_field", f"{name}: an ISO 8601 time with its offset, such as 2026-11-29T23:00:00Z")
    return instant


@routes.post("/v1/communities/{id}/events/replay")
async def replay_many(request: web.Request) -> web.Response:
    """Queue again the deliveries in {"status"} ("failed" unless named) created in ["since", "until") of
    {"type"} (all fields optional), the oldest 1000 at most. 202 {"replayed": [ids]}."""
    community = await communities.find(request.app[POOL], path_id(request))
    data = await read_json(request, {"status": str, "since": str, "until": str, "type": str}, optional_body=True)
    status = _choice(data.get("status") or DeliveryStatus.FAILED, "status", DeliveryStatus)
    event = _choice(data.get("type") or "", "type", EventType)
    ids = await deliveries.replay_deliveries(request.app[POOL], community_id=community.id, status=status,
                                             since=_instant(data, "since"), until=_instant(data, "until"),
                                             event=event, limit=MAX_REPLAY)
    return json_answer({"replayed": ids}, 202)
