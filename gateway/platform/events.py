"""Events to communities: signed POSTs in the Standard Webhooks format, stored with the change they report (by
its own SQL statement: event_targets in migration 0014), retried with backoff, the same webhook-id every try.

Secrets: a community's events are signed with its own secret, and the gateway-wide URL's (hooks.event_url) with
the gateway's; both are derived from hooks.secret (GATEWAY_WEBHOOK_SECRET), so nothing is stored and every
process signs alike. A receiver reads its secret from the API (GET /v1/communities/{id}/event-secret,
GET /v1/event-secret) and verifies with any Standard Webhooks library."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import aiohttp
import asyncpg
import structlog
from standardwebhooks import Webhook

from gateway.config import HooksSettings
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.storage import events as deliveries
from gateway.storage.db import Executor
from gateway.storage.events import Delivery
from gateway.vocabulary import DeliveryStatus, EventTarget, EventType

log = structlog.get_logger(__name__)
BATCH = 20
MAX_WAIT = 3600.0  # seconds: the longest wait between two tries of a delivery


def secret_for(signing_key: bytes, community_id: int | None) -> str:
    """The Standard Webhooks secret ("whsec_" + base64 of 32 bytes) of a community's events, or (None) of the
    gateway-wide URL's: an HMAC of the gateway's key, so it changes only when GATEWAY_WEBHOOK_SECRET does."""
    label = b"events:gateway" if community_id is None else f"events:community:{community_id}".encode()
    return "whsec_" + base64.b64encode(hmac.new(signing_key, label, hashlib.sha256).digest()).decode()


async def emit(db: Executor, community_id: int, event: EventType, data: Mapping[str, Any]) -> None:
    """Store an event in the caller's transaction (db: its connection), for where the community sends it: it goes
    out even if this process dies right after. Most changes store theirs in their own SQL statement instead."""
    await deliveries.insert_event(db, community_id=community_id, event=event, data=data)


@dataclass(frozen=True)
class Poster:
    """Posts due deliveries: the pool they are stored in, the HTTP session, and the key their secrets come from."""

    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    metrics: Metrics
    config: HooksSettings
    signing_key: bytes  # hooks.secret: every event secret is derived from it (secret_for)

    async def deliver_due(self) -> int:
        """Post what is due, all at once; a failure waits 2^attempts seconds (at most an hour), and a delivery
        is tried at most hooks.max_attempts times. One delivery's failure is logged and counted; the others go
        on. Returns how many were tried."""
        for delivery_id, event in await deliveries.give_up_deliveries(self.pool,
                                                                      max_attempts=self.config.max_attempts):
            self.metrics.events.labels(event, "failed").inc()
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

    def secret(self, delivery: Delivery) -> str:
        community = None if delivery.target == EventTarget.GATEWAY else delivery.community_id
        return secret_for(self.signing_key, community)

    async def _deliver(self, delivery: Delivery) -> None:
        counted = self.metrics.events
        if delivery.attempts == 1:
            counted.labels(delivery.event, "enqueued").inc()
        error = await _post(self.session, self.secret(delivery), delivery, self.config.timeout)
        if error is None:
            await self._finish(delivery, DeliveryStatus.DELIVERED, 0, None)
            counted.labels(delivery.event, "delivered").inc()
            log.info("webhook_delivered", delivery_id=delivery.id, hook_event=delivery.event)
        elif delivery.attempts >= self.config.max_attempts:
            await self._finish(delivery, DeliveryStatus.FAILED, 0, error)
            counted.labels(delivery.event, "failed").inc()
            log.warning("webhook_given_up", delivery_id=delivery.id, hook_event=delivery.event, error=clip(error, 120))
        else:
            wait = min(MAX_WAIT, 2 ** delivery.attempts) * random.uniform(0.5, 1.0)
            await self._finish(delivery, DeliveryStatus.PENDING, wait, error)
            counted.labels(delivery.event, "deferred").inc()
            log.info("webhook_deferred", delivery_id=delivery.id, hook_event=delivery.event, retry_in=round(wait, 1))

    async def _finish(self, delivery: Delivery, status: DeliveryStatus, retry_in: float, error: str | None) -> None:
        await deliveries.finish_delivery(self.pool, delivery_id=delivery.id, status=status, retry_in=retry_in,
                                         error=error)


async def _post(session: aiohttp.ClientSession, secret: str, delivery: Delivery, timeout: float) -> str | None:
    """None when the receiver answered 2xx; else what went wrong, in a few words. Signed now (the timestamp is
    this try's: receivers refuse one older than five minutes), with the delivery's one webhook-id."""
    now = datetime.now(timezone.utc)
    headers = {"Content-Type": "application/json", "webhook-id": delivery.webhook_id,
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign(delivery.webhook_id, now, delivery.payload)}
    try:
        # Redirects not followed (as the intercept's): a 3xx is not the receiver's 2xx, and following one would
        # post the signed event somewhere else, or (302, 303) turn it into a GET that any page answers 200.
        async with session.post(delivery.url, data=delivery.payload.encode(), headers=headers,
                                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return None if 200 <= response.status < 300 else f"answered {response.status}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return type(exc).__name__
