"""WhatsApp participants (migration 0025): their channel and opt-in per number, their 24-hour customer-service
window, and the community's re-engagement template."""

from __future__ import annotations

import json
from typing import NamedTuple

import asyncpg

from gateway.storage.db import QUERIES, Executor
from gateway.storage.held import Released
from gateway.vocabulary import Channel, HoldReason, Priority


class HeldCopy(NamedTuple):
    id: int
    community_id: int | None
    conversation_id: int | None
    from_number: str
    to_number: str


class ContactRow(NamedTuple):
    number: str
    channel: Channel
    opted_in: bool
    window_open: bool


async def open_window(db: asyncpg.Pool, *, proxy: str, phone: str) -> list[Released]:
    """An inbound WhatsApp message: the window opens and the texts held for it go back to the queue (returned). Two
    statements in one transaction: the second's snapshot sees a text a send held while the first waited for it."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(QUERIES.open_whatsapp_window, proxy, phone)
        rows = await conn.fetch(QUERIES.release_whatsapp_window_held, proxy, phone)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def release_if_open(db: Executor, *, proxy: str, phone: str) -> list[Released]:
    """The texts held for phone's window with proxy, back to the queue (returned) if the window is open now."""
    rows = await db.fetch(QUERIES.release_whatsapp_held_if_window_open, proxy, phone)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def window_waiting(db: Executor, *, community_id: int) -> list[HeldCopy]:
    """The community's texts held for a closed window, one per number and phone."""
    rows = await db.fetch(QUERIES.whatsapp_window_waiting, community_id)
    return [HeldCopy(row["id"], row["community_id"], row["conversation_id"], row["from_number"], row["to_number"])
            for row in rows]


async def claim_template(db: Executor, *, proxy: str, phone: str, community_id: int) -> dict | None:
    """The community's template when this process is to send it now (once per closed window), else None."""
    value = await db.fetchval(QUERIES.claim_whatsapp_template, proxy, phone, community_id)
    return None if value is None else _json(value)


async def close_window(db: Executor, *, proxy: str, phone: str) -> None:
    await db.execute(QUERIES.close_whatsapp_window, proxy, phone)


async def find_template(db: Executor, *, community_id: int) -> dict | None:
    value = await db.fetchval(QUERIES.find_whatsapp_template, community_id)
    return None if value is None else _json(value)


async def set_template(db: Executor, *, community_id: int, template: dict | None) -> bool:
    """Whether the community exists (its template is then set, or removed with None)."""
    value = None if template is None else json.dumps(template)
    return await db.fetchval(QUERIES.set_whatsapp_template, community_id, value) is not None


async def record_contact(db: Executor, *, community_id: int, phone: str, channel: Channel,
                         opted_in: bool) -> list[ContactRow]:
    rows = await db.fetch(QUERIES.record_whatsapp_contact, community_id, phone, channel, opted_in)
    return sorted(ContactRow(row["proxy_number"], Channel(row["channel"]), row["opted_in"], row["window_open"])
                  for row in rows)


async def release_held(db: Executor, *, community_id: int, phone: str, reasons: list[HoldReason]) -> list[Released]:
    """The texts held for reasons to phone on the community's numbers, back to the queue (returned)."""
    rows = await db.fetch(QUERIES.release_whatsapp_held, community_id, phone, reasons)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def hold_copy(db: Executor, *, message_id: int) -> HeldCopy | None:
    """The text failed as outside the window after the carrier took it: a copy held for the answer (None: it
    was not a text to a WhatsApp participant)."""
    row = await db.fetchrow(QUERIES.hold_whatsapp_copy, message_id)
    return None if row is None else HeldCopy(row["id"], row["community_id"], row["conversation_id"],
                                             row["from_number"], row["to_number"])


def _json(value: object) -> dict:
    # asyncpg gives jsonb as text unless a codec is set on the pool.
    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[arg-type]
