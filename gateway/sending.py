"""Draining the outbound queue: claim, send through the carrier, record the result, retry or fail."""

from __future__ import annotations

import asyncio
import random

import structlog
from redis.exceptions import RedisError

from gateway import compliance, limits, segments, statuses, verification
from gateway.carriers import Accepted, Carrier, OutboundSms, Rejected, RetryLater, SendResult
from gateway.context import Context
from gateway.db import QUERIES
from gateway.logs import clip
from gateway.outbox import Ticket
from gateway.tasks import stop_if_cancelled

log = structlog.get_logger(__name__)


def backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before try number attempt+1: capped exponential with full jitter, or what the carrier asked."""
    if retry_after is not None:
        return min(cap, retry_after)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


async def drain(ctx: Context, carrier: Carrier) -> None:
    """Claim and send for as long as the task runs; every send is a child of this task."""
    limit = ctx.config.queue.concurrency
    running: set[asyncio.Task] = set()
    try:
        while True:
            try:
                tickets = await ctx.outbox.claim(limit - len(running)) if len(running) < limit else []
            except RedisError as exc:
                # Redis is away: messages wait in Postgres as queued; the sweeper re-queues them later.
                log.warning("queue_claim_failed", error=type(exc).__name__)
                ctx.metrics.task_failures.labels("drain").inc()
                await asyncio.sleep(ctx.config.tasks.restart_delay)
                continue
            for ticket in tickets:
                task = asyncio.create_task(send_one(ctx, carrier, ticket))
                running.add(task)
                task.add_done_callback(running.discard)
            stop_if_cancelled()
            if not tickets:
                ctx.queued.clear()
                try:
                    await asyncio.wait_for(ctx.queued.wait(), ctx.config.queue.poll_interval)
                except TimeoutError:
                    pass
    finally:
        # Sends in flight are left to finish: cutting one mid-request could send the message twice.
        if running:
            await asyncio.wait(running, timeout=ctx.config.carrier.send_timeout)
            for task in running:
                task.cancel()
        try:
            await ctx.outbox.end_leases()
        except RedisError:
            pass  # the leases run out by themselves


async def send_one(ctx: Context, carrier: Carrier, ticket: Ticket) -> None:
    """One try for one message; a crash here leaves the ticket to be reclaimed when its lease runs out."""
    with structlog.contextvars.bound_contextvars(message_id=ticket.message_id):
        try:
            await _send(ctx, carrier, ticket)
        except Exception:
            ctx.metrics.sends.labels("crashed").inc()
            log.exception("message_send_crashed")


async def _send(ctx: Context, carrier: Carrier, ticket: Ticket) -> None:
    config = ctx.config
    row = await ctx.statements.begin_send.fetchrow(ticket.message_id, config.limits.daily_levels,
                                                   config.limits.daily_ceiling)
    if row["status"] != "submitting":
        await _stopped(ctx, ticket, row if row["id"] is not None else None)
        return
    structlog.contextvars.bind_contextvars(conversation_id=row["conversation_id"])
    row = dict(row)
    if row["identified"]:
        # The first text to this phone now carries the sender identification (begin_send added it), which may
        # cost a segment more: count that before the limits. Whatever happens next stores the new count.
        row["segments"] = segments.count(row["body"])
    if problem := segments.unsendable(row["body"]):
        # Nothing empty or over the carrier's limit is handed to it: it would refuse it anyway.
        await _fail(ctx, ticket, row, *problem)
        return
    limited = row["community_id"] is not None and row["kind"] != "keyword_reply"
    if limited and (reason := await limits.reserve(ctx, row)):
        await ctx.pool.execute(QUERIES.hold_message, row["id"], reason, row["segments"])
        await _stopped(ctx, ticket, {**row, "status": "held", "status_reason": reason})
        return
    result = await _deliver(ctx, carrier, row)
    if limited and not isinstance(result, Accepted):
        await limits.refund(ctx, row)
    if isinstance(result, Accepted):
        await _accepted(ctx, ticket, row, result.sid, limited)
        return
    if row["identified"]:
        await ctx.pool.execute(QUERIES.set_message_segments, row["id"], row["segments"])
    if isinstance(result, RetryLater) and row["attempts"] < config.carrier.max_attempts:
        delay = backoff(row["attempts"], base=config.carrier.retry_base, cap=config.carrier.retry_cap,
                        retry_after=result.after)
        await ctx.pool.execute(QUERIES.requeue_message, row["id"], result.reason)
        await ctx.outbox.retry(ticket, delay)
        ctx.metrics.sends.labels("retry").inc()
        log.warning("message_send_deferred", reason=clip(result.reason, 120), attempt=row["attempts"], retry_in=round(delay, 2))
    else:
        code, reason = ((result.code, result.message) if isinstance(result, Rejected)
                        else ("max_attempts", f"gave up after {row['attempts']} tries: {result.reason}"))
        await _fail(ctx, ticket, row, code, reason)


async def _stopped(ctx: Context, ticket: Ticket, row) -> None:
    """The message is not to be sent now: sent or canceled meanwhile, blocked, or held."""
    ctx.outbox.done(ticket)
    if row is None:
        return
    counter = ctx.metrics.held if row["status"] == "held" else ctx.metrics.blocked
    counter.labels(row["status_reason"] or "unknown").inc()
    log.info("message_" + row["status"], reason=row["status_reason"])


async def _deliver(ctx: Context, carrier: Carrier, row) -> SendResult:
    """The text as it goes out (with the verification code filled in), handed to the carrier."""
    body = row["body"]
    if row["kind"] == "verification":
        body = await verification.fill_code(ctx, row["id"], body)
        if body is None:
            return Rejected("code_expired", "the verification code expired before it could be sent")
    callback = f"{ctx.config.public_url}/webhooks/{carrier.wire}/status?mid={row['id']}"
    return await carrier.send(OutboundSms(row["id"], row["from_number"], row["to_number"], body), callback)


async def _accepted(ctx: Context, ticket: Ticket, row, sid: str, limited: bool) -> None:
    day, month = limits.periods(row) if limited else (None, None)
    await statuses.record_accepted(ctx, row["id"], sid, day, month, row["segments"], row["community_id"])
    ctx.outbox.done(ticket)
    if row["kind"] == "verification":
        await verification.forget_code(ctx, row["id"])
    ctx.metrics.sends.labels("accepted").inc()
    ctx.metrics.segments.inc(row["segments"])
    log.info("message_sent", attempt=row["attempts"], segments=row["segments"])


async def _fail(ctx: Context, ticket: Ticket, row, code: str, reason: str) -> None:
    await ctx.pool.execute(QUERIES.fail_message, row["id"], code, reason)
    ctx.outbox.done(ticket)
    await compliance.record_carrier_error(ctx, row["id"], code)
    ctx.metrics.sends.labels("failed").inc()
    log.warning("message_failed", error_code=clip(code, 16), attempt=row["attempts"])
