"""Delivery statuses from the carrier: applied forward-only, kept when they arrive before the send's reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

import asyncpg
import structlog

from gateway.carriers import Carrier, StatusUpdate
from gateway.errors import Conflict, NotPermitted
from gateway.messaging.outbox import Answer
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.storage import messages as storage
from gateway.storage.batching import Batched
from gateway.storage.db import Executor
from gateway.storage.messages import AdoptedStatus, EarlyStatus, RecordAccepted
from gateway.vocabulary import MessageStatus, StatusOutcome

log = structlog.get_logger(__name__)

# What a carrier error on a message does to its recipient (do-not-disturb): (message id, error code, the carrier
# whose code it is).
CarrierErrors = Callable[[int, str | None, Carrier], Awaitable[None]]


@dataclass(frozen=True)
class StatusUpdates:
    """What applying a status callback uses: Postgres, and what a failure's error code does (DND)."""

    db: Executor
    carrier_errors: CarrierErrors
    default_carrier: str  # the carrier of the numbers that name none
    metrics: Metrics


async def apply(updates: StatusUpdates, message_id: int | None, update: StatusUpdate,
                carrier: Carrier) -> StatusOutcome:
    """Apply a status callback from carrier for our message (by id, or else by sid).

    Raises Conflict (sid_in_use) when the callback names our message and a sid another message already has;
    NotPermitted (wrong_carrier) when the message went out through another carrier (no carrier moves another's
    messages, whatever it signs).
    """
    try:
        applied = await storage.apply_message_status(updates.db, message_id=message_id, sid=update.sid,
                                                     status=update.status, error_code=update.error_code,
                                                     carrier=carrier.name, default_carrier=updates.default_carrier)
    except asyncpg.UniqueViolationError:
        raise Conflict("sid_in_use", "MessageSid: the sid of another message; nothing applied") from None
    if applied is not None and not applied.on_carrier:
        raise NotPermitted("wrong_carrier", "that message was not sent through this carrier; nothing applied")
    if applied is None:
        # The carrier knows a sid we have not recorded: keep it for when the send's reply arrives.
        await storage.store_early_status(updates.db, sid=update.sid, status=update.status,
                                         error_code=update.error_code, carrier=carrier.name)
        log.info("status_kept_for_later", status=clip(update.status), carrier_sid=clip(update.sid))
        return StatusOutcome.EARLY
    structlog.contextvars.bind_contextvars(message_id=applied.id)
    if not applied.forward:
        log.info("status_ignored", status=clip(update.status), current=applied.status)
        return StatusOutcome.STALE
    log.info("status_applied", status=clip(update.status), error_code=clip(update.error_code, 16))
    updates.metrics.statuses.labels(update.status).inc()
    if update.status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
        await updates.carrier_errors(applied.id, update.error_code, carrier)
    return StatusOutcome.APPLIED


async def adopt_early(pool: asyncpg.Pool, default_carrier: str, batch: int = 500) -> int:
    """Apply kept callbacks whose sid a recorded send now has: a callback kept just as the send's record committed
    is seen by neither (each statement reads its own snapshot), so a sweep looks again. One transaction: a
    failure leaves them kept for the next sweep. Returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        adopted = await storage.adopt_early_statuses(conn, limit=batch)
        for kept in adopted:
            await _apply_kept(conn, kept.message_id, kept.sid, kept, default_carrier)
    return len(adopted)


async def record_accepted(db: Executor, batch: Batched[RecordAccepted], answer: Answer,
                          default_carrier: str) -> None:
    """The carrier took the message: record its sid and usage (batched with other sends' records), then any
    callbacks that came before we knew the sid, those its own carrier posted (default_carrier: the carrier of
    the numbers that name none)."""
    early = await storage.record_send_accepted(batch, RecordAccepted(
        answer.message_id, answer.sid, answer.day, answer.month, answer.segments, answer.community_id,
        unit=answer.unit))
    for kept in early:
        await _apply_kept(db, answer.message_id, answer.sid, kept, default_carrier)


async def _apply_kept(db: Executor, message_id: int, sid: str, kept: EarlyStatus | AdoptedStatus,
                      default_carrier: str) -> None:
    """A callback kept before its sid was recorded, applied to the message that has it now, if the message went
    out through the carrier that posted it."""
    applied = await storage.apply_message_status(
        db, message_id=message_id, sid=sid, status=kept.status, error_code=kept.error_code, carrier=kept.carrier,
        default_carrier=default_carrier)
    if applied is not None and not applied.on_carrier:
        log.warning("early_status_refused", status=clip(kept.status), carrier=clip(kept.carrier))
    else:
        log.info("early_status_applied", status=clip(kept.status), message_id=message_id)
