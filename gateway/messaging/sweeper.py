"""Periodic queue care: re-queue messages Redis lost, release messages held for a carrier served again, report
queue depth, drop stale bookkeeping."""

from __future__ import annotations

import asyncio

import structlog
from redis.exceptions import RedisError

from gateway import config
from gateway.carriers import Carriers
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.outbox import Outbox
from gateway.ops.metrics import Metrics
from gateway.storage import messages as storage
from gateway.storage import held, verifications
from gateway.storage.db import Executor
from gateway.vocabulary import HoldReason

log = structlog.get_logger(__name__)


async def sweep(db: Executor, outbox: Outbox, metrics: Metrics, queued: asyncio.Event, queue: config.QueueSettings,
                batch: int = 1000) -> int:
    """Messages stored as queued (or whose send never answered) that are not in Redis go back in; returns how
    many. `queued` is set when any did, so this process's drainer claims them now."""
    unsent = await storage.find_unsent_messages(db, queued_for=queue.sweep_after,
                                                submitting_for=queue.lease_seconds * 2, limit=batch)
    requeued = 0
    for message in unsent:
        try:
            if await outbox.ensure(message.id, message.priority, message.from_number, message.segments):
                requeued += 1
                log.info("message_requeued", message_id=message.id)
        except RedisError:
            raise  # Redis away is no fault of the row: the whole pass waits for the next
        except Exception:
            # One row the queue cannot take must not keep the others out of it.
            metrics.rows_skipped.labels("sweep").inc()
            log.exception("message_requeue_failed", message_id=message.id)
    if requeued:
        metrics.requeued.inc(requeued)
        queued.set()
    await storage.delete_old_early_statuses(db)
    await storage.delete_old_auto_replies(db)
    await verifications.delete_old_verification_sends(db)
    return requeued


async def release_carrier_held(db: Executor, dispatcher: Dispatcher, carriers: Carriers, batch: int = 1000) -> int:
    """Messages held because their number's carrier was not served (carrier_not_served) go back to the queue
    when this gateway serves that carrier; returns how many. Run at start and every sweep interval, so a
    carrier configured again sends what waited for it. A gateway that still lacks the carrier, sharing the
    queue during a rolling restart, may claim one and hold it again: the next release returns it."""
    total = 0
    while True:
        released = await held.release_carrier_held(db, served=carriers.names, default=carriers.default.name,
                                                   limit=batch)
        for message in released:
            await dispatcher.queue(message.id, message.priority, message.from_number, message.segments)
        total += len(released)
        if len(released) < batch:
            break
    if total:
        log.info("held_messages_released", reason=HoldReason.CARRIER_NOT_SERVED, count=total)
    return total


async def report_depth(outbox: Outbox, metrics: Metrics) -> None:
    """The shared queue's depth, and whether Redis answered (gateway_redis_up): every few seconds, so the gauge
    follows Redis where nothing asks /readyz (a plain host under systemd)."""
    try:
        depths = await outbox.depth()
    except Exception:
        metrics.redis_up.set(0)
        raise  # the task's loop logs and counts it
    metrics.redis_up.set(1)
    for state, depth in depths.items():
        metrics.queue_depth.labels(state).set(depth)
