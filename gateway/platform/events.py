"""Events to communities: signed POSTs in the Standard Webhooks format, stored with the change they report (by
its own SQL statement: event_targets in migration 0014), retried with backoff, the same webhook-id every try.

Secrets: a community's events are signed with its own secret, and the gateway-wide URL's (hooks.event_url) with
the gateway's; both are derived from hooks.secret (GATEWAY_WEBHOOK_SECRET) and, for a community, its stored
secret version (migration 0018), so no secret is stored (but in the kept answer of a rotation sent with an
Idempotency-Key, gateway/api/idempotency.py) and every process signs alike. Rotating a community's secret
(POST /v1/communities/{id}/event-secret/rotate) moves it to the next version; for hooks.secret_grace_hours after
that its events carry two signatures (the new secret's and the previous one's, space-separated, as Standard
Webhooks allows), so a receiver switches secrets without refusing an event. A receiver reads its secret from the
API (GET /v1/communities/{id}/event-secret, GET /v1/event-secret) and verifies with any Standard Webhooks library.

Posting: each delivery is posted and recorded by a task of its own, at most IN_FLIGHT at once per process, and
the loop claims more while slow posts run: a receiver that hangs holds up only its own deliveries. A 410 Gone
fails the delivery at once (the receiver says the endpoint is gone); the community's other deliveries to that
URL are still tried, each once at least (the URL is the community's to change).
"""

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
from gateway.storage import callbacks as callback_rows
from gateway.storage import events as deliveries
from gateway.storage.db import Executor
from gateway.storage.events import Delivery
from gateway.vocabulary import DeliveryStatus, EventTarget, EventType

log = structlog.get_logger(__name__)
IN_FLIGHT = 32  # deliveries posted at once by one process (they share the HTTP session's 100 connections)
CLAIM_MARGIN = 30.0  # seconds a claim outlasts a post's timeout: time to record its outcome
MAX_WAIT = 3600.0  # seconds: the longest wait between two tries of a delivery
GONE = 410  # a receiver's "this endpoint is gone": the delivery fails at once, without retries


def secret_for(signing_key: bytes, community_id: int | None, version: int = 0) -> str:
    """The Standard Webhooks secret ("whsec_" + base64 of 32 bytes) of a community's events at a secret version,
    or (None) of the gateway-wide URL's: an HMAC of the gateway's key, so it changes only when
    GATEWAY_WEBHOOK_SECRET does or the community rotates it. Version 0 is the secret from before rotation existed."""
    if community_id is None:
        label = b"events:gateway"
    else:
        label = f"events:community:{community_id}{f':v{version}' if version else ''}".encode()
    return "whsec_" + base64.b64encode(hmac.new(signing_key, label, hashlib.sha256).digest()).decode()


def secrets_for(signing_key: bytes, community_id: int | None, version: int = 0, previous: bool = False) -> list[str]:
    """The secrets that sign one post: the current one, and while a rotation's grace lasts (previous) the one
    before it too."""
    current = secret_for(signing_key, community_id, version)
    if community_id is None or not previous or version == 0:
        return [current]
    return [current, secret_for(signing_key, community_id, version - 1)]


def signature(secrets: list[str], webhook_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: one "v1,<base64>" per secret, space-separated (Standard Webhooks)."""
    return " ".join(Webhook(secret).sign(webhook_id, at, body) for secret in secrets)


async def emit(db: Executor, community_id: int, event: EventType, data: Mapping[str, Any]) -> None:
    """Store an event in the caller's transaction (db: its connection), for where the community sends it: it goes
    out even if this process dies right after. Most changes store theirs in their own SQL statement instead."""
    await deliveries.insert_event(db, community_id=community_id, event=event, data=data)


async def forget_old(db: Executor, *, retention_days: float, batch: int = 5000) -> int:
    """Delete delivered and failed event deliveries, and finished intercept and out-of-session callbacks, last
    changed more than retention_days ago, a batch at a time (pending ones are never deleted); how many."""
    total = 0
    for forget in (deliveries.delete_old_deliveries, callback_rows.delete_finished_callbacks):
        while (deleted := await forget(db, older_than_days=retention_days, limit=batch)) > 0:
            total += deleted
            if deleted < batch:
                break
    if total:
        log.info("old_event_rows_deleted", rows=total)
    return total


@dataclass(frozen=True)
class Poster:
    """Posts due deliveries: the pool they are stored in, the HTTP session, and the key their secrets come from."""

    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    metrics: Metrics
    config: HooksSettings
    signing_key: bytes  # hooks.secret: every event secret is derived from it (secret_for)

    async def run(self) -> None:
        """Every config.interval seconds: fail what had every try, then claim as many due deliveries as there is
        room for, each posted and recorded in a task of its own (a hanging receiver holds up no other)."""
        inflight: set[asyncio.Task] = set()
        try:
            while True:
                await self._give_up()
                if room := IN_FLIGHT - len(inflight):
                    for delivery in await self._claim(room):
                        task = asyncio.create_task(self._deliver_one(delivery))
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                await asyncio.sleep(self.config.interval)
        finally:
            # Stopping: a post cut short stays claimed until its claim ends, then any process tries it again.
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)

    async def _give_up(self) -> None:
        try:
            given_up = await deliveries.give_up_deliveries(self.pool, max_attempts=self.config.max_attempts)
        except Exception as exc:  # Postgres away: the next look tries again
            self.metrics.task_failures.labels("webhooks").inc()
            log.warning("webhooks_not_given_up", error=type(exc).__name__)
            return
        for delivery_id, event in given_up:
            self.metrics.events.labels(event, "failed").inc()
            log.warning("webhook_given_up", delivery_id=delivery_id, error="no outcome recorded")

    async def _claim(self, room: int) -> list[Delivery]:
        # The claim outlasts the post (which ends by config.timeout) and its record, so no other process takes
        # the delivery while it is in flight here.
        try:
            return await deliveries.claim_deliveries(
                self.pool, limit=room, max_attempts=self.config.max_attempts,
                claim_seconds=self.config.timeout + CLAIM_MARGIN, grace_seconds=self.config.secret_grace_hours * 3600)
        except Exception as exc:
            self.metrics.task_failures.labels("webhooks").inc()
            log.warning("webhooks_not_claimed", error=type(exc).__name__)
            return []

    async def _deliver_one(self, delivery: Delivery) -> None:
        try:
            await self._deliver(delivery)
        except Exception as exc:
            # Its outcome unrecorded: tried again when the claim ends (or given up after its last try).
            self.metrics.rows_skipped.labels("webhooks").inc()
            log.error("webhook_delivery_crashed", delivery_id=delivery.id, error=type(exc).__name__)

    def secrets(self, delivery: Delivery) -> list[str]:
        if delivery.target == EventTarget.GATEWAY:
            return secrets_for(self.signing_key, None)
        return secrets_for(self.signing_key, delivery.community_id, delivery.secret_version, delivery.sign_previous)

    async def _deliver(self, delivery: Delivery) -> None:
        counted = self.metrics.events
        if delivery.attempts == 1:
            counted.labels(delivery.event, "enqueued").inc()
        status, error = await _post(self.session, self.secrets(delivery), delivery, self.config.timeout)
        if error is None:
            await self._finish(delivery, DeliveryStatus.DELIVERED, 0, None)
            counted.labels(delivery.event, "delivered").inc()
            log.info("webhook_delivered", delivery_id=delivery.id, hook_event=delivery.event)
        elif status == GONE:
            await self._finish(delivery, DeliveryStatus.FAILED, 0, "gone: the receiver answered 410")
            counted.labels(delivery.event, "gone").inc()
            log.warning("webhook_gone", delivery_id=delivery.id, hook_event=delivery.event,
                        attempts=delivery.attempts)
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
        await deliveries.finish_delivery(self.pool, delivery=delivery, status=status, retry_in=retry_in,
                                         error=error)


async def _post(session: aiohttp.ClientSession, secrets: list[str], delivery: Delivery,
                timeout: float) -> tuple[int | None, str | None]:
    """(status, None) when the receiver answered 2xx; else (its status or None, what went wrong in a few words).
    Signed now (the timestamp is this try's: receivers refuse one older than five minutes), with the delivery's
    one webhook-id."""
    now = datetime.now(timezone.utc)
    headers = {"Content-Type": "application/json", "webhook-id": delivery.webhook_id,
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": signature(secrets, delivery.webhook_id, now, delivery.payload)}
    try:
        # Redirects not followed (as the intercept's): a 3xx is not the receiver's 2xx, and following one would
        # post the signed event somewhere else, or (302, 303) turn it into a GET that any page answers 200.
        async with session.post(delivery.url, data=delivery.payload.encode(), headers=headers,
                                allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            ok = 200 <= response.status < 300
            return response.status, None if ok else f"answered {response.status}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return None, type(exc).__name__
