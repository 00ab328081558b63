"""Quiet hours in the send path: hold a marketing or bulk text outside its recipient's window, and release held
texts when their window opens (the rule: gateway/compliance/quiet_hours.py; README "Quiet hours")."""

from __future__ import annotations

from datetime import datetime

import structlog

from gateway.clock import Clock
from gateway.compliance import quiet_hours
from gateway.messaging.dispatch import Dispatcher
from gateway.storage import held
from gateway.storage.db import Executor
from gateway.storage.messages import SendingMessage
from gateway.vocabulary import HoldReason, MessageStatus

log = structlog.get_logger(__name__)


async def hold(db: Executor, message: SendingMessage, now: datetime) -> SendingMessage:
    """The claimed message, or held for quiet hours when it is marketing or bulk and its recipient's window is shut
    at now (the gateway's clock), with messages.release_at when it opens. Relays and the rest never look. Asked at
    every try, so a text released by the daily reset or from the review queue is asked again; asked before the limits
    reserve anything (sending._send), so a held text uses none of them."""
    if (message.status != MessageStatus.SUBMITTING or message.quiet_hours is None
            or not quiet_hours.applies(message.kind, message.category)):
        return message
    window = quiet_hours.Window(*message.quiet_hours)
    until = quiet_hours.hold_until(now, message.to_number, window, message.timezone or "UTC")
    if until is None:
        return message
    await held.hold_quiet(db, message_id=message.id, until=until, plain_body=message.plain_body)
    log.info("quiet_hours_held", held_until=until.isoformat())
    return message._replace(status=MessageStatus.HELD, status_reason=HoldReason.QUIET_HOURS)

async def release_due(db: Executor, dispatcher: Dispatcher, clock: Clock, batch: int = 1000) -> int:
    """Texts held for quiet hours whose recipient's window opened by the clock's now go back to the queue, in their
    lane; returns how many. Claimed row by row in Postgres, so processes running this at once release each once; a
    process killed after the release and before queueing leaves them queued, which the sweep re-queues."""
    total, now = 0, clock.now()
    while True:
        released = await held.release_quiet_held(db, now=now, limit=batch)
        for message in released:
            await dispatcher.queue(message.id, message.priority, message.from_number, message.segments)
        total += len(released)
        if len(released) < batch:
            break
    if total:
        log.info("held_messages_released", reason=HoldReason.QUIET_HOURS, count=total)
    return total
