"""Erasing one phone from a community, and the erasures' audit rows (migration 0034): one function per statement
of sql/queries/."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from gateway.routing.keys import OpenConversation
from gateway.storage.db import QUERIES, Executor


class Erasure(NamedTuple):
    """An erasure as audited: what was removed (table -> rows), who asked (a token's name), when."""

    id: int
    community_id: int
    requested_by: str
    counts: dict[str, int]
    created_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Erasure:
        counts = row["counts"]
        return cls(row["id"], row["community_id"], row["requested_by"],
                   json.loads(counts) if isinstance(counts, str) else dict(counts), row["created_at"])


async def close_conversations_of_phone(db: Executor, *, community_id: int, phone: str,
                                       reason: str) -> list[OpenConversation]:
    """Close the phone's open conversations in the community; what the routing table must forget of each."""
    rows = await db.fetch(QUERIES.close_conversations_of_phone, community_id, phone, reason)
    return [OpenConversation(**dict(row)) for row in rows]


async def cancel_unsent_to_phone(db: Executor, *, community_id: int, phone: str, reason: str) -> int:
    return await db.fetchval(QUERIES.cancel_unsent_to_phone, community_id, phone, reason)


async def redact_phone_messages(db: Executor, *, community_id: int, phone: str, pseudonym: str) -> dict[str, int]:
    """{"messages": redacted, "media": stored pictures deleted}."""
    return dict(await db.fetchrow(QUERIES.redact_phone_messages, community_id, phone, pseudonym))


async def erase_phone_records(db: Executor, *, community_id: int, phone: str, pseudonym: str) -> dict[str, int]:
    """Rows deleted (or kept for an opt-out) per kind of record: erase_phone_records.sql's columns."""
    return dict(await db.fetchrow(QUERIES.erase_phone_records, community_id, phone, pseudonym))


async def erase_phone_traces(db: Executor, *, community_id: int, phone: str, callers: list[str]) -> dict[str, int]:
    """{"events": deliveries deleted, "idempotent_answers": kept answers deleted}."""
    return dict(await db.fetchrow(QUERIES.erase_phone_traces, community_id, phone, callers))


async def insert_erasure(db: Executor, *, community_id: int, phone_hash: bytes, requested_by: str,
                         counts: dict[str, int]) -> Erasure:
    return Erasure.of(await db.fetchrow(QUERIES.insert_erasure, community_id, phone_hash, requested_by,
                                        json.dumps(counts)))


async def list_erasures(db: Executor, *, community_id: int, before: int | None, phone_hash: bytes | None,
                        limit: int) -> list[Erasure]:
    rows = await db.fetch(QUERIES.list_erasures, community_id, before, phone_hash, limit)
    return [Erasure.of(row) for row in rows]
