"""Broadcasts: created (scheduled, with a list's recipients), read with their outcomes, canceled mid-way
(README "Broadcasts"). The loop that sends them is gateway/broadcasting/runner.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Mapping

import structlog

from gateway.broadcasting import rules
from gateway.broadcasting.sends import TemplateSends, approved_template, no_sender
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.relay.phones import to_e164
from gateway.storage import broadcasts as storage
from gateway.storage.broadcasts import Broadcast, OutcomeCount, TemplateCount
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.vocabulary import BroadcastState, MessageKind, MessageStatus, RecipientOutcome

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Audience:
    """Exactly one of: phones (as given) or a filter of the community's contacts (preference and/or tag)."""

    phones: list[str] | None = None
    preference: str | None = None
    tag: str | None = None

    def stored(self, listed: int) -> dict:
        """What the broadcast keeps of it: how many phones were listed, or the filter."""
        if self.phones is not None:
            return {"phones": listed}
        return {"filter": {k: v for k, v in (("preference", self.preference), ("tag", self.tag)) if v is not None}}


def read_phones(phones: list[str], region: str) -> tuple[list[str], list[str]]:
    """(the phones read as E.164, each once in the order given; those that could not be read, stripped, each
    once): the first are recipients, the second skipped as invalid_number."""
    read, unreadable = {}, {}
    for raw in phones:
        try:
            read.setdefault(to_e164(raw, field="phone", region=region), None)
        except InvalidInput:
            unreadable.setdefault(raw.strip()[:40] or "(blank)", None)
    return list(read), [phone for phone in unreadable if phone not in read]


async def create(sends: TemplateSends, community: Community, template_id: int, audience: Audience,
                 data: Mapping[str, str], send_at: str | None) -> Broadcast:
    """A scheduled broadcast of an approved template; it starts at send_at (now when absent) in the loop."""
    template = await approved_template(sends.pool, community.id, template_id)
    when = rules.send_time(send_at, community.timezone, datetime.now(timezone.utc))
    numbers = await storage.list_sending_numbers(sends.pool, community_id=community.id)
    if not rules.sender_pool(numbers, template.category):
        raise no_sender(template.category)
    phones, unreadable = read_phones(audience.phones, community.default_region) if audience.phones else ([], [])
    broadcast_id = await storage.insert_broadcast(
        sends.pool, community_id=community.id, template_id=template.id, category=template.category,
        body=template.body, audience=audience.stored(len(phones) + len(unreadable)), data=dict(data), send_at=when,
        phones=phones, unreadable=unreadable)
    log.info("broadcast_created", broadcast_id=broadcast_id, template_id=template.id, listed=len(phones),
             unreadable=len(unreadable), send_at=when.isoformat())
    return await get(sends.pool, community.id, broadcast_id)


async def get(db: Executor, community_id: int, broadcast_id: int) -> Broadcast:
    found = await storage.find_broadcast(db, community_id=community_id, broadcast_id=broadcast_id)
    if found is None:
        raise NotFound("broadcast_not_found", f"no broadcast {broadcast_id} in community {community_id}")
    return found


async def cancel(sends: TemplateSends, community_id: int, broadcast_id: int) -> Broadcast:
    """Stop a broadcast: its pending recipients skipped (canceled), its queued and held messages canceled; those at
    the carrier go on. Canceling a canceled one changes nothing; a completed one is Conflict."""
    async with sends.pool.acquire() as conn, conn.transaction():
        before = await storage.cancel_broadcast(conn, community_id=community_id, broadcast_id=broadcast_id)
        if before is None:
            found = await get(conn, community_id, broadcast_id)
            if found.state == BroadcastState.COMPLETED:
                raise Conflict("broadcast_completed", f"broadcast {broadcast_id} has completed: nothing to cancel "
                                                      "(its held texts: POST /v1/communities/{id}/held/cancel)")
            return found
        # After the broadcast's row: a page a process holds is waited for here, then its messages are canceled.
        skipped = await storage.skip_pending_recipients(conn, broadcast_id=broadcast_id)
        canceled = await storage.cancel_broadcast_messages(conn, broadcast_id=broadcast_id)
    log.info("broadcast_canceled", broadcast_id=broadcast_id, was=before, skipped=skipped, canceled=canceled)
    return await get(sends.pool, community_id, broadcast_id)


@dataclass
class Outcomes:
    """A broadcast's recipients counted: total = pending + skipped + sent; sent = the sum of messages."""

    total: int = 0
    pending: int = 0
    sent: int = 0
    skipped: Counter = field(default_factory=Counter)  # by SkipReason
    messages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(rules.STATUS_GROUPS, 0))
    held: Counter = field(default_factory=Counter)  # by hold reason
    blocked: Counter = field(default_factory=Counter)  # by block reason


def outcomes(counts: list[OutcomeCount]) -> Outcomes:
    """Fold count_broadcast_outcomes.sql's rows (every recipient in exactly one) into the answer's counts."""
    found = Outcomes()
    for row in counts:
        found.total += row.count
        if row.outcome == RecipientOutcome.PENDING:
            found.pending += row.count
        elif row.outcome == RecipientOutcome.SKIPPED:
            found.skipped[row.skip_reason] += row.count
        else:
            found.sent += row.count
            group = rules.status_group(row.status)
            found.messages[group] += row.count
            if row.status == MessageStatus.HELD:
                found.held[row.status_reason or "unknown"] += row.count
            elif row.status == MessageStatus.BLOCKED:
                found.blocked[row.status_reason or "unknown"] += row.count
    return found


async def outcomes_of(db: Executor, broadcast_id: int) -> Outcomes:
    return outcomes(await storage.count_broadcast_outcomes(db, broadcast_id=broadcast_id))


@dataclass
class TemplateLog:
    """A template's messages: in the outcome log's words, and by status; per broadcast (None: triggered sends)."""

    outcomes: Counter = field(default_factory=Counter)  # every message of the template, test sends too
    statuses: Counter = field(default_factory=Counter)
    by_broadcast: dict[int | None, Counter] = field(default_factory=dict)  # None: the triggered sends


def template_log(counts: list[TemplateCount]) -> TemplateLog:
    found = TemplateLog()
    for row in counts:
        word = rules.outcome(row.status, row.status_reason)
        found.outcomes[word] += row.count
        found.statuses[row.status] += row.count
        if row.kind in (MessageKind.TRIGGERED, MessageKind.BROADCAST):
            found.by_broadcast.setdefault(row.broadcast_id, Counter())[word] += row.count
    return found


async def template_outcomes(db: Executor, community_id: int, template_id: int) -> TemplateLog:
    """NotFound when the community has no such template (approved or not: its log may hold older sends)."""
    if await storage.find_template_to_send(db, community_id=community_id, template_id=template_id) is None:
        raise NotFound("template_not_found", f"no template {template_id} in community {community_id}")
    return template_log(await storage.count_template_outcomes(db, template_id=template_id))
