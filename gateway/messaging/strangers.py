"""A text from someone with no open conversation on a number that is a member's (dedicated) or a team's: open the
conversation and relay the text in one transaction (gateway/relay/assignment.py decides which; README "Dedicated
numbers and team inboxes").

The conversation, its conversation.opened event, the inbound text and its relayed copies (with their events and the
intercept's callback: store_relayed_message.sql, run in the same transaction) commit together or not at all: a
failure leaves nothing, and the carrier's retry of the webhook finds the number as it was. The community's row lock
serialises openings, so two texts from one stranger at once (even through two gateways) open one conversation: the
second finds it under the lock and is relayed into it (LOOK_AGAIN).
"""

from __future__ import annotations

import asyncpg
import structlog

from gateway.carriers import InboundMessage
from gateway.media import rules as media_rules
from gateway.messaging import conversations
from gateway.messaging.inbound import LOOK_AGAIN, Receiver, relay_params, relayed
from gateway.relay import assignment, fanout
from gateway.relay import rules as relay
from gateway.relay.assignment import ToMember, ToTeam
from gateway.relay.phones import can_receive_text, mask
from gateway.relay.rules import Recipient
from gateway.routing.keys import OpenConversation
from gateway.storage import communities, messages, teams
from gateway.storage import conversations as conversation_storage
from gateway.storage import groups as group_storage
from gateway.vocabulary import ConversationShape, InboundOutcome, ParticipantRole, TeamStyle

log = structlog.get_logger(__name__)


# The conversation opened, the sender's route entry in it, and (recipient, parts) for each copy of the text.
Opened = tuple[OpenConversation, relay.RouteEntry, list[tuple[str, list[str]]]]


class _Duplicate(Exception):
    """A carrier's retry of a text stored already: roll the opening back."""


async def welcome(receiver: Receiver, sms: InboundMessage, sender: str, proxy: str) -> str | None:
    """Open the conversation a stranger's text calls for and relay the text into it; the outcome, None when the
    number opens nothing (the out-of-session URL or the auto-reply take the text), or LOOK_AGAIN."""
    found = await teams.find_number_assignment(receiver.db, proxy=proxy)
    route = assignment.route_stranger(found, sender, can_receive_text(sender))
    if not isinstance(route, (ToMember, ToTeam)):
        return None
    try:
        async with receiver.db.acquire() as conn, conn.transaction():
            opened = await _open(conn, found.community_id, sms, sender, proxy)
            if opened is None:
                return LOOK_AGAIN
            conversation, entry, copies = opened
            stored = await messages.store_relayed_in(conn, relay_params(entry, sms, sender, proxy, copies))
            if stored.inbound_id is None:
                raise _Duplicate
    except _Duplicate:
        log.info("inbound_duplicate_ignored")
        return InboundOutcome.DUPLICATE
    await receiver.routes.add(conversation)
    log.info("conversation_opened_by_text", conversation_id=conversation.id, shape=conversation.shape,
             sender=mask(sender), proxy=mask(proxy), code=conversation.code)
    return await relayed(receiver, sms, sender, proxy, entry, copies, stored)


async def _open(conn: asyncpg.Connection, community_id: int, sms: InboundMessage, sender: str,
                proxy: str) -> Opened | None:
    """Inside the community's lock: the conversation on this number, the sender's route entry and the copies of
    the text; None (look again) when the sender has an open conversation on the number by now, or the number no
    longer opens one for them."""
    community = await communities.lock_community(conn, community_id=community_id)
    if community is None or await conversation_storage.count_open_for_participant(conn, proxy=proxy, phone=sender):
        return None
    # The assignment again, under the lock: a member taken out of the team meanwhile is not put in the conversation
    # (teams.remove_member takes this lock too, so it either sees this conversation open, or this sees them gone).
    found = await teams.find_number_assignment(conn, proxy=proxy)
    route = assignment.route_stranger(found, sender, can_receive_text(sender))
    if found is None or found.community_id != community.id or not isinstance(route, (ToMember, ToTeam)):
        return None
    # The team locked until this commits: deleted meanwhile (once unassigned), it would fail the conversation's row.
    if isinstance(route, ToTeam) and not await teams.lock_team(conn, community_id=community.id, team_id=route.team_id):
        return None
    # A stranger's name is their masked number, unless the community knows them from another conversation.
    stranger = await teams.find_or_add_participant(conn, community_id=community.id, phone=sender, name=mask(sender))
    code = relay.new_code(await conversation_storage.open_codes_on_number(conn, proxy=proxy))
    identification = await conversations.identification(conn, proxy)
    opening = _open_pair if isinstance(route, ToMember) else _open_team
    return await opening(conn, community.id, route, Recipient(sender, stranger.name, ""), stranger.id, proxy, code,
                         media_rules.caption(sms.body, len(sms.media_urls)), identification)


async def _open_pair(conn: asyncpg.Connection, community_id: int, route: ToMember, stranger: Recipient,
                     stranger_id: int, proxy: str, code: str, body: str, identification: tuple[int, int]) -> Opened:
    """A masked pair: the stranger the prospect, the dedicated number's member the advocate."""
    member = route.member
    member_id = await conversation_storage.upsert_participant(conn, community_id=community_id, phone=member.phone,
                                                              name=member.name)
    conversation_id = await conversation_storage.insert_conversation(
        conn, community_id=community_id, proxy=proxy, prospect_id=stranger_id, advocate_id=member_id, code=code)
    conversation = OpenConversation.pair(conversation_id, proxy, code, (stranger.phone, stranger.name),
                                         (member.phone, member.name))
    entry = relay.RouteEntry(conversation_id, member.phone, member.name, code, stranger.name)
    member_open = await conversation_storage.count_open_for_participant(conn, proxy=proxy, phone=member.phone)
    # The first text is labelled with who wrote it, as a team's copies are: the member learns a new person wrote.
    parts = relay.relayed_parts(body, code=code, sender_name=stranger.name, recipient_open=member_open,
                                identification=identification, label=stranger.name)
    return conversation, entry, [(member.phone, parts)]


async def _open_team(conn: asyncpg.Connection, community_id: int, route: ToTeam, stranger: Recipient,
                     stranger_id: int, proxy: str, code: str, body: str, identification: tuple[int, int]) -> Opened:
    """A one_to_group conversation of the team's inbox: the stranger the customer, the team's members its members
    (the team's style); the text fanned out to every member, labelled with the customer's name."""
    members = [Recipient(m.phone, m.name, ParticipantRole.MEMBER) for m in route.members]
    ids = [stranger_id] + [await conversation_storage.upsert_participant(conn, community_id=community_id,
                                                                        phone=m.phone, name=m.name) for m in members]
    roles = [ParticipantRole.CUSTOMER] + [ParticipantRole.MEMBER] * len(members)
    style = TeamStyle(route.style)
    conversation_id = await group_storage.insert_conversation_of_several(
        conn, community_id=community_id, proxy=proxy, shape=ConversationShape.ONE_TO_GROUP, team_style=style,
        participant_ids=ids, roles=roles, code=code, team_id=route.team_id)
    conversation = OpenConversation(conversation_id, proxy, code, [stranger.phone, *(m.phone for m in members)],
                                    [stranger.name, *(m.name for m in members)], roles,
                                    ConversationShape.ONE_TO_GROUP, style)
    entry = fanout.entry_for(conversation_id, code, ConversationShape.ONE_TO_GROUP,
                             Recipient(stranger.phone, stranger.name, ParticipantRole.CUSTOMER), members, style)
    open_counts = {m.phone: await conversation_storage.count_open_for_participant(conn, proxy=proxy, phone=m.phone)
                   for m in members}
    return conversation, entry, fanout.copies(entry, body, open_counts, identification, stranger.phone, False)
