"""Conversations and their participants: opening one on a pool number, reading, touching, closing, expiring.

One function per statement of sql/queries/; the order of a statement's $n parameters lives only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, NamedTuple

from gateway.routing.keys import OpenConversation
from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import CodeOver, ConversationShape, ConversationStatus, ParticipantRole, Preference, TeamStyle


class Participant(NamedTuple):
    """One who joined a conversation; active False once they left (removed, or STOP from a group)."""

    phone: str
    name: str
    role: ParticipantRole
    active: bool


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation with both participants and their SMS preference in its community. For a conversation of
    several, prospect_* and advocate_* are the first two it was opened with (migration 0020); participants is
    everyone who joined, in order."""

    id: int
    community_id: int
    proxy_number: str
    code: str
    status: ConversationStatus
    created_at: datetime
    last_activity_at: datetime
    closed_at: datetime | None
    closed_reason: str | None
    prospect_phone: str
    prospect_name: str
    prospect_preference: Preference
    advocate_phone: str
    advocate_name: str
    advocate_preference: Preference
    shape: ConversationShape = ConversationShape.PAIR
    team_style: TeamStyle | None = None
    participants: tuple[Participant, ...] = ()
    claimed_by: str | None = None  # claim style: the phone of the member who took it
    team_id: int | None = None  # the team whose inbox it is (opened on its number, or with team_id)

    def active(self) -> list[Participant]:
        return [person for person in self.participants if person.active]

    def routes(self) -> OpenConversation:
        """What the routing table knows of it: its active participants."""
        active = self.active()
        return OpenConversation(self.id, self.proxy_number, self.code, [p.phone for p in active],
                                [p.name for p in active], [p.role for p in active], self.shape, self.team_style,
                                self.claimed_by)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Conversation:
        """From a row of find_conversation.sql (or list_conversations.sql, which has its columns)."""
        return cls(row["id"], row["community_id"], row["proxy_number"], row["code"],
                   ConversationStatus(row["status"]), row["created_at"], row["last_activity_at"],
                   row["closed_at"], row["closed_reason"], row["prospect_phone"], row["prospect_name"],
                   Preference(row["prospect_preference"]), row["advocate_phone"], row["advocate_name"],
                   Preference(row["advocate_preference"]), ConversationShape(row["shape"]),
                   None if row["team_style"] is None else TeamStyle(row["team_style"]),
                   tuple(Participant(phone, name, ParticipantRole(role), active) for phone, name, role, active in zip(
                       row["participant_phones"], row["participant_names"], row["participant_roles"],
                       row["participant_active"])), row["claimed_by"], row["team_id"])


async def find_conversation(db: Executor, *, conversation_id: int) -> Conversation | None:
    row = await db.fetchrow(QUERIES.find_conversation, conversation_id)
    return None if row is None else Conversation.of(row)


async def upsert_participant(db: Executor, *, community_id: int, phone: str, name: str) -> int:
    """The participant's id in the community (created, or renamed to `name`)."""
    return await db.fetchval(QUERIES.upsert_participant, community_id, phone, name)


async def find_open_conversation_between(db: Executor, *, community_id: int, prospect_id: int,
                                         advocate_id: int) -> int | None:
    """The id of their open conversation in the community, on any number."""
    return await db.fetchval(QUERIES.find_open_conversation_between, community_id, prospect_id, advocate_id)


async def open_codes_on_number(db: Executor, *, proxy: str) -> list[str]:
    return [r["code"] for r in await db.fetch(QUERIES.open_codes_on_number, proxy)]


async def insert_conversation(db: Executor, *, community_id: int, proxy: str, prospect_id: int, advocate_id: int,
                              code: str) -> int:
    """A new open conversation; its id."""
    return await db.fetchval(QUERIES.insert_conversation, community_id, proxy, prospect_id, advocate_id, code)


async def count_open_for_participant(db: Executor, *, proxy: str, phone: str) -> int:
    """How many open conversations the phone has on this number, on either side."""
    return await db.fetchval(QUERIES.count_open_for_participant, proxy, phone)


async def count_open_with_participant_phone(db: Executor, *, phone: str) -> int:
    """Open conversations, in any community, with a participant on this phone."""
    return await db.fetchval(QUERIES.count_open_conversations_with_participant_phone, phone)


async def touch_conversation(db: Executor, *, conversation_id: int) -> bool:
    """Mark activity now; False when the conversation is not open."""
    return await db.fetchval(QUERIES.touch_conversation, conversation_id) is not None


async def close_conversation(db: Executor, *, conversation_id: int, reason: str) -> bool:
    """Close it; False when it was not open (nothing changed)."""
    return await db.fetchval(QUERIES.close_conversation, conversation_id, reason) is not None


async def expire_idle_conversations(db: Executor, *, limit: int) -> list[OpenConversation]:
    """Close as expired up to `limit` conversations idle past their community's inactivity_days; those closed."""
    return [OpenConversation(**dict(row)) for row in await db.fetch(QUERIES.expire_idle_conversations, limit)]


async def find_ended_code_for_sender(db: Executor, *, proxy: str, sender: str, code: str) -> CodeOver | None:
    """How `code`, one of the sender's conversations on this number, is over for them: it ended (closed or expired),
    or they left it while it runs; None when it is not over (or not theirs)."""
    found = await db.fetchval(QUERIES.find_ended_code_for_sender, proxy, sender, code)
    return None if found is None else CodeOver(found)
