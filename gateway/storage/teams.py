"""Teams and number assignments (migration 0022): one function per statement of sql/queries/."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, NamedTuple

from gateway.relay.assignment import Assignment, Member
from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import TeamStyle


class Team(NamedTuple):
    """A team with its members (in the order added) and the numbers assigned to it (the team_rows view)."""

    id: int
    community_id: int
    name: str
    style: TeamStyle
    created_at: datetime
    updated_at: datetime
    members: tuple[Member, ...]
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Team:
        return cls(row["id"], row["community_id"], row["name"], TeamStyle(row["style"]), row["created_at"],
                   row["updated_at"], tuple(Member(*m) for m in zip(row["member_phones"], row["member_names"])),
                   tuple(row["numbers"]))


class NumberAssignment(NamedTuple):
    """One of a community's numbers: a dedicated number's member, a team, or neither."""

    phone: str
    member: Member | None
    team_id: int | None
    category: str | None = None  # a TemplateCategory: the number sends that category only (None: everything)


def _assignment(row: Mapping[str, Any]) -> NumberAssignment:
    member = None if row["member_phone"] is None else Member(row["member_phone"], row["member_name"])
    return NumberAssignment(row["phone"], member, row["team_id"], row["category"])


async def insert_team(db: Executor, *, community_id: int, name: str, style: TeamStyle,
                      members: list[Member]) -> int:
    """A new team with its members, in order; its id."""
    return await db.fetchval(QUERIES.insert_team, community_id, name, style, [m.phone for m in members],
                             [m.name for m in members])


async def find_team(db: Executor, *, community_id: int, team_id: int) -> Team | None:
    row = await db.fetchrow(QUERIES.find_team, community_id, team_id)
    return None if row is None else Team.of(row)


async def list_teams(db: Executor, *, community_id: int) -> list[Team]:
    return [Team.of(row) for row in await db.fetch(QUERIES.list_teams, community_id)]


async def lock_team(db: Executor, *, community_id: int, team_id: int) -> bool:
    """Lock the team's row for the caller's transaction; False when the community has no such team."""
    return await db.fetchrow(QUERIES.lock_team, community_id, team_id) is not None


async def update_team(db: Executor, *, team_id: int, name: str | None, style: TeamStyle | None) -> bool:
    """Rename it or change its style (None keeps either); False when there is no such team."""
    return await db.fetchval(QUERIES.update_team, team_id, name, style) is not None


async def add_team_member(db: Executor, *, team_id: int, member: Member) -> bool:
    """False when the phone is a member already."""
    return await db.fetchval(QUERIES.add_team_member, team_id, member.phone, member.name) is not None


async def remove_team_member(db: Executor, *, team_id: int, phone: str) -> bool:
    """False when the phone is not a member."""
    return await db.fetchval(QUERIES.remove_team_member, team_id, phone) is not None


async def delete_team(db: Executor, *, team_id: int) -> bool:
    """False when a number is assigned to it (nothing deleted)."""
    return await db.fetchval(QUERIES.delete_team, team_id) is not None


async def list_open_team_conversations(db: Executor, *, team_id: int, phone: str) -> list[int]:
    """The team's open inbox conversations the phone is an active member of."""
    return [row["id"] for row in await db.fetch(QUERIES.list_open_team_conversations, team_id, phone)]


async def assign_number(db: Executor, *, community_id: int, phone: str, member: Member | None,
                        team_id: int | None, category: str | None = None) -> NumberAssignment | None:
    """Assign the number to a member, a team, a category or (all None) nothing; None when it is not the
    community's."""
    row = await db.fetchrow(QUERIES.assign_number, phone, community_id, member and member.phone,
                            member and member.name, team_id, category)
    return None if row is None else _assignment(row)


async def list_number_assignments(db: Executor, *, community_id: int) -> list[NumberAssignment]:
    return [_assignment(row) for row in await db.fetch(QUERIES.list_number_assignments, community_id)]


async def find_number_assignment(db: Executor, *, proxy: str) -> Assignment | None:
    """What a stranger's text to this number opens (gateway/relay/assignment.py); None: the number is nobody's."""
    row = await db.fetchrow(QUERIES.find_number_assignment, proxy)
    if row is None:
        return None
    member = None if row["member_phone"] is None else Member(row["member_phone"], row["member_name"])
    return Assignment(row["community_id"], member, row["team_id"], row["team_style"] or "",
                      tuple(Member(*m) for m in zip(row["team_phones"], row["team_names"])), row["out_of_session"],
                      frozenset(row["unreachable"]))


class KnownParticipant(NamedTuple):
    id: int
    name: str


async def find_or_add_participant(db: Executor, *, community_id: int, phone: str, name: str) -> KnownParticipant:
    """The community's participant with this phone, added with `name` if new (a known one keeps theirs)."""
    row = await db.fetchrow(QUERIES.find_or_add_participant, community_id, phone, name)
    return KnownParticipant(row["id"], row["name"])


async def count_member_roles_of_phone(db: Executor, *, phone: str) -> int:
    """Team memberships of the phone plus numbers dedicated to it, in any community."""
    return await db.fetchval(QUERIES.count_member_roles_of_phone, phone)
