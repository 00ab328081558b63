"""Retention's statements (gateway/compliance/retention.py): one function per statement of sql/queries/."""

from __future__ import annotations

from typing import NamedTuple

from gateway.storage.db import QUERIES, Executor


class Walked(NamedTuple):
    """A message pass's batch: how many messages it read past its mark, and how many it changed."""

    read: int
    changed: int


async def redact_old_messages(db: Executor, *, days: int, batch: int) -> Walked:
    return Walked(*await db.fetchrow(QUERIES.redact_old_messages, days, batch))


async def delete_old_messages(db: Executor, *, days: int, batch: int) -> Walked:
    return Walked(*await db.fetchrow(QUERIES.delete_old_messages, days, batch))


async def redact_waiting_messages(db: Executor, *, batch: int) -> Walked:
    """Messages the bodies walk passed while they waited, redacted once done."""
    return Walked(*await db.fetchrow(QUERIES.redact_waiting_messages, batch))


async def delete_waiting_messages(db: Executor, *, batch: int) -> Walked:
    """Messages the rows walk passed while they waited, deleted once done."""
    return Walked(*await db.fetchrow(QUERIES.delete_waiting_messages, batch))


async def delete_old_conversations(db: Executor, *, days: int, batch: int) -> int:
    """Conversations deleted (their orphaned participants go with them)."""
    return (await db.fetchrow(QUERIES.delete_old_conversations, days, batch))["conversations"]


async def delete_old_verifications(db: Executor, *, days: int, batch: int) -> int:
    return await db.fetchval(QUERIES.delete_old_verifications, days, batch)


async def delete_old_broadcast_recipients(db: Executor, *, days: int, batch: int) -> int:
    return await db.fetchval(QUERIES.delete_old_broadcast_recipients, days, batch)
