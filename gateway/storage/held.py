"""Messages held back by a limit, a restriction or a carrier not served: hold one, list them, release them to the
queue, cancel them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from gateway.storage.db import QUERIES, Executor
from gateway.storage.messages import Message
from gateway.vocabulary import HoldReason, Priority


@dataclass(frozen=True, slots=True)
class Released:
    """A message put back in the queue: what the queue needs to take it."""

    id: int
    priority: Priority
    from_number: str
    segments: int


async def hold_message(db: Executor, *, message_id: int, reason: HoldReason, segments: int) -> None:
    """A message being sent waits as held instead (that try does not count); segments: its count now."""
    await db.execute(QUERIES.hold_message, message_id, reason, segments)


async def list_held(db: Executor, *, community_id: int, reason: HoldReason, after: int,
                    limit: int) -> list[Message]:
    """A page of the community's messages held for reason, by id, after the id given (0 from the start)."""
    rows = await db.fetch(QUERIES.list_held_messages, community_id, reason, after, limit)
    return [Message.of(row) for row in rows]


async def release_held(db: Executor, *, community_id: int, reason: HoldReason, ids: list[int] | None,
                       override: bool) -> list[Released]:
    """Held messages (ids None: all of them) back to queued, oldest first; override lets them pass the monthly
    limit."""
    rows = await db.fetch(QUERIES.release_held_messages, community_id, reason, ids, override)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def release_carrier_held(db: Executor, *, served: Sequence[str], default: str, limit: int) -> list[Released]:
    """Messages held with carrier_not_served whose number's carrier (default for a number that names none) is
    among the served carriers, back to queued: at most limit, oldest first; rows being released elsewhere are
    skipped."""
    rows = await db.fetch(QUERIES.release_carrier_held_messages, list(served), default, limit)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def hold_quiet(db: Executor, *, message_id: int, until: datetime, plain_body: str | None) -> None:
    """A message being sent waits for its recipient's quiet hours to end (until, UTC); plain_body: its body without
    the identification begin_send added just now (None: none was added), which goes back."""
    await db.execute(QUERIES.hold_quiet_message, message_id, until, plain_body)


async def release_quiet_held(db: Executor, *, now: datetime, limit: int) -> list[Released]:
    """Messages held for quiet hours whose window opened by now, back to queued: at most limit, earliest first;
    rows being released elsewhere are skipped."""
    rows = await db.fetch(QUERIES.release_quiet_held_messages, now, limit)
    return [Released(row["id"], Priority(row["priority"]), row["from_number"], row["segments"]) for row in rows]


async def cancel_held(db: Executor, *, community_id: int, reason: HoldReason, ids: list[int] | None) -> list[int]:
    """Held messages (ids None: all of them) canceled; their ids, oldest first."""
    return [row["id"] for row in await db.fetch(QUERIES.cancel_held_messages, community_id, reason, ids)]
