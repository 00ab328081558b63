"""The broadcast loop: in every gateway process, start the broadcasts whose time has come, then take pages of
pending recipients (FOR UPDATE SKIP LOCKED: two processes share a broadcast, never a recipient), judge and render
each, and store the page's messages and outcomes in one statement of the page's transaction; queue them after the
commit (one the process could not queue, the sweeper queues). README "Broadcasts"."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog

from gateway.broadcasting import rules
from gateway.broadcasting.sends import TemplateSends, rendered
from gateway.errors import InvalidInput
from gateway.platform import communities
from gateway.relay import segments
from gateway.storage import broadcasts as storage
from gateway.storage.broadcasts import PageSend, PendingRecipient, Running, StoredPageMessage
from gateway.storage.communities import Community
from gateway.verification import numbers
from gateway.vocabulary import MessageKind, MessageStatus, Priority, SkipReason

log = structlog.get_logger(__name__)
RUNNING_AT_ONCE = 20  # running broadcasts looked at per pass; the oldest first
PASS_SECONDS = 5.0  # a pass moves on to the next broadcast after this long on one (so one huge one starves none)
RENDER_SKIPS = {"missing_fields": SkipReason.MISSING_FIELDS, "message_too_long": SkipReason.MESSAGE_TOO_LONG}


@dataclass(frozen=True)
class Context:
    """What judging a page's recipients needs of its broadcast, read once per pass."""

    broadcast: Running
    community: Community
    pool: list[str]  # the numbers its category may go from (rules.sender_pool)
    own: frozenset[str]  # the community's numbers: never a recipient


async def run_once(sends: TemplateSends) -> int:
    """One pass: start what is due, then work through the running broadcasts; returns the recipients processed."""
    started = await storage.start_due_broadcasts(sends.pool)
    for broadcast_id in started:
        log.info("broadcast_started", broadcast_id=broadcast_id)
    done = 0
    for broadcast in await storage.list_running_broadcasts(sends.pool, limit=RUNNING_AT_ONCE):
        done += await _work_on(sends, broadcast)
    return done


async def _work_on(sends: TemplateSends, broadcast: Running) -> int:
    """Pages of one broadcast until none is left to take (or PASS_SECONDS went by); completes it when none is
    pending any more."""
    context = await _context(sends, broadcast)
    deadline, done = time.monotonic() + PASS_SECONDS, 0
    while time.monotonic() < deadline:
        processed = await page(sends, context)
        if not processed:
            break
        done += processed
    if await storage.finish_broadcast(sends.pool, broadcast_id=broadcast.id):
        log.info("broadcast_completed", broadcast_id=broadcast.id)
    return done


async def _context(sends: TemplateSends, broadcast: Running) -> Context:
    community = await communities.find(sends.pool, broadcast.community_id)
    numbers_ = await storage.list_sending_numbers(sends.pool, community_id=community.id)
    return Context(broadcast, community, rules.sender_pool(numbers_, broadcast.category),
                   frozenset(n.phone for n in numbers_))


async def page(sends: TemplateSends, context: Context) -> int:
    """Take, judge and store one page; queue its messages after the commit. Returns how many recipients it took
    (0: none pending that no other process holds)."""
    broadcast, limit = context.broadcast, asyncio.Semaphore(sends.config.lookups)
    async with sends.pool.acquire() as conn, conn.transaction():
        recipients = await storage.claim_recipients(conn, broadcast_id=broadcast.id, limit=sends.config.page_size)
        if not recipients:
            return 0
        judged = await asyncio.gather(*(_judge(sends, context, recipient, limit) for recipient in recipients))
        page_sends = [j for j in judged if isinstance(j, PageSend)]
        skips = [j for j in judged if not isinstance(j, PageSend)]  # PageSend is a tuple too
        stored = await storage.store_page(conn, broadcast=broadcast, priority=Priority.BULK, sends=page_sends,
                                          skips=skips)
    await _queue(sends, context, stored, skips)
    return len(recipients)


async def _judge(sends: TemplateSends, context: Context, recipient: PendingRecipient,
                 limit: asyncio.Semaphore) -> PageSend | tuple[int, SkipReason]:
    """The recipient's message, or why they get none (the order of the checks: the cheapest first)."""
    broadcast = context.broadcast
    if skip := rules.audience_skip(broadcast.category, recipient.preference):
        return recipient.id, skip
    if recipient.phone in context.own:
        return recipient.id, SkipReason.INVALID_NUMBER
    try:
        async with limit:
            checked = await numbers.check(sends.line_types, recipient.phone, field="phone",
                                          policy=numbers.Policy.of(context.community))
        body = rendered(broadcast.body, rules.merge_values(recipient.name, recipient.fields, broadcast.data))
    except InvalidInput as refused:
        return recipient.id, RENDER_SKIPS.get(refused.code) or rules.phone_skip(refused.code)
    sender = rules.choose_sender(context.pool, checked.phone)
    if sender is None:
        return recipient.id, SkipReason.NO_NUMBER
    return PageSend(recipient.id, sender, checked.phone, body, segments.count(body))


async def _queue(sends: TemplateSends, context: Context, stored: list[StoredPageMessage],
                 skips: list[tuple[int, SkipReason]]) -> None:
    """Hand the page's queued messages to the drainers (pipelined: one Redis round trip for many); count it."""
    category, metrics = context.broadcast.category, sends.metrics
    await asyncio.gather(*(sends.dispatcher.requeue(m.id, Priority.BULK, m.from_number, m.segments)
                           for m in stored if m.status == MessageStatus.QUEUED))
    for message in stored:
        if message.status == MessageStatus.BLOCKED:
            metrics.blocked.labels(message.status_reason or "unknown").inc()
        metrics.template_sends.labels(MessageKind.BROADCAST, category, message.status).inc()
    for _, reason in skips:
        metrics.template_sends.labels(MessageKind.BROADCAST, category, "skipped").inc()
        metrics.broadcast_skips.labels(reason).inc()
    metrics.broadcast_pages.inc()
    log.info("broadcast_page_stored", broadcast_id=context.broadcast.id, stored=len(stored), skipped=len(skips),
             queued=sum(1 for m in stored if m.status == MessageStatus.QUEUED))
