"""/v1/communities/{id}/events: a community's event deliveries (the log) and replays (gateway/platform/events.py;
the secrets that sign events: gateway/api/event_secrets.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from aiohttp import web

from gateway.api import list_types as lt
from gateway.api import scope
from gateway.api.contract import Routes
from gateway.api.listing import paged, window
from gateway.api.validation import path_id
from gateway.errors import InvalidInput, NotFound
from gateway.keys import POOL
from gateway.platform import communities
from gateway.storage import events as deliveries
from gateway.storage import lists
from gateway.storage.events import LoggedDelivery
from gateway.vocabulary import DeliveryStatus

routes = Routes("events")
MAX_REPLAY = 1000  # deliveries one bulk replay queues again


def _delivery(row: LoggedDelivery) -> lt.LoggedEvent:
    pending = row.status == DeliveryStatus.PENDING
    return lt.LoggedEvent(
        id=row.id, webhook_id=row.webhook_id, type=row.event, target=row.target, url=row.url, status=row.status,
        attempts=row.attempts, last_error=row.last_error, next_attempt_at=row.next_attempt_at if pending else None,
        created_at=row.created_at, updated_at=row.updated_at, payload=json.loads(row.payload))


def _gateway_wide(request: web.Request) -> bool:
    """Whether the caller sees the deliveries to the gateway-wide URL (hooks.event_url): not a token limited to
    some communities (SECURITY.md, "API tokens"): that URL and its deliveries are the gateway operator's."""
    return scope.communities(request) is None


@routes.get("/v1/communities/{id}/events", query=lt.EventQuery, answer=lt.EventLog,
            errors=("community_not_found",))
async def log(request: web.Request, query: lt.EventQuery) -> lt.EventLog:
    """A community's event deliveries, newest first
    A list as the others (limit, cursor, created_since/until), but next is null on the last page. A token limited
    to some communities does not see the deliveries to the gateway-wide URL."""
    community = await communities.find(request.app[POOL], path_id(request))
    asked = window(request, "events", query)
    rows = await lists.list_event_deliveries(request.app[POOL], window=asked, community_id=community.id,
                                             gateway_wide=_gateway_wide(request), status=query.status,
                                             event=query.type)
    shown, after = paged(asked, "events", rows)
    return lt.EventLog(events=[_delivery(row) for row in shown], next=after)


@routes.post("/v1/communities/{id}/events/{delivery_id}/replay", answer=lt.ReplayedOne, status=202,
             errors=("community_not_found", "delivery_not_found"))
async def replay_one(request: web.Request) -> lt.ReplayedOne:
    """Queue one delivery again
    A new try now, with a fresh count of tries, the same webhook-id and body."""
    community = await communities.find(request.app[POOL], path_id(request))
    delivery_id = path_id(request, "delivery_id")
    if not await deliveries.replay_delivery(request.app[POOL], community_id=community.id, delivery_id=delivery_id,
                                            gateway_wide=_gateway_wide(request)):
        raise NotFound("delivery_not_found", f"no delivery {delivery_id} of community {community.id}")
    return lt.ReplayedOne(id=delivery_id, status=DeliveryStatus.PENDING)


def _instant(raw: str | None, name: str) -> datetime | None:
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


@routes.post("/v1/communities/{id}/events/replay", body=lt.Replay, optional_body=True, answer=lt.Replayed,
             status=202, errors=("community_not_found",))
async def replay_many(request: web.Request, body: lt.Replay) -> lt.Replayed:
    """Queue deliveries again
    Those in status (failed unless named) created in [since, until) of type (every field optional), the oldest
    1000 at most."""
    community = await communities.find(request.app[POOL], path_id(request))
    ids = await deliveries.replay_deliveries(
        request.app[POOL], community_id=community.id, status=body.status or DeliveryStatus.FAILED,
        since=_instant(body.since, "since"), until=_instant(body.until, "until"), event=body.type,
        gateway_wide=_gateway_wide(request), limit=MAX_REPLAY)
    return lt.Replayed(replayed=ids)

