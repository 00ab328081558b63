"""Teams and number assignments: manage a community's teams, assign its numbers to a member (a dedicated number) or
a team (its inbox), and start conversations on them. README "Dedicated numbers and team inboxes".

A team's members are copied into each inbox conversation when it opens (a one_to_group conversation, team_id set):
a member added to the team joins the conversations opened after that; a member removed from it leaves the team's
running conversations too (as a member removed through the API: nobody is told), so they read nothing more.
"""

from __future__ import annotations

import asyncpg
import structlog

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.messaging import conversations, groups
from gateway.messaging.conversations import Conversations, Person
from gateway.relay import assignment
from gateway.relay.assignment import Member, NumberUse, Placement
from gateway.relay.phones import mask
from gateway.storage import communities, teams
from gateway.storage.db import Executor
from gateway.storage.messages import StoredOutbound
from gateway.storage.teams import NumberAssignment, Team
from gateway.vocabulary import TeamStyle

log = structlog.get_logger(__name__)


async def get_team(db: Executor, community_id: int, team_id: int) -> Team:
    """Raises NotFound team_not_found."""
    team = await teams.find_team(db, community_id=community_id, team_id=team_id)
    if team is None:
        raise NotFound("team_not_found", f"community {community_id} has no team {team_id}")
    return team


async def _not_a_proxy(conn: asyncpg.Connection, phones: list[str]) -> None:
    """Inside the caller's transaction, with each phone's lock (lock_phones_for_numbers): adding a community number
    takes the same lock and refuses a member's phone, so a phone never becomes both. Raises InvalidInput
    (participant_is_proxy)."""
    # One of the gateway's numbers as a member: what we send it would come back in as a text.
    await communities.lock_phones_for_numbers(conn, phones=phones)
    for phone in phones:
        if await communities.find_number_owner(conn, phone=phone) is not None:
            raise InvalidInput("participant_is_proxy", "a member's phone is one of the gateway's numbers")


def _distinct(members: list[Member]) -> None:
    if len({m.phone for m in members}) < len(members):
        raise InvalidInput("same_participant", "each member must have a different phone number")


async def create_team(db: asyncpg.Pool, community_id: int, name: str, style: TeamStyle,
                      members: list[Member]) -> Team:
    """Raises InvalidInput (same_participant, participant_is_proxy)."""
    _distinct(members)
    async with db.acquire() as conn, conn.transaction():
        await _not_a_proxy(conn, [m.phone for m in members])
        team_id = await teams.insert_team(conn, community_id=community_id, name=name, style=style, members=members)
    log.info("team_created", community_id=community_id, team_id=team_id, members=len(members))
    return await get_team(db, community_id, team_id)


async def update_team(db: Executor, community_id: int, team_id: int, name: str | None,
                      style: TeamStyle | None) -> Team:
    await get_team(db, community_id, team_id)
    await teams.update_team(db, team_id=team_id, name=name, style=style)
    return await get_team(db, community_id, team_id)


async def add_member(db: asyncpg.Pool, community_id: int, team_id: int, member: Member, most: int) -> Team:
    """Add a member (to the conversations opened from now on). Raises NotFound, Conflict (already_a_member,
    team_full), InvalidInput (participant_is_proxy)."""
    async with db.acquire() as conn, conn.transaction():
        if not await teams.lock_team(conn, community_id=community_id, team_id=team_id):
            raise NotFound("team_not_found", f"community {community_id} has no team {team_id}")
        await _not_a_proxy(conn, [member.phone])
        team = await get_team(conn, community_id, team_id)
        if len(team.members) >= most:
            raise Conflict("team_full", f"team {team_id} has its {most} members (groups.max_members)")
        if not await teams.add_team_member(conn, team_id=team_id, member=member):
            raise Conflict("already_a_member", f"{mask(member.phone)} is in team {team_id}")
    log.info("team_member_added", team_id=team_id, phone=mask(member.phone))
    return await get_team(db, community_id, team_id)


async def remove_member(services: Conversations, community_id: int, team_id: int, phone: str) -> Team:
    """Take a member from the team and from the team's running conversations. Raises NotFound (team_not_found,
    member_not_found)."""
    async with services.db.acquire() as conn, conn.transaction():
        # The community's lock first, as a stranger's text opening an inbox conversation takes it (strangers.py):
        # one opened before this commits is found below, one opened after it reads the team without them.
        await communities.lock_community(conn, community_id=community_id)
        if not await teams.lock_team(conn, community_id=community_id, team_id=team_id):
            raise NotFound("team_not_found", f"community {community_id} has no team {team_id}")
        if not await teams.remove_team_member(conn, team_id=team_id, phone=phone):
            raise NotFound("member_not_found", f"{mask(phone)} is not a member of team {team_id}")
    # After the commit: an inbox conversation opened from now on no longer names them; one opened before is left.
    for conversation_id in await teams.list_open_team_conversations(services.db, team_id=team_id, phone=phone):
        try:
            await groups.remove_member(services, conversation_id, phone)
        except (NotFound, Conflict):
            pass  # closed or left meanwhile: nothing more to do
    log.info("team_member_removed", team_id=team_id, phone=mask(phone))
    return await get_team(services.db, community_id, team_id)


async def delete_team(db: asyncpg.Pool, community_id: int, team_id: int) -> None:
    """Raises NotFound, Conflict team_has_numbers (unassign them first: they would reach nobody)."""
    async with db.acquire() as conn, conn.transaction():
        # Locked first: an assignment to it still running is waited for, and the delete's own look at the numbers
        # (a statement of its own, after the wait) sees it, rather than a foreign-key error.
        if not await teams.lock_team(conn, community_id=community_id, team_id=team_id):
            raise NotFound("team_not_found", f"community {community_id} has no team {team_id}")
        if not await teams.delete_team(conn, team_id=team_id):
            team = await get_team(conn, community_id, team_id)
            raise Conflict("team_has_numbers", f"numbers are assigned to team {team_id}: assign them elsewhere "
                           "first", numbers=list(team.numbers))
    log.info("team_deleted", team_id=team_id)


async def assign_number(db: asyncpg.Pool, community_id: int, phone: str, member: Member | None,
                        team_id: int | None, category: str | None = None) -> NumberAssignment:
    """Assign a number to a member, a team or (both None) nothing. Open conversations on it keep running as they
    are; the assignment decides where the next stranger's text goes. Raises NotFound (number_not_found,
    team_not_found), InvalidInput (participant_is_proxy)."""
    async with db.acquire() as conn, conn.transaction():
        # The team locked while its number is assigned: one deleted meanwhile is a 404, never a foreign-key error.
        if team_id is not None and not await teams.lock_team(conn, community_id=community_id, team_id=team_id):
            raise NotFound("team_not_found", f"community {community_id} has no team {team_id}")
        if member is not None:
            await _not_a_proxy(conn, [member.phone])
        assigned = await teams.assign_number(conn, community_id=community_id, phone=phone, member=member,
                                             team_id=team_id, category=category)
    if assigned is None:
        raise NotFound("number_not_found", f"{phone} is not a number of community {community_id}")
    log.info("number_assigned", community_id=community_id, number=mask(phone), team_id=team_id,
             member=mask(member.phone) if member else None, category=category)
    return assigned


async def start_on_number(services: Conversations, community_id: int, prospect: Person, advocate: Person,
                          message: str, number: str, dedicated_shared: bool,
                          most: int) -> tuple[int, StoredOutbound]:
    """A member (the advocate) starts a conversation from the number they named: on a team's number, the team's
    inbox conversation (one_to_group, its style, the advocate a member; replies reach the team, Spoke's rule);
    else a pair, whose replies reach the advocate. Returns its id and the advocate's notification. Raises
    InvalidInput number_not_in_community, Conflict (number_dedicated, team_full), and as conversations.start."""
    found = {n.phone: n for n in await teams.list_number_assignments(services.db, community_id=community_id)}
    chosen = found.get(number)
    use = chosen and NumberUse(chosen.phone, chosen.member and chosen.member.phone, chosen.team_id, chosen.category)
    refusal = assignment.named_refusal(use, advocate.phone, dedicated_shared)
    if refusal == "number_not_in_community":
        raise InvalidInput(refusal, f"proxy_number: {number} is not a number of community {community_id}")
    if refusal == "number_marketing":
        raise Conflict(refusal, f"{number} is a marketing number: it sends marketing texts only")
    if refusal is not None:
        raise Conflict(refusal, f"{number} is another member's dedicated number (dedicated_numbers_shared is off)")
    if chosen.team_id is None:
        return await conversations.start(services, community_id, prospect, advocate, message, number)
    team = await get_team(services.db, community_id, chosen.team_id)
    cast = assignment.team_cast(team.members, Member(advocate.phone, advocate.name), most)
    if cast is None:
        raise Conflict("team_full", f"team {team.id} and the advocate make more than {most} members")
    # The advocate asked for it: kept in it whatever happens to the team meanwhile.
    read = tuple(m.phone for m in team.members if m.phone != advocate.phone)
    conversation_id, notices = await groups.open_team(
        services, community_id, prospect, [Person(m.phone, m.name) for m in cast], team.style, message,
        Placement(named=number, team_id=team.id, team_members=read))
    return conversation_id, notices[advocate.phone]


async def start_for_team(services: Conversations, community_id: int, customer: Person, team_id: int,
                         style: TeamStyle | None, message: str) -> tuple[int, list[StoredOutbound]]:
    """POST /v1/team-conversations with team_id: a one_to_group conversation with the team's members (its style
    unless another is given) on the team's number (else an unassigned one). Raises NotFound team_not_found,
    Conflict team_has_no_members, and as groups.open_team."""
    team = await get_team(services.db, community_id, team_id)
    if not team.members:
        raise Conflict("team_has_no_members", f"team {team_id} has no members")
    conversation_id, notices = await groups.open_team(
        services, community_id, customer, [Person(m.phone, m.name) for m in team.members], style or team.style,
        message, Placement(team_id=team.id, team_members=tuple(m.phone for m in team.members)))
    return conversation_id, list(notices.values())
