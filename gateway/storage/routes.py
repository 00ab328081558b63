"""The routing table's truth in Postgres: open routes, the route generation, who last relayed to whom.

One function per statement of sql/queries/; the order of a statement's $n parameters lives only here.
"""

from __future__ import annotations

from gateway.relay import fanout
from gateway.relay.rules import Recipient, RouteEntry
from gateway.routing.keys import OpenConversation
from gateway.storage.db import QUERIES, Executor


async def find_route_generation(db: Executor) -> int:
    """The generation Redis's table must have been built at to be in step (1 when never bumped)."""
    return await db.fetchval(QUERIES.find_route_generation)


async def bump_route_generation(db: Executor) -> int:
    """A write-through failed: every table built before is out of step. The new generation."""
    return await db.fetchval(QUERIES.bump_route_generation)


async def list_open_routes(db: Executor, *, after: int, limit: int) -> list[OpenConversation]:
    """Open conversations with ids above `after`, by id, at most `limit` (keyset pages for a rebuild)."""
    return [OpenConversation(**dict(row)) for row in await db.fetch(QUERIES.list_open_routes, after, limit)]


async def find_active_routes(db: Executor, *, routes: list[tuple[int, str]]) -> dict[tuple[int, str], list[str]]:
    """Which of these (conversation id, participant phone) routes are still active (the conversation open, the
    participant in it), each with the phones of the others in it now, in order."""
    rows = await db.fetch(QUERIES.find_active_routes, [c for c, _ in routes], [phone for _, phone in routes])
    return {(r["conversation_id"], r["phone"]): list(r["others"]) for r in rows}


async def list_routes_of(db: Executor, *, ids: list[int]) -> list[OpenConversation]:
    """These conversations, those still open, with their active participants."""
    return [OpenConversation(**dict(row)) for row in await db.fetch(QUERIES.list_routes_of_conversations, ids)]


async def find_routes_for_sender(db: Executor, *, proxy: str, sender: str) -> list[RouteEntry]:
    """The sender's open conversations on this number, seen from the sender's side."""
    rows = await db.fetch(QUERIES.find_routes_for_sender, proxy, sender)
    return [fanout.entry_for(r["conversation_id"], r["code"], r["shape"], Recipient(sender, r["sender_name"],
                                                                                  r["sender_role"]),
                             [Recipient(*other) for other in zip(r["phones"], r["names"], r["roles"])],
                             r["team_style"], r["claimed_by"])
            for r in rows]


async def find_last_relayed(db: Executor, *, proxy: str, participant: str, conversation_ids: list[int]) -> int | None:
    """Which of these conversations last relayed a message to the participant on this number."""
    return await db.fetchval(QUERIES.find_last_relayed, proxy, participant, conversation_ids)
