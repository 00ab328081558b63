"""The API's lists: a page of communities, conversations, messages, verifications or a community's event
deliveries, newest first.

Every list is keyset-paginated on (created_at, id), descending: a page after a cursor holds the rows strictly
older than the cursor's row, so rows added meanwhile never shift a page. Each query runs with custom plans
(plan_each_list.sql): its optional filters then fold away and the planner picks the index of the filter given
(the indexes are in migrations 0016 and 0019).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from gateway.storage.communities import Community
from gateway.storage.conversations import Conversation
from gateway.storage.db import QUERIES
from gateway.storage.events import LoggedDelivery
from gateway.storage.messages import Message
from gateway.storage.verifications import Verification
from gateway.vocabulary import DeliveryStatus


@dataclass(frozen=True, slots=True)
class Window:
    """What every list takes: the communities the caller may see (None: all), a creation time range (since
    inclusive, until exclusive), the cursor (created_at, id of the last row already shown) and how many rows to
    fetch (the API asks one more than its page, to know whether another follows)."""

    scope: list[int] | None
    created_since: datetime | None
    created_until: datetime | None
    after: tuple[datetime, int] | None
    limit: int

    def args(self) -> tuple:
        """created_since, created_until, cursor time, cursor id: the $n that follow a list's own filters."""
        at, row_id = self.after or (None, None)
        return self.created_since, self.created_until, at, row_id


async def _fetch(pool: asyncpg.Pool, query: str, *args) -> list[asyncpg.Record]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(QUERIES.plan_each_list)
        return await conn.fetch(query, *args)


async def list_communities(pool: asyncpg.Pool, *, window: Window, mode: str | None) -> list[Community]:
    rows = await _fetch(pool, QUERIES.list_communities, window.scope, mode, *window.args(), window.limit)
    return [Community.of(row) for row in rows]


async def list_conversations(pool: asyncpg.Pool, *, window: Window, community_id: int | None, phone: str | None,
                             status: str | None, active_since: datetime | None,
                             active_until: datetime | None) -> list[Conversation]:
    """active_since/active_until: a range of last_activity_at (its last message, or its opening)."""
    since, until, at, row_id = window.args()
    rows = await _fetch(pool, QUERIES.list_conversations, window.scope, community_id, phone, status, since, until,
                        active_since, active_until, at, row_id, window.limit)
    return [Conversation.of(row) for row in rows]


async def list_messages(pool: asyncpg.Pool, *, window: Window, community_id: int | None,
                        conversation_id: int | None, phone: str | None, kind: str | None,
                        status: str | None) -> list[Message]:
    """phone: sent by or to it (its own query: each direction from its index)."""
    query = QUERIES.list_messages if phone is None else QUERIES.list_messages_by_phone
    rows = await _fetch(pool, query, window.scope, community_id, conversation_id, phone, kind,
                        status, *window.args(), window.limit)
    return [Message.of(row) for row in rows]


async def list_verifications(pool: asyncpg.Pool, *, window: Window, community_id: int | None, phone: str | None,
                             status: str | None) -> list[Verification]:
    """status as the API shows it: a pending verification past its expiry counts as expired."""
    rows = await _fetch(pool, QUERIES.list_verifications, window.scope, community_id, phone, status,
                        *window.args(), window.limit)
    return [Verification.of(row) for row in rows]


async def list_event_deliveries(pool: asyncpg.Pool, *, window: Window, community_id: int, gateway_wide: bool,
                                status: str | None, event: str | None) -> list[LoggedDelivery]:
    """A community's deliveries; gateway_wide: those to the gateway-wide URL too. window.scope is not read (the
    community is in the path, and the API checked the token reaches it)."""
    rows = await _fetch(pool, QUERIES.list_event_deliveries, community_id, gateway_wide, status, event,
                        *window.args(), window.limit)
    return [LoggedDelivery(**{**dict(row), "status": DeliveryStatus(row["status"])}) for row in rows]
