"""The messages compliance and verification write: a keyword as it came in, and the texts they send
(keyword replies, codes). They are messages like any other; this module holds only these two statements."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import MessageKind, MessageStatus, Priority


@dataclass(frozen=True, slots=True)
class NewMessage:
    """An outbound message just stored: queued, or blocked with the reason (insert_outbound_message.sql)."""

    id: int
    status: MessageStatus
    status_reason: str | None
    segments: int


async def insert_outbound_message(db: Executor, *, community_id: int | None, conversation_id: int | None,
                                  kind: MessageKind, priority: Priority, from_number: str, to_number: str, body: str,
                                  segments: int) -> NewMessage:
    """Store a text we send, queued or (when outbound_block_reason says so) blocked, with its first event."""
    row = await db.fetchrow(QUERIES.insert_outbound_message, community_id, conversation_id, kind, priority,
                            from_number, to_number, body, segments)
    return NewMessage(row["id"], MessageStatus(row["status"]), row["status_reason"], row["segments"])


async def store_keyword_message(db: Executor, *, sender: str, number: str, body: str, media_urls: list[str],
                                carrier_sid: str, community_id: int | None, segments: int) -> int | None:
    """Store an inbound keyword (never relayed); its id, or None when the carrier sent it before (a retry)."""
    return await db.fetchval(QUERIES.store_keyword_message, sender, number, body, media_urls, carrier_sid,
                             community_id, segments)
