"""/v1/groups, /v1/team-conversations and /v1/conversations/{id}/members: conversations of several people.

Two endpoints rather than a `shape` field on POST /v1/conversations: a msgspec tagged union needs its tag in every
body, so today's pair body (which has none) would no longer be valid as is; and separate bodies keep each shape's
schema exact in /openapi.json. Both answer a conversation as GET /v1/conversations/{id} does.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api import group_types, render, types
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.api.validation import path_id
from gateway.errors import InvalidInput
from gateway.keys import CONFIG, CONVERSATIONS, LINE_TYPES
from gateway.messaging import conversations, groups, teams
from gateway.messaging.conversations import Person
from gateway.platform import communities
from gateway.relay import fanout
from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.relay.phones import mask, to_e164
from gateway.verification import numbers
from gateway.vocabulary import TeamStyle

routes = Routes("groups")
OPENING = ("community_not_found", *PHONE_ERRORS, "message_too_long", "same_participant", "participant_is_proxy",
           "participant_not_verified", "community_has_no_numbers", "no_unassigned_number")
RUNNING = ("conversation_not_found", "conversation_not_open", "conversation_not_a_group")


async def _phone(request: web.Request, community, raw: str, field: str) -> str:
    """The phone in E.164, judged by the community's countries and line-type policy (as a pair's are)."""
    checked = await numbers.check(request.app[LINE_TYPES], raw, field=field, policy=numbers.Policy.of(community))
    return checked.phone


async def _people(request: web.Request, community, people: list[types.Person], field: str) -> list[Person]:
    return [Person(await _phone(request, community, person.phone, f"{field}[{n}].phone"), person.name)
            for n, person in enumerate(people)]


def _identification(community) -> tuple[int, int]:
    return relay.identification_cost(community.sender_id_template, community.sender_name or community.name)


async def _started(request: web.Request, conversation_id: int, notices) -> group_types.StartedGroup:
    found = await conversations.get(request.app[CONVERSATIONS].db, conversation_id)
    return render.conversation(found, group_types.StartedGroup,
                               notifications=[render.delivery(notice) for notice in notices])


@routes.post("/v1/groups", body=group_types.NewGroup, answer=group_types.StartedGroup, status=201, errors=OPENING)
async def open_group(request: web.Request, body: group_types.NewGroup) -> group_types.StartedGroup:
    """Open a group text among 3 to 10 people
    Each gets `message` with the names of the others from one community number; from then on a text from any of
    them reaches all the others as "Name: text"."""
    community = await communities.find(request.app[CONVERSATIONS].db, body.community_id)
    people = await _people(request, community, body.participants, "participants")
    longest = max((fanout.intro_body("", community_name=community.name, code=relay.LONGEST_CODE, recipient_open=2,
                                     names=[p.name for p in people if p is not person]) for person in people), key=len)
    conversations.check_fits(body.message, relay.room(segments.length(longest), _identification(community)),
                             "message")
    conversation_id, notices = await groups.open_group(request.app[CONVERSATIONS], body.community_id, people,
                                                       body.message)
    return await _started(request, conversation_id, notices)


@routes.post("/v1/team-conversations", body=group_types.NewTeamConversation, answer=group_types.StartedGroup,
             status=201, errors=(*OPENING, "too_many_members", "team_not_found", "team_has_no_members"))
async def open_team(request: web.Request, body: group_types.NewTeamConversation) -> group_types.StartedGroup:
    """Open a one-to-group conversation: a customer and a team
    Each member gets the customer's `message`; the customer's texts reach every member as "Customer: text", a
    member's reply reaches the customer as is and the other members as "Member to Customer: text". With team_id
    instead of members: the team's members, style and number."""
    most = request.app[CONFIG].groups.max_members
    if (body.members is None) == (body.team_id is None):
        raise InvalidInput("missing_field" if body.members is None else "invalid_field",
                           "members or team_id: exactly one of them")
    if body.members is not None and len(body.members) > most:
        raise InvalidInput("too_many_members", f"members: at most {most} (groups.max_members)", max_members=most)
    community = await communities.find(request.app[CONVERSATIONS].db, body.community_id)
    phone = await _phone(request, community, body.customer.phone, "customer.phone")
    customer = Person(phone, body.customer.name or mask(phone))
    room = relay.notification_room(prospect_name=customer.name, community_name=community.name,
                                   identification=_identification(community))
    conversations.check_fits(body.message, room, "message")
    style = None if body.style is None else TeamStyle(body.style)
    if body.team_id is not None:
        conversation_id, notices = await teams.start_for_team(request.app[CONVERSATIONS], body.community_id,
                                                              customer, body.team_id, style, body.message)
    else:
        members = await _people(request, community, body.members, "members")
        conversation_id, by_phone = await groups.open_team(request.app[CONVERSATIONS], body.community_id, customer,
                                                           members, style or TeamStyle.EVERYONE, body.message)
        notices = list(by_phone.values())
    return await _started(request, conversation_id, notices)


@routes.post("/v1/conversations/{id}/members", body=group_types.NewMember, answer=types.Conversation, status=201,
             errors=(*RUNNING, *PHONE_ERRORS, "already_a_member", "conversation_full", "participant_is_proxy",
                     "participant_not_verified"))
async def add_member(request: web.Request, body: group_types.NewMember) -> types.Conversation:
    """Add a member to a running group text or one-to-group conversation
    The member gets a text naming the others, and every text after it."""
    services = request.app[CONVERSATIONS]
    found = await conversations.get(services.db, path_id(request))
    community = await communities.find(services.db, found.community_id)
    phone = await _phone(request, community, body.phone, "phone")
    await groups.add_member(services, found.id, Person(phone, body.name), request.app[CONFIG].groups.max_members)
    return render.conversation(await conversations.get(services.db, found.id))


@routes.delete("/v1/conversations/{id}/members/{phone}", answer=types.Conversation,
               errors=(*RUNNING, "invalid_number", "member_not_found"))
async def remove_member(request: web.Request) -> types.Conversation:
    """Remove a member from a running group text or one-to-group conversation
    The member gets nothing more; the others are not told. Fewer than two left: the conversation closes
    (closed_reason too_few)."""
    services = request.app[CONVERSATIONS]
    found = await conversations.get(services.db, path_id(request))
    community = await communities.find(services.db, found.community_id)
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    await groups.remove_member(services, found.id, phone)
    return render.conversation(await conversations.get(services.db, found.id))
