"""Signed JSON POSTs to a community's own webhooks (opt-out changes, alerts): stored first, retried with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp
import asyncpg
import structlog

from gateway.config import HooksSettings
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.storage import events as deliveries
from gateway.storage.db import Executor
from gateway.storage.events import Delivery
from gateway.vocabulary import DeliveryStatus

log = structlog.get_logger(__name__)
BATCH = 20
MAX_WAIT = 3600.0  # seconds: the longest wait between two tries of a delivery


def sign(signing_key: bytes, timestamp: str, body: str) -> str:
    """X-Gateway-Signature: sha256 HMAC over "{timestamp}.{body}", so a replayed old body fails a fresh check."""
    return "sha256=" + hmac.new(signing_key, f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


async def enqueue(db: Executor, community_id: int, url: str | None, event: str, payload: Mapping[str, Any]) -> None:
    """Store a delivery in the caller's transaction (db: its connection): it goes out even if this process dies
    right after. No url: the community takes no such webhooks, and nothing is stored."""
    if url:
        await deliveries.insert_delivery(db, community_id=community_id, url=url, event=event,
                                         payload={"event": event, **payload})


@dataclass(frozen=True)
class Poster:
    """Posts due deliveries: the pool they are stored in, the HTTP session, and the key that signs them."""

    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    metrics: Metrics
    config: HooksSettings
    signing_key: bytes  # signs every POST (X-Gateway-Signature); communities check it with the same key

    async def deliver_due(self) -> int:
        """Post what is due, all at once; a failure waits 2^attempts seconds (at most an hour), and a delivery
        is tried at most hooks.max_attempts times. One delivery's failure is logged and counted; the others go
        on. Returns how many were tried."""
        for delivery_id in await deliveries.give_up_deliveries(self.pool, max_attempts=self.config.max_attempts):
            log.warning("webhook_given_up", delivery_id=delivery_id, error="no outcome recorded")
        # The claim outlasts every post of the batch (each ends by config.timeout), so no other process takes
        # one while it is in flight here.
        due = await deliveries.claim_deliveries(self.pool, limit=BATCH, max_attempts=self.config.max_attempts,
                                                claim_seconds=self.config.timeout + 60)
        outcomes = await asyncio.gather(*(self._deliver(delivery) for delivery in due), return_exceptions=True)
        for delivery, outcome in zip(due, outcomes):
            if isinstance(outcome, Exception):
                self.metrics.rows_skipped.labels("webhooks").inc()
                log.error("webhook_delivery_crashed", delivery_id=delivery.id, error=type(outcome).__name__)
        return len(due)

    async def _deliver(self, delivery: Delivery) -> None:
        error = await _post(self.session, self.signing_key, delivery.url, delivery.payload, self.config.timeout)
        if error is None:
            await self._finish(delivery, DeliveryStatus.DELIVERED, 0, None)
            log.info("webhook_delivered", delivery_id=delivery.id, hook_event=delivery.event)
        elif delivery.attempts >= self.config.max_attempts:
            await self._finish(delivery, DeliveryStatus.FAILED, 0, error)
            log.warning("webhook_given_up", delivery_id=delivery.id, hook_event=delivery.event, error=clip(error, 120))
        else:
            wait = min(MAX_WAIT, 2 ** delivery.attempts) * random.uniform(0.5, 1.0)
            await self._finish(delivery, DeliveryStatus.PENDING, wait, error)
            log.info("webhook_deferred", delivery_id=delivery.id, hook_event=delivery.event, retry_in=round(wait, 1))

    async def _finish(self, delivery: Delivery, status: DeliveryStatus, retry_in: float, error: str | None) -> None:
        await deliveries.finish_delivery(self.pool, delivery_id=delivery.id, status=status, retry_in=retry_in,
                                         error=error)


async def _post(session: aiohttp.ClientSession, signing_key: bytes, url: str, body: str,
                timeout: float) -> str | None:
    """None when the community answered 2xx; else what went wrong, in a few words."""
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Gateway-Timestamp": timestamp,
               "X-Gateway-Signature": sign(signing_key, timestamp, body)}
    try:
        async with session.post(url, data=body.encode(), headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return None if 200 <= response.status < 300 else f"answered {response.status}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return type(exc).__name__
