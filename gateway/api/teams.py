"""/v1/communities/{id}/teams and /v1/communities/{id}/numbers/{phone} assignments: teams (Spoke's Team Inbox)
and dedicated numbers (README "Dedicated numbers and team inboxes"). Under /v1/communities/{id}, so a token limited
to some communities reaches exactly their teams and numbers (gateway/api/scope.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api import team_types as tt
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.validation import path_id
from gateway.errors import Conflict, InvalidInput
from gateway.keys import CONFIG, CONVERSATIONS, LINE_TYPES, POOL
from gateway.messaging import teams
from gateway.platform import communities
from gateway.relay.assignment import Member
from gateway.relay.phones import to_e164
from gateway.storage import teams as storage
from gateway.storage.teams import NumberAssignment, Team
from gateway.verification import numbers
from gateway.vocabulary import TeamStyle

routes = Routes("teams")
TEAM = ("community_not_found", "team_not_found")
MEMBER = (*PHONE_ERRORS, "participant_is_proxy")


def _team(team: Team) -> tt.Team:
    return tt.Team(id=team.id, community_id=team.community_id, name=team.name, style=team.style,
                   members=[tt.Member(phone=m.phone, name=m.name) for m in team.members], numbers=list(team.numbers),
                   created_at=team.created_at, updated_at=team.updated_at)


def _assigned(number: NumberAssignment) -> tt.AssignedNumber:
    member = None if number.member is None else tt.Member(phone=number.member.phone, name=number.member.name)
    return tt.AssignedNumber(phone=number.phone, member=member, team_id=number.team_id, category=number.category)


async def _member(request: web.Request, community, person, field: str) -> Member:
    """A member's phone in E.164, judged as a conversation's participants are (they will be texted)."""
    checked = await numbers.check(request.app[LINE_TYPES], person.phone, field=field,
                                  policy=numbers.Policy.of(community))
    return Member(checked.phone, person.name)


@routes.post("/v1/communities/{id}/teams", body=tt.NewTeam, answer=tt.Team, status=201,
             errors=("community_not_found", *MEMBER, "same_participant", "too_many_members"))
async def create(request: web.Request, body: tt.NewTeam) -> tt.Team:
    """Create a team
    Its members get the texts of the inbox conversations a number assigned to it opens (PATCH
    /v1/communities/{id}/numbers/{phone} with team_id)."""
    most = request.app[CONFIG].groups.max_members
    if len(body.members) > most:
        raise InvalidInput("too_many_members", f"members: at most {most} (groups.max_members)", max_members=most)
    community = await communities.find(request.app[POOL], path_id(request))
    members = [await _member(request, community, person, f"members[{n}].phone")
               for n, person in enumerate(body.members)]
    return _team(await teams.create_team(request.app[POOL], community.id, body.name, TeamStyle(body.style), members))


@routes.get("/v1/communities/{id}/teams", answer=tt.Teams, errors=("community_not_found",))
async def list_teams(request: web.Request) -> tt.Teams:
    """A community's teams, oldest first"""
    community = await communities.find(request.app[POOL], path_id(request))
    return tt.Teams(teams=[_team(team) for team in await storage.list_teams(request.app[POOL],
                                                                             community_id=community.id)])


@routes.get("/v1/communities/{id}/teams/{team_id}", answer=tt.Team, errors=TEAM)
async def get(request: web.Request) -> tt.Team:
    """A team"""
    community = await communities.find(request.app[POOL], path_id(request))
    return _team(await teams.get_team(request.app[POOL], community.id, path_id(request, "team_id")))


@routes.patch("/v1/communities/{id}/teams/{team_id}", body=tt.TeamChange, answer=tt.Team, errors=TEAM)
async def update(request: web.Request, body: tt.TeamChange) -> tt.Team:
    """Rename a team or change its style
    Running conversations keep the style they opened with."""
    community = await communities.find(request.app[POOL], path_id(request))
    style = None if body.style is None else TeamStyle(body.style)
    return _team(await teams.update_team(request.app[POOL], community.id, path_id(request, "team_id"), body.name,
                                         style))


@routes.delete("/v1/communities/{id}/teams/{team_id}", status=204, errors=(*TEAM, "team_has_numbers"))
async def delete(request: web.Request) -> None:
    """Delete a team
    409 team_has_numbers while a number is assigned to it. Its running conversations go on."""
    community = await communities.find(request.app[POOL], path_id(request))
    await teams.delete_team(request.app[POOL], community.id, path_id(request, "team_id"))


@routes.post("/v1/communities/{id}/teams/{team_id}/members", body=tt.Person, answer=tt.Team, status=201,
             errors=(*TEAM, *MEMBER, "already_a_member", "team_full"))
async def add_member(request: web.Request, body: tt.Person) -> tt.Team:
    """Add a member to a team
    They get the inbox conversations opened from now on (not the running ones)."""
    community = await communities.find(request.app[POOL], path_id(request))
    member = await _member(request, community, body, "phone")
    return _team(await teams.add_member(request.app[POOL], community.id, path_id(request, "team_id"), member,
                                        request.app[CONFIG].groups.max_members))


@routes.delete("/v1/communities/{id}/teams/{team_id}/members/{phone}", answer=tt.Team,
               errors=(*TEAM, "invalid_number", "member_not_found"))
async def remove_member(request: web.Request) -> tt.Team:
    """Remove a member from a team
    They also leave the team's running conversations (nobody is told) and get nothing more from them."""
    community = await communities.find(request.app[POOL], path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    return _team(await teams.remove_member(request.app[CONVERSATIONS], community.id, path_id(request, "team_id"),
                                           phone))


@routes.get("/v1/communities/{id}/numbers", answer=tt.AssignedNumbers, errors=("community_not_found",))
async def list_numbers(request: web.Request) -> tt.AssignedNumbers:
    """A community's numbers with their assignments"""
    community = await communities.find(request.app[POOL], path_id(request))
    found = await storage.list_number_assignments(request.app[POOL], community_id=community.id)
    return tt.AssignedNumbers(numbers=[_assigned(number) for number in found])


@routes.patch("/v1/communities/{id}/numbers/{phone}", body=tt.Assignment, optional_body=True,
              answer=tt.AssignedNumber,
              errors=("community_not_found", "number_not_found", "team_not_found", *MEMBER,
                      "category_with_assignment"))
async def assign(request: web.Request, body: tt.Assignment) -> tt.AssignedNumber:
    """Assign a number to a member (a dedicated number), a team (its inbox), a category, or nothing
    The body is the whole assignment: {"member": {...}}, {"team_id": n}, {"category": "marketing"} or {} (all null:
    unassigned). A text from someone without an open conversation on it then reaches the member, else the team, else
    the out-of-session URL, else gets the auto-reply. Open conversations on it go on as they are. A number with a
    category sends that category of template only and is kept off new conversations and codes; a community with a
    marketing number keeps marketing opt-outs apart (409 category_with_assignment with a member or team)."""
    if body.member is not None and body.team_id is not None:
        raise InvalidInput("invalid_field", "member and team_id: at most one of them")
    if body.category is not None and (body.member is not None or body.team_id is not None):
        raise Conflict("category_with_assignment", "a number with a category is nobody's: no member or team_id")
    community = await communities.find(request.app[POOL], path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    member = None if body.member is None else await _member(request, community, body.member, "member.phone")
    return _assigned(await teams.assign_number(request.app[POOL], community.id, phone, member, body.team_id,
                                               body.category))
