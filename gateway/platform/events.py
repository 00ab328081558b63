"""Signed JSON POSTs to a community's own webhooks (opt-out changes, alerts): stored first, retried with backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from typing import Any, Mapping

import aiohttp
import asyncpg
import structlog

from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.ops.logs import clip

log = structlog.get_logger(__name__)
BATCH = 20


def sign(secret: bytes, timestamp: str, body: str) -> str:
    """X-Gateway-Signature: sha256 HMAC over "{timestamp}.{body}", so a replayed old body fails a fresh check."""
    return "sha256=" + hmac.new(secret, f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


async def enqueue(conn: asyncpg.Connection, community_id: int, url: str | None, event: str,
                  payload: Mapping[str, Any]) -> None:
    """Store a delivery in the caller's transaction: it goes out even if this process dies right after."""
    if url:
        await conn.execute(QUERIES.insert_webhook_delivery, community_id, url, event,
                           json.dumps({"event": event, **payload}, default=str))


async def deliver_due(ctx: Context, session: aiohttp.ClientSession) -> int:
    """Post what is due, all at once; a failure waits 2^attempts seconds (at most an hour), and a delivery is
    tried at most hooks.max_attempts times. One delivery's failure is logged and counted; the others go on."""
    config = ctx.config.hooks
    for delivery_id in await ctx.pool.fetch(QUERIES.give_up_webhook_deliveries, config.max_attempts):
        log.warning("webhook_given_up", delivery_id=delivery_id["id"], error="no outcome recorded")
    # The claim outlasts every post of the batch (each ends by config.timeout), so no other process takes one
    # while it is in flight here.
    rows = await ctx.pool.fetch(QUERIES.claim_webhook_deliveries, BATCH, config.max_attempts, config.timeout + 60)
    outcomes = await asyncio.gather(*(_deliver(ctx, session, row) for row in rows), return_exceptions=True)
    for row, outcome in zip(rows, outcomes):
        if isinstance(outcome, Exception):
            ctx.metrics.rows_skipped.labels("webhooks").inc()
            log.error("webhook_delivery_crashed", delivery_id=row["id"], error=type(outcome).__name__)
    return len(rows)


async def _deliver(ctx: Context, session: aiohttp.ClientSession, row) -> None:
    config = ctx.config.hooks
    error = await _post(session, ctx.hook_secret, row["url"], row["payload"], config.timeout)
    if error is None:
        await ctx.pool.execute(QUERIES.finish_webhook_delivery, row["id"], "delivered", 0, None)
        log.info("webhook_delivered", delivery_id=row["id"], hook_event=row["event"])
    elif row["attempts"] >= config.max_attempts:
        await ctx.pool.execute(QUERIES.finish_webhook_delivery, row["id"], "failed", 0, error)
        log.warning("webhook_given_up", delivery_id=row["id"], hook_event=row["event"], error=clip(error, 120))
    else:
        wait = min(3600.0, 2 ** row["attempts"]) * random.uniform(0.5, 1.0)
        await ctx.pool.execute(QUERIES.finish_webhook_delivery, row["id"], "pending", wait, error)
        log.info("webhook_deferred", delivery_id=row["id"], hook_event=row["event"], retry_in=round(wait, 1))


async def _post(session: aiohttp.ClientSession, secret: bytes, url: str, body: str, timeout: float) -> str | None:
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Gateway-Timestamp": timestamp,
               "X-Gateway-Signature": sign(secret, timestamp, body)}
    try:
        async with session.post(url, data=body.encode(), headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            return None if 200 <= response.status < 300 else f"answered {response.status}"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return type(exc).__name__
