"""Callbacks to a community's intercept and out-of-session URLs: stored with the text (store_relayed_message.sql,
store_inbound_with_reply.sql), claimed, deferred, finished."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import CallbackKind, CallbackOutcome, InterceptPolicy, MessageStatus, Priority


class Claimed(NamedTuple):
    """A callback claimed for one try (claim_platform_callbacks.sql)."""

    id: int
    kind: CallbackKind
    message_id: int  # the inbound text
    community_id: int
    conversation_id: int | None  # an intercept's; None out of session
    url: str
    attempts: int  # tries so far, this one included
    intercept_policy: InterceptPolicy  # the community's, now
    secret_version: int  # the community's event secret version: it signs the post (gateway/platform/events.py)
    sign_previous: bool  # within the grace of a rotation: the previous version's secret signs it too


class ChangedPart(NamedTuple):
    """A relayed part an intercept's answer released, blocked, held or canceled: what the queue needs."""

    id: int
    priority: Priority
    from_number: str
    to_number: str
    conversation_id: int
    segments: int


async def claim_callbacks(db: Executor, *, limit: int, lease_seconds: float, grace_seconds: float) -> list[Claimed]:
    """Up to limit due callbacks, each counted as a try and kept from other processes for lease_seconds; with
    the community's secret version, and whether its last rotation was less than grace_seconds ago."""
    rows = await db.fetch(QUERIES.claim_platform_callbacks, limit, lease_seconds, grace_seconds)
    return [Claimed(row["id"], CallbackKind(row["kind"]), row["message_id"], row["community_id"],
                    row["conversation_id"], row["url"], row["attempts"], InterceptPolicy(row["intercept_policy"]),
                    row["secret_version"], row["sign_previous"])
            for row in rows]


async def defer_callback(db: Executor, *, callback_id: int, retry_in: float, error: str) -> None:
    """Try again in retry_in seconds (unless it was finished meanwhile)."""
    await db.execute(QUERIES.defer_platform_callback, callback_id, retry_in, error)


async def finish_callback(db: Executor, *, callback_id: int, outcome: CallbackOutcome, parts: MessageStatus,
                          reason: str | None, error: str | None = None) -> list[ChangedPart] | None:
    """Finish it with outcome; its parts still held for the answer get status parts with reason. None when it
    was finished already (nothing changed); else the parts changed, in order."""
    row = await db.fetchrow(QUERIES.finish_platform_callback, callback_id, outcome, parts, reason, error)
    if not row["finished"]:
        return None
    return [ChangedPart(*values) for values in zip(
        row["ids"], map(Priority, row["priorities"]), row["from_numbers"], row["to_numbers"],
        row["conversation_ids"], row["segments"])]


async def find_opened_conversation(db: Executor, *, community_id: int, phone: str, since: datetime) -> int | None:
    """The newest open conversation of the community with phone as a participant, opened at or after since."""
    return await db.fetchval(QUERIES.find_opened_conversation, community_id, phone, since)


async def attach_message(db: Executor, *, message_id: int, conversation_id: int) -> None:
    """An inbound text that had no conversation belongs to this one now."""
    await db.execute(QUERIES.attach_message_to_conversation, message_id, conversation_id)


async def delete_finished_callbacks(db: Executor, *, older_than_days: float, limit: int) -> int:
    """Delete up to limit callbacks finished more than older_than_days ago; how many."""
    return await db.fetchval(QUERIES.delete_finished_platform_callbacks, older_than_days * 86400, limit)
