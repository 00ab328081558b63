"""Webhook deliveries to communities: stored with the change they report, claimed, posted, finished."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery claimed for one try (claim_webhook_deliveries.sql)."""

    id: int
    url: str
    event: str
    payload: str  # the JSON body, as stored
    attempts: int  # tries so far, this one included


async def insert_delivery(db: Executor, *, community_id: int, url: str, event: str,
                          payload: Mapping[str, Any]) -> None:
    """Store a delivery of payload (dates as ISO text), pending."""
    await db.execute(QUERIES.insert_webhook_delivery, community_id, url, event, json.dumps(payload, default=str))


async def give_up_deliveries(db: Executor, *, max_attempts: int) -> list[int]:
    """Fail, without another try, the due deliveries that had max_attempts tries already; their ids."""
    return [row["id"] for row in await db.fetch(QUERIES.give_up_webhook_deliveries, max_attempts)]


async def claim_deliveries(db: Executor, *, limit: int, max_attempts: int, claim_seconds: float) -> list[Delivery]:
    """Up to limit due deliveries, each counted as a try and kept from other processes for claim_seconds."""
    rows = await db.fetch(QUERIES.claim_webhook_deliveries, limit, max_attempts, claim_seconds)
    return [Delivery(row["id"], row["url"], row["event"], row["payload"], row["attempts"]) for row in rows]


async def finish_delivery(db: Executor, *, delivery_id: int, status: DeliveryStatus, retry_in: float,
                          error: str | None) -> None:
    """Record a try's outcome; a pending one is tried again in retry_in seconds."""
    await db.execute(QUERIES.finish_webhook_delivery, delivery_id, status, retry_in, error)
