"""Periodic queue care: re-queue messages Redis lost, report queue depth, drop stale bookkeeping."""

from __future__ import annotations

import structlog
from redis.exceptions import RedisError

from gateway.context import Context
from gateway.storage.db import QUERIES

log = structlog.get_logger(__name__)


async def sweep(ctx: Context, batch: int = 1000) -> int:
    """Messages stored as queued (or whose send never answered) that are not in Redis go back in."""
    config = ctx.config.queue
    rows = await ctx.pool.fetch(QUERIES.find_unsent_messages, config.sweep_after, config.lease_seconds * 2, batch)
    requeued = 0
    for row in rows:
        try:
            if await ctx.outbox.ensure(row["id"], row["priority"], row["from_number"], row["segments"]):
                requeued += 1
                log.info("message_requeued", message_id=row["id"])
        except RedisError:
            raise  # Redis away is no fault of the row: the whole pass waits for the next
        except Exception:
            # One row the queue cannot take must not keep the others out of it.
            ctx.metrics.rows_skipped.labels("sweep").inc()
            log.exception("message_requeue_failed", message_id=row["id"])
    if requeued:
        ctx.metrics.requeued.inc(requeued)
        ctx.queued.set()
    await ctx.pool.execute(QUERIES.delete_old_early_statuses)
    await ctx.pool.execute(QUERIES.delete_old_auto_replies)
    await ctx.pool.execute(QUERIES.delete_old_verification_sends)
    return requeued


async def report_depth(ctx: Context) -> None:
    for state, depth in (await ctx.outbox.depth()).items():
        ctx.metrics.queue_depth.labels(state).set(depth)
