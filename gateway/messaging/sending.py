"""Draining the outbound queue: claim, send through the carrier, record the result, retry or fail."""

from __future__ import annotations

import asyncio
import random

import structlog
from redis.exceptions import RedisError

from gateway.compliance import preferences as compliance
from gateway.compliance import limits
from gateway.relay import segments
from gateway.messaging import statuses
from gateway.messaging.receiving import callback_url
from gateway.verification import codes as verification
from gateway.carriers import Accepted, Carrier, Carriers, OutboundSms, Rejected, RetryLater, SendResult
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.ops.logs import clip
from gateway.messaging.outbox import Answer, Ticket
from gateway.ops.tasks import stop_if_cancelled

log = structlog.get_logger(__name__)


def backoff(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before try number attempt+1: capped exponential with full jitter, or what the carrier asked."""
    if retry_after is not None:
        return min(cap, retry_after)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


async def drain(ctx: Context, carriers: Carriers) -> None:
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
                task = asyncio.create_task(send_one(ctx, carriers, ticket))
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
        await _flush_answers(ctx)
        try:
            await ctx.outbox.end_leases()
        except RedisError:
            pass  # the leases run out by themselves


async def send_one(ctx: Context, carriers: Carriers, ticket: Ticket) -> None:
    """One try for one message; a crash here leaves the ticket to be reclaimed when its lease runs out."""
    with structlog.contextvars.bound_contextvars(message_id=ticket.message_id):
        try:
            if ticket.answered or ticket.message_id in ctx.outbox.unrecorded:
                # The carrier took this message already and Postgres has not recorded it yet (its lease ran
                # out, the sweeper re-queued it, or it was retried meanwhile): record it, never send it again.
                await _answered_before(ctx, ticket)
            else:
                await _send(ctx, carriers, ticket)
        except Exception:
            ctx.metrics.sends.labels("crashed").inc()
            log.exception("message_send_crashed")


async def _send(ctx: Context, carriers: Carriers, ticket: Ticket) -> None:
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
    if (carrier := carriers.find(row["carrier"])) is None:
        await _fail(ctx, ticket, row, "carrier_not_served", f"the number's carrier {row['carrier']} is not configured")
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
        await _fail(ctx, ticket, row, code, reason, carrier)


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
    callback = callback_url(ctx.config.public_url, carrier, row["id"])
    return await carrier.send(OutboundSms(row["id"], row["from_number"], row["to_number"], body), callback)


async def _accepted(ctx: Context, ticket: Ticket, row, sid: str, limited: bool) -> None:
    """The carrier took the message: keep its answer first, so that nothing can send it again, then record it."""
    day, month = limits.periods(row) if limited else (None, None)
    answer = Answer(row["id"], sid, day, month, row["segments"], row["community_id"])
    await ctx.outbox.keep(answer, ctx.statements.redis)
    ctx.outbox.done(ticket)
    ctx.metrics.sends.labels("accepted").inc()
    ctx.metrics.segments.inc(row["segments"])
    log.info("message_sent", attempt=row["attempts"], segments=row["segments"])
    if row["kind"] == "verification":
        try:
            await verification.forget_code(ctx, row["id"])
        except RedisError:
            pass  # the code expires with its key's TTL
    if error := await record(ctx, answer):
        log.warning("send_record_deferred", error=error)


async def _answered_before(ctx: Context, ticket: Ticket) -> None:
    ctx.outbox.done(ticket)
    ctx.metrics.sends.labels("repeat_stopped").inc()
    log.info("message_repeat_stopped")
    answer = await ctx.outbox.answer(ticket.message_id)
    if answer is not None:
        await record(ctx, answer)


async def record(ctx: Context, answer: Answer) -> str | None:
    """Record a kept answer in Postgres (recording one twice changes nothing); None when recorded, else the
    error's name. Until it is recorded the answer stays kept, and record_kept tries again."""
    try:
        await statuses.record_accepted(ctx, answer.message_id, answer.sid, answer.day, answer.month,
                                       answer.segments, answer.community_id)
    except Exception as exc:  # Postgres away, or the batch stopped at shutdown: the answer waits
        ctx.metrics.task_failures.labels("record_send").inc()
        ctx.outbox.unrecorded.setdefault(answer.message_id, (answer, True))
        return type(exc).__name__
    ctx.outbox.recorded(answer.message_id)
    return None


async def record_kept(ctx: Context) -> int:
    """Record the answers Postgres missed: this process's, and any in Redis kept for longer than a lease (their
    process died before recording them). Copies only this process held go to Redis too. Returns how many are
    still unrecorded."""
    held = list(ctx.outbox.unrecorded.values())
    for answer, in_redis in held:
        if not in_redis:
            await ctx.outbox.keep_in_redis(answer, ctx.statements.redis)
    answers = [answer for answer, _ in held]
    try:
        answers += await ctx.outbox.kept_answers(older_than=ctx.config.queue.lease_seconds)
    except RedisError:
        pass  # those in Redis wait for it to return
    if not answers:
        return 0
    errors = await asyncio.gather(*(record(ctx, answer) for answer in answers))
    recorded = errors.count(None)
    if recorded < len(answers):
        log.warning("send_records_pending", pending=len(answers) - recorded, recorded=recorded)
    elif recorded:
        log.info("send_records_caught_up", recorded=recorded)
    return len(answers) - recorded


async def _flush_answers(ctx: Context) -> None:
    """At shutdown: one last try to record what is kept (or to put it in Redis). An answer held only here and
    recorded nowhere is logged: its message may be sent again once its lease runs out."""
    if not ctx.outbox.unrecorded:
        return
    try:
        await asyncio.wait_for(record_kept(ctx), ctx.config.carrier.send_timeout)
    except Exception as exc:
        log.warning("send_records_flush_failed", error=type(exc).__name__)
    lost = sorted(mid for mid, (_, in_redis) in ctx.outbox.unrecorded.items() if not in_redis)
    if lost:
        log.error("send_answers_lost_at_shutdown", message_ids=lost[:100], count=len(lost))


async def _fail(ctx: Context, ticket: Ticket, row, code: str, reason: str, carrier: Carrier | None = None) -> None:
    """Final failure; a carrier's error code (carrier given) may put the recipient on do-not-disturb."""
    await ctx.pool.execute(QUERIES.fail_message, row["id"], code, reason)
    ctx.outbox.done(ticket)
    if carrier is not None:
        await compliance.record_carrier_error(ctx, row["id"], code, carrier)
    ctx.metrics.sends.labels("failed").inc()
    log.warning("message_failed", error_code=clip(code, 16), attempt=row["attempts"])
