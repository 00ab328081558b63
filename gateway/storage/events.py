"""Event deliveries to communities (webhook_deliveries): stored by the statement that makes the change (through
event_targets, migration 0014), claimed, posted, finished, listed and replayed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import DeliveryStatus, EventTarget, EventType


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery claimed for one try (claim_webhook_deliveries.sql)."""

    id: int
    community_id: int
    webhook_id: str  # the Standard Webhooks webhook-id: the same on every try and replay
    target: EventTarget  # whose secret signs it
    url: str
    event: str  # the event type
    payload: str  # the JSON body, as stored
    attempts: int  # tries so far, this one included
    secret_version: int  # the community's event secret version (migration 0018)
    sign_previous: bool  # within the grace of a rotation: signed with the previous version's secret too
    claimed_until: datetime  # the claim's end, and its token: a replay since makes this try's outcome moot


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """A community's event secret version (find_event_secret.sql, rotate_event_secret.sql)."""

    version: int
    previous_valid_until: datetime | None  # until then events carry the previous secret's signature too


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    """A delivery as the log shows it (list_event_deliveries.sql)."""

    id: int
    webhook_id: str
    event: str
    target: str
    url: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime  # when pending: the next try; otherwise the last change
    created_at: datetime
    updated_at: datetime
    payload: str  # the JSON body, as stored


async def insert_event(db: Executor, *, community_id: int, event: EventType, data: Mapping[str, Any]) -> None:
    """Store an event (data: JSON-able, dates as ISO text) for each place the community sends it; nothing when it
    has none. Run it on the connection of the change's transaction."""
    await db.execute(QUERIES.insert_event, community_id, event, json.dumps(data, default=str))


async def give_up_deliveries(db: Executor, *, max_attempts: int) -> list[tuple[int, str]]:
    """Fail, without another try, the due deliveries that had max_attempts tries already; (id, event type) each."""
    return [(row["id"], row["event"]) for row in await db.fetch(QUERIES.give_up_webhook_deliveries, max_attempts)]


async def claim_deliveries(db: Executor, *, limit: int, max_attempts: int, claim_seconds: float,
                           grace_seconds: float) -> list[Delivery]:
    """Up to limit due deliveries, each counted as a try and kept from other processes for claim_seconds; with
    the community's secret version, and whether its last rotation was less than grace_seconds ago."""
    rows = await db.fetch(QUERIES.claim_webhook_deliveries, limit, max_attempts, claim_seconds, grace_seconds)
    return [Delivery(row["id"], row["community_id"], row["webhook_id"], EventTarget(row["target"]), row["url"],
                     row["event"], row["payload"], row["attempts"], row["secret_version"], row["sign_previous"],
                     row["claimed_until"])
            for row in rows]


async def finish_delivery(db: Executor, *, delivery: Delivery, status: DeliveryStatus, retry_in: float,
                          error: str | None) -> None:
    """Record a try's outcome; a pending one is tried again in retry_in seconds. Nothing when the delivery was
    replayed during the try (its claim's token changed): the replay's try decides."""
    await db.execute(QUERIES.finish_webhook_delivery, delivery.id, status, retry_in, error, delivery.claimed_until)


async def replay_delivery(db: Executor, *, community_id: int, delivery_id: int, gateway_wide: bool) -> bool:
    """Queue one delivery again, now (same webhook-id and body, a fresh count of tries); False: no such delivery
    (gateway_wide False: one to the gateway-wide URL counts as none)."""
    return await db.fetchval(QUERIES.replay_event_delivery, community_id, delivery_id, gateway_wide) is not None


async def replay_deliveries(db: Executor, *, community_id: int, status: DeliveryStatus, since: datetime | None,
                            until: datetime | None, event: EventType | None, gateway_wide: bool,
                            limit: int) -> list[int]:
    """Queue again the deliveries in status created in [since, until) (None: open), at most limit; their ids, in
    ascending order. gateway_wide False: not those to the gateway-wide URL."""
    rows = await db.fetch(QUERIES.replay_event_deliveries, community_id, status, since, until, event, limit,
                          gateway_wide)
    return sorted(row["id"] for row in rows)


async def delete_old_deliveries(db: Executor, *, older_than_days: float, limit: int) -> int:
    """Delete up to limit delivered or failed deliveries last changed more than older_than_days ago; how many."""
    return await db.fetchval(QUERIES.delete_old_event_deliveries, older_than_days * 86400, limit)


async def find_event_secret(db: Executor, *, community_id: int, grace_seconds: float) -> SecretVersion | None:
    """The community's event secret version; None: no such community."""
    row = await db.fetchrow(QUERIES.find_event_secret, community_id, grace_seconds)
    return None if row is None else SecretVersion(row["version"], row["previous_valid_until"])


async def rotate_event_secret(db: Executor, *, community_id: int, grace_seconds: float) -> SecretVersion | None:
    """Move the community to its next event secret version, now; None: no such community."""
    row = await db.fetchrow(QUERIES.rotate_event_secret, community_id, grace_seconds)
    return None if row is None else SecretVersion(row["version"], row["previous_valid_until"])
