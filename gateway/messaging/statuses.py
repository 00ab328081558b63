"""Delivery statuses from the carrier: applied forward-only, kept when they arrive before the send's reply."""

from __future__ import annotations

from datetime import date

import asyncpg
import structlog

from gateway.compliance import preferences as compliance
from gateway.carriers import Carrier, StatusUpdate
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict
from gateway.ops.logs import clip

log = structlog.get_logger(__name__)


async def apply(ctx: Context, message_id: int | None, update: StatusUpdate, carrier: Carrier) -> str:
    """Apply a status callback from carrier; returns "applied", "stale" (older than what we have) or "early".

    Raises Conflict (sid_in_use) when the callback names our message and a sid another message already has.
    """
    try:
        row = await ctx.pool.fetchrow(QUERIES.apply_message_status, message_id, update.sid, update.status,
                                      update.error_code)
    except asyncpg.UniqueViolationError:
        raise Conflict("sid_in_use", "MessageSid: the sid of another message; nothing applied") from None
    if row is None:
        # The carrier knows a sid we have not recorded: keep it for when the send's reply arrives.
        await ctx.pool.execute(QUERIES.store_early_status, update.sid, update.status, update.error_code)
        log.info("status_kept_for_later", status=clip(update.status), carrier_sid=clip(update.sid))
        return "early"
    structlog.contextvars.bind_contextvars(message_id=row["id"])
    if not row["forward"]:
        log.info("status_ignored", status=clip(update.status), current=row["status"])
        return "stale"
    log.info("status_applied", status=clip(update.status), error_code=clip(update.error_code, 16))
    if update.status in ("failed", "undelivered"):
        await compliance.record_carrier_error(ctx, row["id"], update.error_code, carrier)
    return "applied"


async def record_accepted(ctx: Context, message_id: int, sid: str, day: date | None, month: date | None,
                          segments: int, community_id: int | None) -> None:
    """The carrier took the message: record its sid and usage, then any callbacks that came before we knew it."""
    row = await ctx.statements.record_accepted.fetchrow(message_id, sid, day, month, segments, community_id)
    for status, error_code in zip(row["early_statuses"], row["early_error_codes"]):
        await ctx.pool.execute(QUERIES.apply_message_status, message_id, sid, status, error_code)
