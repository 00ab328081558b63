"""Conversations of several people: open a group text or a one-to-group conversation, add and remove members
while it runs, and leave a group with STOP. README "Group texts" and "One-to-group conversations".

Every change runs in one transaction under the conversation's row lock (or the community's, to open one), then
writes the routes of everyone concerned through to Redis (write_routes), as opening a pair does.
"""

from __future__ import annotations

from typing import Sequence

import asyncpg
import structlog

from gateway.carriers import InboundMessage
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.messaging.conversations import Conversations, Person, choose_number, get, write_routes
from gateway.messaging.inbound import KeywordHandler
from gateway.relay import fanout
from gateway.relay import rules as relay
from gateway.relay.assignment import Placement
from gateway.relay import segments
from gateway.relay.phones import mask
from gateway.routing.keys import OpenConversation
from gateway.storage import communities, messages, verifications
from gateway.storage import teams as team_storage
from gateway.storage import conversations as conversation_storage
from gateway.storage import groups as storage
from gateway.storage.communities import LockedCommunity
from gateway.storage.conversations import Conversation
from gateway.storage.groups import LockedConversation
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import (TOO_FEW, ConversationShape, ConversationStatus, KeywordKind, LeftReason,
                                MessageKind, ParticipantRole, Priority, TeamStyle)

log = structlog.get_logger(__name__)


async def open_group(services: Conversations, community_id: int, people: Sequence[Person],
                     message: str) -> tuple[int, list[StoredOutbound]]:
    """Open a group text: each participant gets the intro (fanout.intro_body). Returns its id and the intros.
    Raises as conversations.start, and Conflict participant_not_verified."""
    cast = [(person, ParticipantRole.MEMBER) for person in people]
    conversation_id, notices = await _open(services, community_id, ConversationShape.GROUP, None, cast, message)
    return conversation_id, list(notices.values())


async def open_team(services: Conversations, community_id: int, customer: Person, members: Sequence[Person],
                    style: TeamStyle, message: str,
                    placement: Placement = Placement()) -> tuple[int, dict[str, StoredOutbound]]:
    """Open a one-to-group conversation: the customer wrote `message` (as a pair's prospect does on the web site)
    and each member gets it as the notification of a new conversation. Returns its id and the notifications.
    placement.team_id: a team's inbox conversation (on the team's number, or the one named); its members as read
    before (placement.team_members) are left out if they left the team meanwhile. The notifications by phone."""
    cast = [(customer, ParticipantRole.CUSTOMER), *((member, ParticipantRole.MEMBER) for member in members)]
    return await _open(services, community_id, ConversationShape.ONE_TO_GROUP, style, cast, message, placement)


async def _open(services: Conversations, community_id: int, shape: ConversationShape, style: TeamStyle | None,
                cast: list[tuple[Person, ParticipantRole]], message: str,
                placement: Placement = Placement()) -> tuple[int, dict[str, StoredOutbound]]:
    if len({person.phone for person, _ in cast}) < len(cast):
        raise InvalidInput("same_participant", "each participant must have a different phone number")
    async with services.db.acquire() as conn, conn.transaction():
        community = await communities.lock_community(conn, community_id=community_id)
        if community is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        if placement.team_id is not None:
            cast = await _still_in_team(conn, community.id, cast, placement)
        outside = [person for person, role in cast if role != ParticipantRole.MEMBER or shape == ConversationShape.GROUP]
        await _check_verified(conn, community.id, community.require_verification, outside)
        conversation = await _store(conn, community, shape, style, cast, placement)
        notices = await _greet(conn, community, conversation, message)
    await services.routes.add(conversation)
    await _dispatch(services, conversation, notices)
    log.info("conversation_started", conversation_id=conversation.id, shape=shape, participants=len(cast),
             proxy=mask(conversation.proxy_number), code=conversation.code)
    return conversation.id, dict(notices)


async def _still_in_team(conn: asyncpg.Connection, community_id: int, cast: list[tuple[Person, ParticipantRole]],
                         placement: Placement) -> list[tuple[Person, ParticipantRole]]:
    """Under the community's lock, which removing a team member takes too: the team as it is now (a member removed
    since it was read found no conversation to leave, so is left out here), locked so it is not deleted under the
    conversation naming it. Raises NotFound team_not_found, Conflict team_has_no_members."""
    if not await team_storage.lock_team(conn, community_id=community_id, team_id=placement.team_id):
        raise NotFound("team_not_found", f"community {community_id} has no team {placement.team_id}")
    team = await team_storage.find_team(conn, community_id=community_id, team_id=placement.team_id)
    gone = set(placement.team_members) - {m.phone for m in team.members}
    kept = [(person, role) for person, role in cast if person.phone not in gone]
    if not any(role == ParticipantRole.MEMBER for _, role in kept):
        raise Conflict("team_has_no_members", f"team {placement.team_id} has no members")
    return kept


async def _check_verified(conn: asyncpg.Connection, community_id: int, required: bool,
                          people: Sequence[Person]) -> None:
    """The outside people (a group's participants, a one-to-group's customer) must be verified when the community
    requires it, as a pair's prospect must."""
    for person in people if required else ():
        if not await verifications.is_phone_verified(conn, community_id=community_id, phone=person.phone):
            raise Conflict("participant_not_verified", f"{mask(person.phone)} has not been verified "
                           "(POST /v1/verifications)")


async def _store(conn: asyncpg.Connection, community: LockedCommunity, shape: ConversationShape,
                 style: TeamStyle | None, cast: list[tuple[Person, ParticipantRole]],
                 placement: Placement) -> OpenConversation:
    """Inside the community's lock: the participants, the number (one none of them is busy on, if any) and code."""
    ids = [await conversation_storage.upsert_participant(conn, community_id=community.id, phone=person.phone,
                                                         name=person.name) for person, _ in cast]
    usage = await communities.number_usage(conn, community_id=community.id, participant_ids=ids)
    if not usage:
        raise Conflict("community_has_no_numbers", "the community owns no phone numbers")
    await _not_a_proxy(conn, [person.phone for person, _ in cast])
    number = choose_number(usage, placement)
    code = relay.new_code(await conversation_storage.open_codes_on_number(conn, proxy=number))
    roles = [role for _, role in cast]
    conversation_id = await storage.insert_conversation_of_several(
        conn, community_id=community.id, proxy=number, shape=shape, team_style=style, participant_ids=ids,
        roles=roles, code=code, team_id=placement.team_id)
    return OpenConversation(conversation_id, number, code, [p.phone for p, _ in cast], [p.name for p, _ in cast],
                            roles, shape, style)


async def _not_a_proxy(conn: asyncpg.Connection, phones: list[str]) -> None:
    # Any community's number: its answers (auto-reply, out of session) would loop back in here. The phones are
    # held first, so a number added meanwhile in another community waits for this transaction, then sees them.
    await communities.lock_phones_for_numbers(conn, phones=phones)
    for phone in phones:
        if await communities.find_number_owner(conn, phone=phone) is not None:
            raise InvalidInput("participant_is_proxy", "a participant's phone is one of the gateway's numbers")


async def _greet(conn: asyncpg.Connection, community: LockedCommunity, conversation: OpenConversation,
                 message: str) -> list[tuple[str, StoredOutbound]]:
    """The first texts: a group's intro to everyone, or a one-to-group's notification to each member."""
    people = conversation.people()
    customer = next((p for p in people if p.role == ParticipantRole.CUSTOMER), None)
    notices = []
    for person in people:
        if person is customer:
            continue
        count = await conversation_storage.count_open_for_participant(conn, proxy=conversation.proxy_number,
                                                                      phone=person.phone)
        if customer is None:
            body = fanout.intro_body(message, community_name=community.name, code=conversation.code,
                                     names=[p.name for p in people if p is not person], recipient_open=count)
        else:
            body = relay.notification_body(message, prospect_name=customer.name, community_name=community.name,
                                           code=conversation.code, advocate_open=count)
        notices.append((person.phone, await _notify(conn, community.id, conversation, person.phone, body)))
    return notices


async def _notify(conn: asyncpg.Connection, community_id: int, conversation: OpenConversation | Conversation,
                  phone: str, body: str) -> StoredOutbound:
    return await messages.insert_outbound_message(
        conn, community_id=community_id, conversation_id=conversation.id, kind=MessageKind.NOTIFICATION,
        priority=Priority.RELAY, from_number=conversation.proxy_number, to_number=phone, body=body,
        segments=segments.count(body))


async def _dispatch(services: Conversations, conversation: OpenConversation | Conversation,
                    notices: list[tuple[str, StoredOutbound]]) -> None:
    for phone, notice in notices:
        await services.dispatcher.dispatch(notice, Priority.RELAY, conversation.proxy_number,
                                           relays=(phone, conversation.id))


async def _locked(conn: asyncpg.Connection, conversation_id: int) -> LockedConversation:
    """The open conversation of several, locked. Raises NotFound, Conflict (conversation_not_open,
    conversation_not_a_group)."""
    locked = await storage.lock_conversation(conn, conversation_id=conversation_id)
    if locked is None:
        raise NotFound("conversation_not_found", f"no conversation {conversation_id}")
    if locked.shape == ConversationShape.PAIR:
        raise Conflict("conversation_not_a_group", f"conversation {conversation_id} is a pair: it has no members")
    if locked.status != ConversationStatus.OPEN:
        raise Conflict("conversation_not_open", f"conversation {conversation_id} is {locked.status}")
    return locked


async def add_member(services: Conversations, conversation_id: int, person: Person,
                     max_members: int) -> StoredOutbound:
    """Add a member to a running group or one-to-group conversation; they get a text saying who is in it.
    Raises NotFound, Conflict (conversation_not_open, conversation_not_a_group, already_a_member,
    conversation_full, participant_not_verified), InvalidInput (participant_is_proxy)."""
    async with services.db.acquire() as conn, conn.transaction():
        locked = await _locked(conn, conversation_id)
        conversation = await get(conn, conversation_id)
        active = conversation.active()
        if person.phone in {p.phone for p in active}:
            raise Conflict("already_a_member", f"{mask(person.phone)} is in conversation {conversation_id}")
        members = [p for p in active if p.role == ParticipantRole.MEMBER]
        most = fanout.GROUP_MAX if locked.shape == ConversationShape.GROUP else max_members
        if len(members) >= most:
            raise Conflict("conversation_full", f"conversation {conversation_id} has its {most} members")
        await _not_a_proxy(conn, [person.phone])
        if locked.shape == ConversationShape.GROUP:
            await _check_verified(conn, locked.community_id, locked.require_verification, [person])
        participant_id = await conversation_storage.upsert_participant(
            conn, community_id=locked.community_id, phone=person.phone, name=person.name)
        await storage.add_participant(conn, conversation_id=conversation_id, participant_id=participant_id,
                                      role=ParticipantRole.MEMBER)
        count = await conversation_storage.count_open_for_participant(conn, proxy=conversation.proxy_number,
                                                                      phone=person.phone)
        body = fanout.added_body(community_name=locked.community_name, names=[p.name for p in active],
                                 code=conversation.code, recipient_open=count)
        notice = await _notify(conn, locked.community_id, conversation, person.phone, body)
    await write_routes(services.db, services.routes, conversation_id)
    await _dispatch(services, conversation, [(person.phone, notice)])
    log.info("member_added", conversation_id=conversation_id, phone=mask(person.phone))
    return notice


async def remove_member(services: Conversations, conversation_id: int, phone: str,
                        reason: LeftReason = LeftReason.REMOVED) -> None:
    """A member leaves: removed through the API (nobody is told), or with STOP (the others in a group are told
    "Someone left the group."). A conversation left with fewer than two participants closes (too_few).
    Raises NotFound (conversation_not_found, member_not_found), Conflict (conversation_not_open,
    conversation_not_a_group)."""
    async with services.db.acquire() as conn, conn.transaction():
        locked = await _locked(conn, conversation_id)
        if not await storage.remove_participant(conn, conversation_id=conversation_id, phone=phone, reason=reason):
            raise NotFound("member_not_found", f"{mask(phone)} is not a member of conversation {conversation_id}")
        conversation = await get(conn, conversation_id)
        notices = []
        if reason == LeftReason.OPTED_OUT and locked.shape == ConversationShape.GROUP:
            for person in conversation.active():
                count = await conversation_storage.count_open_for_participant(
                    conn, proxy=conversation.proxy_number, phone=person.phone)
                body = fanout.left_body(code=conversation.code, recipient_open=count)
                notices.append((person.phone, await _notify(conn, locked.community_id, conversation, person.phone,
                                                            body)))
        if len(conversation.active()) < 2:
            await conversation_storage.close_conversation(conn, conversation_id=conversation_id, reason=TOO_FEW)
    await write_routes(services.db, services.routes, conversation_id)
    await _dispatch(services, conversation, notices)
    log.info("member_removed", conversation_id=conversation_id, phone=mask(phone), reason=reason)


async def leave_on_stop(services: Conversations, proxy: str, phone: str) -> int:
    """STOP from a member: they leave every conversation of several they are a member of on this number (the
    opt-out itself is the keyword's, as for anyone). Returns how many they left."""
    left = 0
    for conversation_id in await storage.list_memberships_on_number(services.db, proxy=proxy, phone=phone):
        try:
            await remove_member(services, conversation_id, phone, LeftReason.OPTED_OUT)
            left += 1
        except (NotFound, Conflict):
            pass  # left, closed or removed meanwhile: nothing more to do
    return left


def leaving_on_stop(keywords: KeywordHandler, services: Conversations) -> KeywordHandler:
    """The keyword handler, then: a STOP (not a carrier's retry of one) leaves the sender's groups on the number."""
    async def handle(sms: InboundMessage, sender: str, proxy: str, kind: str, word: str) -> str:
        outcome = await keywords(sms, sender, proxy, kind, word)
        if kind == KeywordKind.OPT_OUT and outcome != "duplicate":
            await leave_on_stop(services, proxy, sender)
        return outcome

    return handle
