"""Broadcasts and their recipients (migration 0031), and what a template send reads of templates, numbers and
contacts: one function per statement of sql/queries/."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from gateway.broadcasting.rules import SendingNumber
from gateway.storage.db import QUERIES, Executor
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import (BroadcastState, MessageKind, MessageStatus, Preference, Priority, RecipientOutcome,
                                SkipReason, TemplateCategory, TemplateState)


def _json(value: object) -> dict:
    # asyncpg gives jsonb as text unless a codec is set on the pool.
    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[arg-type]


# --- What a send reads ----------------------------------------------------------------------------------------

class TemplateToSend(NamedTuple):
    id: int
    name: str
    category: TemplateCategory
    body: str
    state: TemplateState


class SendContact(NamedTuple):
    """A phone's contact as a send sees it: no name and no fields when the community has no contact for it."""

    name: str | None
    fields: dict[str, str]
    preference: Preference  # the one that governs the send's category


async def find_template_to_send(db: Executor, *, community_id: int, template_id: int) -> TemplateToSend | None:
    row = await db.fetchrow(QUERIES.find_template_to_send, community_id, template_id)
    return None if row is None else TemplateToSend(row["id"], row["name"], TemplateCategory(row["category"]),
                                                   row["body"], TemplateState(row["state"]))


async def list_sending_numbers(db: Executor, *, community_id: int) -> list[SendingNumber]:
    return [SendingNumber(row["phone"], None if row["category"] is None else TemplateCategory(row["category"]),
                          row["member_phone"], row["team_id"])
            for row in await db.fetch(QUERIES.list_sending_numbers, community_id)]


async def find_send_contact(db: Executor, *, community_id: int, phone: str,
                            category: TemplateCategory) -> SendContact:
    row = await db.fetchrow(QUERIES.find_send_contact, community_id, phone, category)
    return SendContact(row["name"], _json(row["fields"]), Preference(row["preference"]))


async def insert_template_message(db: Executor, *, community_id: int, kind: MessageKind, priority: Priority,
                                  from_number: str, to_number: str, body: str, segments: int, template_id: int,
                                  category: TemplateCategory) -> StoredOutbound:
    """A triggered send's message: queued, or blocked with the reason (outbound_block)."""
    row = await db.fetchrow(QUERIES.insert_template_message, community_id, kind, priority, from_number, to_number,
                            body, segments, template_id, category)
    return StoredOutbound.of(row)


# --- Broadcasts -------------------------------------------------------------------------------------------------

class Broadcast(NamedTuple):
    id: int
    community_id: int
    template_id: int
    category: TemplateCategory
    body: str
    audience: dict
    data: dict[str, str]
    send_at: datetime
    state: BroadcastState
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Broadcast:
        return cls(row["id"], row["community_id"], row["template_id"], TemplateCategory(row["category"]), row["body"],
                   _json(row["audience"]), _json(row["data"]), row["send_at"], BroadcastState(row["state"]),
                   row["created_at"], row["started_at"], row["finished_at"])


async def insert_broadcast(db: Executor, *, community_id: int, template_id: int, category: TemplateCategory,
                           body: str, audience: dict, data: dict[str, str], send_at: datetime, phones: list[str],
                           unreadable: list[str]) -> int:
    """A scheduled broadcast with its listed recipients (phones, E.164, pending; unreadable ones skipped); its id."""
    return await db.fetchval(QUERIES.insert_broadcast, community_id, template_id, category, body, json.dumps(audience),
                             json.dumps(data), send_at, phones, unreadable)


async def find_broadcast(db: Executor, *, community_id: int, broadcast_id: int) -> Broadcast | None:
    row = await db.fetchrow(QUERIES.find_broadcast, community_id, broadcast_id)
    return None if row is None else Broadcast.of(row)


async def list_broadcasts(db: Executor, *, community_id: int, after: int, limit: int) -> list[Broadcast]:
    return [Broadcast.of(row) for row in await db.fetch(QUERIES.list_broadcasts, community_id, after, limit)]


async def start_due_broadcasts(db: Executor) -> list[int]:
    """Start those due (a filter's recipients read from contacts at once); their ids."""
    return [row["id"] for row in await db.fetch(QUERIES.start_due_broadcasts)]


class Running(NamedTuple):
    """A running broadcast: what rendering and storing its recipients' messages needs."""

    id: int
    community_id: int
    template_id: int
    category: TemplateCategory
    body: str
    data: dict[str, str]


async def list_running_broadcasts(db: Executor, *, limit: int) -> list[Running]:
    return [Running(row["id"], row["community_id"], row["template_id"], TemplateCategory(row["category"]),
                    row["body"], _json(row["data"]))
            for row in await db.fetch(QUERIES.list_running_broadcasts, limit)]


class PendingRecipient(NamedTuple):
    id: int
    phone: str
    name: str | None
    fields: dict[str, str]
    preference: Preference


async def claim_recipients(db: Executor, *, broadcast_id: int, limit: int) -> list[PendingRecipient]:
    """A page of pending recipients, locked until the caller's transaction ends (others skip them)."""
    return [PendingRecipient(row["id"], row["phone"], row["name"], _json(row["fields"]),
                             Preference(row["preference"]))
            for row in await db.fetch(QUERIES.claim_broadcast_recipients, broadcast_id, limit)]


class PageSend(NamedTuple):
    """One recipient's rendered message, in store_page's order."""

    recipient_id: int
    from_number: str
    to_number: str
    body: str
    segments: int


class StoredPageMessage(NamedTuple):
    id: int
    from_number: str
    status: MessageStatus
    status_reason: str | None
    segments: int


async def store_page(db: Executor, *, broadcast: Running, priority: Priority, sends: list[PageSend],
                     skips: list[tuple[int, SkipReason]]) -> list[StoredPageMessage]:
    """Store the page's messages and mark every recipient of it, in one statement."""
    rows = await db.fetch(QUERIES.store_broadcast_page, broadcast.id, broadcast.community_id, broadcast.template_id,
                          broadcast.category, priority, [s.recipient_id for s in sends],
                          [s.from_number for s in sends], [s.to_number for s in sends], [s.body for s in sends],
                          [s.segments for s in sends], [k[0] for k in skips], [str(k[1]) for k in skips])
    return [StoredPageMessage(row["id"], row["from_number"], MessageStatus(row["status"]), row["status_reason"],
                              row["segments"]) for row in rows]


async def finish_broadcast(db: Executor, *, broadcast_id: int) -> bool:
    """Complete a running broadcast with no pending recipient; whether it was."""
    return await db.fetchval(QUERIES.finish_broadcast, broadcast_id) is not None


async def cancel_broadcast(db: Executor, *, community_id: int, broadcast_id: int) -> BroadcastState | None:
    """The state a scheduled or running broadcast had before it was canceled; None when it was neither."""
    state = await db.fetchval(QUERIES.cancel_broadcast, community_id, broadcast_id)
    return None if state is None else BroadcastState(state)


async def skip_pending_recipients(db: Executor, *, broadcast_id: int) -> int:
    return await db.fetchval(QUERIES.skip_pending_recipients, broadcast_id)


async def cancel_broadcast_messages(db: Executor, *, broadcast_id: int) -> int:
    return await db.fetchval(QUERIES.cancel_broadcast_messages, broadcast_id)


# --- Outcomes ---------------------------------------------------------------------------------------------------

class OutcomeCount(NamedTuple):
    outcome: RecipientOutcome
    skip_reason: SkipReason | None
    status: MessageStatus | None  # the message's, when sent
    status_reason: str | None
    count: int


async def count_broadcast_outcomes(db: Executor, *, broadcast_id: int) -> list[OutcomeCount]:
    return [OutcomeCount(RecipientOutcome(row["outcome"]),
                         None if row["skip_reason"] is None else SkipReason(row["skip_reason"]),
                         None if row["status"] is None else MessageStatus(row["status"]), row["status_reason"],
                         row["count"]) for row in await db.fetch(QUERIES.count_broadcast_outcomes, broadcast_id)]


class Recipient(NamedTuple):
    id: int
    phone: str
    outcome: RecipientOutcome
    skip_reason: SkipReason | None
    message_id: int | None
    processed_at: datetime | None
    status: MessageStatus | None
    status_reason: str | None


async def list_recipients(db: Executor, *, broadcast_id: int, after: int, limit: int) -> list[Recipient]:
    return [Recipient(row["id"], row["phone"], RecipientOutcome(row["outcome"]),
                      None if row["skip_reason"] is None else SkipReason(row["skip_reason"]), row["message_id"],
                      row["processed_at"], None if row["status"] is None else MessageStatus(row["status"]),
                      row["status_reason"])
            for row in await db.fetch(QUERIES.list_broadcast_recipients, broadcast_id, after, limit)]


class TemplateCount(NamedTuple):
    kind: MessageKind  # triggered, broadcast, or a template's test send
    broadcast_id: int | None
    status: MessageStatus
    status_reason: str | None
    count: int


async def count_template_outcomes(db: Executor, *, template_id: int) -> list[TemplateCount]:
    return [TemplateCount(MessageKind(row["kind"]), row["broadcast_id"], MessageStatus(row["status"]),
                          row["status_reason"], row["count"])
            for row in await db.fetch(QUERIES.count_template_outcomes, template_id)]
