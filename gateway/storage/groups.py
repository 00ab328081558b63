"""Conversations of several people and their participants: opening one, locking it, members joining and leaving.

One function per statement of sql/queries/; the order of a statement's $n parameters lives only here.
"""

from __future__ import annotations

from typing import NamedTuple

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import ConversationShape, ConversationStatus, LeftReason, ParticipantRole, TeamStyle


class LockedConversation(NamedTuple):
    """A conversation's row, locked for the caller's transaction, with its community's name."""

    id: int
    status: ConversationStatus
    shape: ConversationShape
    community_id: int
    community_name: str
    require_verification: bool


async def insert_conversation_of_several(db: Executor, *, community_id: int, proxy: str, shape: ConversationShape,
                                         team_style: TeamStyle | None, participant_ids: list[int],
                                         roles: list[ParticipantRole], code: str, team_id: int | None = None) -> int:
    """A new open one_to_group or group conversation with its participants in order; its id. team_id: the team
    whose inbox it is."""
    return await db.fetchval(QUERIES.insert_conversation_of_several, community_id, proxy, shape, team_style,
                             participant_ids, roles, code, team_id)


async def lock_conversation(db: Executor, *, conversation_id: int) -> LockedConversation | None:
    """Lock the conversation's row (participant changes, one at a time); None when there is no such conversation."""
    row = await db.fetchrow(QUERIES.lock_conversation, conversation_id)
    if row is None:
        return None
    return LockedConversation(row["id"], ConversationStatus(row["status"]), ConversationShape(row["shape"]),
                              row["community_id"], row["community_name"], row["require_verification"])


async def add_participant(db: Executor, *, conversation_id: int, participant_id: int, role: ParticipantRole) -> bool:
    """The participant joins (or comes back); False when already in it."""
    return await db.fetchval(QUERIES.add_conversation_participant, conversation_id, participant_id, role) is not None


async def remove_participant(db: Executor, *, conversation_id: int, phone: str, reason: LeftReason) -> bool:
    """The member with this phone leaves; False when no active member has it."""
    return await db.fetchval(QUERIES.remove_conversation_participant, conversation_id, phone, reason) is not None


async def list_memberships_on_number(db: Executor, *, proxy: str, phone: str) -> list[int]:
    """The open conversations of several on this number the phone is an active member of."""
    return [row["id"] for row in await db.fetch(QUERIES.list_memberships_on_number, proxy, phone)]


async def claim_conversation(db: Executor, *, conversation_id: int, phone: str) -> str | None:
    """The member with this phone takes the claim-style conversation if nobody has; the phone of whoever has it
    now, or None (not open, not claim style, not a member; or taken in a transaction not seen yet: ask again)."""
    return await db.fetchval(QUERIES.claim_conversation, conversation_id, phone)
