"""Conversations: start one on a pool number, write into it from the web site, close it, expire idle ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import asyncpg
import structlog
from redis.exceptions import RedisError

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.relay import assignment
from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.relay.assignment import NumberUse, Placement
from gateway.relay.phones import mask
from gateway.routing.table import OpenConversation, RouteTable
from gateway.storage import communities, messages, verifications
from gateway.storage import media as media_storage
from gateway.storage import conversations as storage
from gateway.storage.communities import LockedCommunity, NumberUsage
from gateway.storage.conversations import Conversation
from gateway.storage.db import Executor
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import ConversationShape, ConversationStatus, MessageKind, Priority

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Person:
    phone: str  # E.164
    name: str


@dataclass(frozen=True)
class Conversations:
    """What starting, writing into, closing and expiring conversations use; built once in app.py."""

    db: asyncpg.Pool
    routes: RouteTable
    dispatcher: Dispatcher
    metrics: Metrics
    max_media_bytes: int = 5_000_000  # media.max_message_bytes: a message's pictures together


async def start(services: Conversations, community_id: int, prospect: Person, advocate: Person,
                message: str, number: str | None = None) -> tuple[int, StoredOutbound]:
    """Open a conversation and queue the advocate's notification; returns its id and the notification. number:
    the one the caller named (checked by gateway/messaging/teams.py); else the advocate's dedicated number or an
    unassigned one.

    Raises InvalidInput (same_participant, participant_is_proxy), NotFound (community_not_found), Conflict
    (prospect_not_verified, community_has_no_numbers, no_unassigned_number, conversation_exists).
    """
    if prospect.phone == advocate.phone:
        raise InvalidInput("same_participant", "prospect and advocate must have different phone numbers")
    async with services.db.acquire() as conn, conn.transaction():
        community = await communities.lock_community(conn, community_id=community_id)
        if community is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        if community.require_verification and not await verifications.is_phone_verified(
                conn, community_id=community_id, phone=prospect.phone):
            raise Conflict("prospect_not_verified", "the prospect's phone has not been verified (POST /v1/verifications)")
        placement = Placement(named=number, advocate=advocate.phone)
        conversation, notification = await _open(conn, community, prospect, advocate, message, placement)
    await services.routes.add(conversation)
    structlog.contextvars.bind_contextvars(conversation_id=conversation.id)
    await services.dispatcher.dispatch(notification, Priority.RELAY, conversation.proxy_number,
                                       relays=(advocate.phone, conversation.id))
    log.info("conversation_started", proxy=mask(conversation.proxy_number), code=conversation.code)
    return conversation.id, notification


async def _open(conn: asyncpg.Connection, community: LockedCommunity, prospect: Person, advocate: Person,
                message: str, placement: Placement) -> tuple[OpenConversation, StoredOutbound]:
    """Inside the community's lock: choose the number and code, store the conversation and notification."""
    # Upserts first: an error below rolls them back with the transaction.
    prospect_id = await storage.upsert_participant(conn, community_id=community.id, phone=prospect.phone,
                                                   name=prospect.name)
    advocate_id = await storage.upsert_participant(conn, community_id=community.id, phone=advocate.phone,
                                                   name=advocate.name)
    await communities.lock_phones_for_numbers(conn, phones=[prospect.phone, advocate.phone])
    usage = await communities.number_usage(conn, community_id=community.id,
                                           participant_ids=[prospect_id, advocate_id])
    if not usage:
        raise Conflict("community_has_no_numbers", "the community owns no phone numbers")
    if {prospect.phone, advocate.phone} & {number.phone for number in usage} or any(
            [await communities.find_number_owner(conn, phone=phone) for phone in (prospect.phone, advocate.phone)]):
        # Another community's number too: its answers (auto-reply, out of session) would loop back in here.
        raise InvalidInput("participant_is_proxy", "a participant's phone is one of the gateway's numbers")
    existing = await storage.find_open_conversation_between(conn, community_id=community.id, prospect_id=prospect_id,
                                                            advocate_id=advocate_id)
    if existing is not None:
        raise Conflict("conversation_exists", f"conversation {existing} between them is already open",
                       conversation_id=existing)
    number = choose_number(usage, placement)
    code = relay.new_code(await storage.open_codes_on_number(conn, proxy=number))
    conversation_id = await storage.insert_conversation(conn, community_id=community.id, proxy=number,
                                                        prospect_id=prospect_id, advocate_id=advocate_id, code=code)
    advocate_open = await storage.count_open_for_participant(conn, proxy=number, phone=advocate.phone)
    body = relay.notification_body(message, prospect_name=prospect.name, community_name=community.name,
                                   code=code, advocate_open=advocate_open)
    notification = await messages.insert_outbound_message(
        conn, community_id=community.id, conversation_id=conversation_id, kind=MessageKind.NOTIFICATION,
        priority=Priority.RELAY, from_number=number, to_number=advocate.phone, body=body,
        segments=segments.count(body))
    conversation = OpenConversation.pair(conversation_id, number, code, (prospect.phone, prospect.name),
                                         (advocate.phone, advocate.name))
    return conversation, notification


def choose_number(usage: list[NumberUsage], placement: Placement) -> str:
    """relay.choose_number among the numbers the placement allows (gateway/relay/assignment.py: never one
    dedicated to someone else or assigned to a team unless asked). Raises Conflict no_unassigned_number."""
    pool = assignment.eligible([NumberUse(n.phone, n.member, n.team_id, n.category) for n in usage], placement)
    if not pool:
        raise Conflict("no_unassigned_number", "every number of the community is dedicated to a member or assigned "
                       "to a team: name one (proxy_number), or unassign one")
    number, _shared = relay.choose_number(pool, [n.phone for n in usage if n.busy], {n.phone: n.open for n in usage})
    return number


def check_fits(text: str, room: int, field: str) -> None:
    """422 message_too_long when text would push one SMS over the carrier's limit once our words (name, code,
    reply hint, sender identification) are added; the answer says how many characters fit."""
    if segments.length(text) > room:
        raise InvalidInput("message_too_long",
                           f"{field}: {segments.length(text)} characters, but at most {max(room, 0)} fit in one text "
                           f"of {segments.MAX_BODY} with the names, code and sender identification we add "
                           f"(an emoji counts two)", max_length=max(room, 0))


async def identification(db: Executor, proxy: str) -> tuple[int, int]:
    """What the sender identification of the community owning this number may add to a text (relay.py)."""
    found = await communities.find_sender_identification(db, proxy=proxy)
    return relay.identification_cost(found.template, found.sender_name) if found else (0, 1)


async def get(db: Executor, conversation_id: int) -> Conversation:
    """Raises NotFound (conversation_not_found)."""
    conversation = await storage.find_conversation(db, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("conversation_not_found", f"no conversation {conversation_id}")
    return conversation


async def write(services: Conversations, conversation_id: int, author: str, body: str,
                media: Sequence[int] = ()) -> int:
    """A message written on the web site by one party ("prospect" or "advocate"), relayed by SMS to the other,
    with the community's uploads named in media (gateway/media); returns its id. Raises NotFound, Conflict
    (conversation_not_open), InvalidInput (message_too_long; invalid_field: an upload not the community's to use)."""
    conversation = await get(services.db, conversation_id)
    if conversation.status != ConversationStatus.OPEN:
        raise Conflict("conversation_not_open", f"conversation {conversation_id} is {conversation.status}")
    if conversation.shape != ConversationShape.PAIR:
        raise Conflict("conversation_not_a_pair", f"conversation {conversation_id} is a {conversation.shape}: it "
                       "has no prospect and advocate to write as")
    if author == "prospect":
        recipient, sender_name = conversation.advocate_phone, conversation.prospect_name
    else:
        recipient, sender_name = conversation.prospect_phone, conversation.advocate_name
    proxy, code = conversation.proxy_number, conversation.code
    check_fits(body, relay.relay_room(code=code, sender_name=sender_name,
                                      identification=await identification(services.db, proxy)), "body")
    recipient_open = await services.routes.open_count(proxy, recipient)
    text = relay.relayed_body(body, code=code, sender_name=sender_name, recipient_open=recipient_open)
    async with services.db.acquire() as conn, conn.transaction():
        if not await storage.touch_conversation(conn, conversation_id=conversation_id):
            raise Conflict("conversation_not_open", f"conversation {conversation_id} is no longer open")
        message = await messages.insert_outbound_message(
            conn, community_id=conversation.community_id, conversation_id=conversation_id, kind=MessageKind.RELAY,
            priority=Priority.RELAY, from_number=proxy, to_number=recipient, body=text,
            segments=segments.count(text))
        if media:
            await attach_media(services, conn, message.id, conversation.community_id, media)
    if await services.dispatcher.dispatch(message, Priority.RELAY, proxy, relays=(recipient, conversation_id)):
        log.info("message_relayed", conversation_id=conversation_id, relayed_message_id=message.id, source="api")
    return message.id


async def attach_media(services: Conversations, conn: asyncpg.Connection, message_id: int, community_id: int,
                       media: Sequence[int]) -> None:
    """The uploads named become the message's pictures; InvalidInput (the caller's transaction rolls back) for an
    id that is not an unused upload of the community, or pictures over media.max_message_bytes together (what an
    inbound MMS keeps to: the carrier refuses a larger one)."""
    attached, size = await media_storage.attach_uploads(conn, message_id=message_id, media_ids=list(media),
                                                        community_id=community_id)
    if attached != len(set(media)):
        raise InvalidInput("invalid_field", "media: an id that is not an unused upload of this community")
    if size > services.max_media_bytes:
        raise InvalidInput("invalid_field", f"media: {size} bytes together, over {services.max_media_bytes} "
                                            "(media.max_message_bytes)")


async def close(services: Conversations, conversation_id: int, reason: str = "closed") -> Conversation:
    """Close an open conversation and remove its routes; closing a closed one changes nothing."""
    conversation = await get(services.db, conversation_id)
    if await storage.close_conversation(services.db, conversation_id=conversation_id, reason=reason):
        await services.routes.remove(conversation.routes())
        log.info("conversation_closed", conversation_id=conversation_id, reason=clip(reason))
    return await get(services.db, conversation_id)


async def expire_idle(services: Conversations, batch: int = 500) -> int:
    """Expire conversations idle past their community's inactivity_days; returns how many."""
    total = 0
    while True:
        expired = await storage.expire_idle_conversations(services.db, limit=batch)
        for conversation in expired:
            try:
                await services.routes.remove(conversation)
            except RedisError:
                raise
            except Exception:
                # One conversation whose routes cannot be removed must not leave the others' routes in place.
                services.metrics.rows_skipped.labels("expiry").inc()
                log.exception("expired_routes_not_removed", conversation_id=conversation.id)
            log.info("conversation_expired", conversation_id=conversation.id)
        total += len(expired)
        services.metrics.expired.inc(len(expired))
        if len(expired) < batch:
            return total


async def write_routes(db: Executor, routes: RouteTable, conversation_id: int) -> None:
    """Write the conversation's routes as Postgres has them now: every active participant's entry, none for those
    who left, none at all once it is closed. Read again after writing, and written again if it moved meanwhile:
    two changes committed one after the other may write through in the other order."""
    for _ in range(3):
        conversation = await get(db, conversation_id)
        if conversation.status != ConversationStatus.OPEN:
            for person in conversation.participants:
                await routes.forget(conversation.proxy_number, person.phone, conversation_id)
            return
        written = conversation.routes()
        await routes.add(written, gone=[p.phone for p in conversation.participants if not p.active])
        again = await get(db, conversation_id)
        if again.status == ConversationStatus.OPEN and again.routes() == written:
            return

