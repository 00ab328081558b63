"""/v1/conversations and /v1/messages: start, read, write into and close conversations; read messages."""

from __future__ import annotations

from aiohttp import web

from gateway.platform import communities
from gateway.messaging import conversations, group_writes, teams
from gateway.relay.phones import to_e164
from gateway.compliance import limits
from gateway.verification import numbers
from gateway.relay import rules as relay
from gateway.api import group_types, render, types
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.messaging.conversations import Person
from gateway.storage import messages as storage
from gateway.storage.messages import Message, StoredOutbound
from gateway.errors import Conflict, NotFound
from gateway.keys import CONFIG, CONVERSATIONS, DISPATCHER, LINE_TYPES, MEDIA, POOL
from gateway.api.media import attachments
from gateway.vocabulary import BlockReason, ConversationShape, HoldReason, MessageStatus
from gateway.verification.line_types import LineTypes
from gateway.api.validation import path_id

routes = Routes("conversations")
UNWANTED = ("recipient_opted_out", "recipient_on_dnd")  # refuse_if_unwanted
HELD = ("message_not_found", "message_not_held")


async def _person(line_types: LineTypes, person: types.Person, role: str, policy: numbers.Policy) -> Person:
    checked = await numbers.check(line_types, person.phone, field=f"{role}.phone", policy=policy)
    return Person(checked.phone, person.name)


@routes.post("/v1/conversations", body=types.NewConversation, answer=types.StartedConversation, status=201,
             errors=("community_not_found", *PHONE_ERRORS, "message_too_long", "same_participant",
                     "participant_is_proxy", "prospect_not_verified", "community_has_no_numbers",
                     "conversation_exists", "no_unassigned_number", "number_not_in_community", "number_dedicated",
                     "team_full", "team_not_found", "number_marketing"))
async def start(request: web.Request, body: types.NewConversation) -> types.StartedConversation:
    """Open a conversation between a prospect and an advocate
    The advocate gets `message` by SMS from the community number chosen for the pair (the advocate's dedicated
    number, else an unassigned one), or from `proxy_number`: a team's number opens the team's inbox conversation
    instead (replies reach the team); another member's dedicated number needs dedicated_numbers_shared."""
    community = await communities.find(request.app[POOL], body.community_id)
    policy = numbers.Policy.of(community)
    line_types = request.app[LINE_TYPES]
    prospect = await _person(line_types, body.prospect, "prospect", policy)
    identification = relay.identification_cost(community.sender_id_template, community.sender_name or community.name)
    conversations.check_fits(body.message, relay.notification_room(prospect_name=prospect.name,
                                                                   community_name=community.name,
                                                                   identification=identification), "message")
    advocate = await _person(line_types, body.advocate, "advocate", policy)
    services = request.app[CONVERSATIONS]
    if body.proxy_number is None:
        conversation_id, notification = await conversations.start(services, body.community_id, prospect, advocate,
                                                                   body.message)
    else:
        number = to_e164(body.proxy_number, field="proxy_number", region=community.default_region)
        conversation_id, notification = await teams.start_on_number(
            services, body.community_id, prospect, advocate, body.message, number, community.dedicated_numbers_shared,
            request.app[CONFIG].groups.max_members)
    return render.conversation(await conversations.get(services.db, conversation_id),
                               types.StartedConversation, notification=render.delivery(notification))


@routes.get("/v1/conversations/{id}", answer=types.Conversation, errors=("conversation_not_found",))
async def get(request: web.Request) -> types.Conversation:
    """A conversation"""
    return render.conversation(await conversations.get(request.app[POOL], path_id(request)))


@routes.get("/v1/conversations/{id}/messages", query=types.Page, answer=types.Messages,
            errors=("conversation_not_found",))
async def list_messages(request: web.Request, query: types.Page) -> types.Messages:
    """A conversation's messages, oldest first"""
    db = request.app[POOL]
    conversation = await conversations.get(db, path_id(request))
    found = await storage.list_conversation_messages(db, conversation_id=conversation.id, after=query.after,
                                                     limit=query.limit)
    return types.Messages(messages=[render.message(message) for message in found])


@routes.post("/v1/conversations/{id}/messages", body=types.NewMessage, answer=group_types.WrittenMessage,
             status=201, errors=("conversation_not_found", "conversation_not_open", "conversation_not_a_pair",
                                 "message_too_long", *UNWANTED, "not_a_participant", "conversation_taken"))
async def write(request: web.Request, body: types.NewMessage) -> types.Message:
    """Text a conversation, as one of its participants
    A pair's other party gets it (from "prospect" or "advocate"). In a group text or a one-to-group conversation,
    from a participant's phone (or "customer"), every other participant gets a copy as from that participant's
    SMS, with its label; the answer lists the copies."""
    services = request.app[CONVERSATIONS]
    if body.from_ in group_writes.PAIR_ROLES:  # today's pair write as it always was (it refuses other shapes)
        return await _written(services.db, await conversations.write(services, path_id(request), body.from_,
                                                                      body.body, body.media))
    found = await conversations.get(services.db, path_id(request))
    region = (await communities.find(services.db, found.community_id)).default_region
    sender = group_writes.author(found, body.from_, region)
    if found.shape == ConversationShape.PAIR:
        return await _written(services.db, await conversations.write(services, found.id, sender, body.body,
                                                                      body.media))
    stored = await group_writes.write_as(services, found, sender, body.body, body.media)
    copies = [render.message(await _message(services.db, part.id)) for part in stored]
    return render.message(await _message(services.db, stored[0].id), group_types.WrittenMessage, copies=copies)


async def _written(db, message_id: int) -> group_types.WrittenMessage:
    message = await _message(db, message_id)
    refuse_if_unwanted(message)
    return render.message(message, group_types.WrittenMessage)


def refuse_if_unwanted(message: Message | StoredOutbound) -> None:
    """A send the caller asked for directly, to a phone that said STOP (or is on DND): Conflict (409), the
    message id in the error; the message stays stored as blocked."""
    if message.status == MessageStatus.BLOCKED and message.status_reason in (BlockReason.OPTED_OUT, BlockReason.DND):
        reason = "recipient_opted_out" if message.status_reason == BlockReason.OPTED_OUT else "recipient_on_dnd"
        raise Conflict(reason, f"the recipient does not take messages ({message.status_reason}); stored as blocked",
                       message_id=message.id)


@routes.post("/v1/conversations/{id}/close", body=types.Closing, optional_body=True, answer=types.Conversation,
             errors=("conversation_not_found",))
async def close(request: web.Request, body: types.Closing) -> types.Conversation:
    """Close a conversation (closing a closed one changes nothing); its routes are removed"""
    found = await conversations.close(request.app[CONVERSATIONS], path_id(request), body.reason or "closed")
    return render.conversation(found)


async def _message(db, message_id: int) -> Message:
    """Raises NotFound (message_not_found)."""
    message = await storage.find_message(db, message_id=message_id)
    if message is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    return message


async def _held_message(request: web.Request) -> Message:
    message_id = path_id(request)
    message = await _message(request.app[POOL], message_id)
    if (message.status, message.status_reason) != (MessageStatus.HELD, HoldReason.MONTHLY_LIMIT):
        raise Conflict("message_not_held", f"message {message_id} is {message.status}, not held for the monthly limit")
    return message


@routes.post("/v1/messages/{id}/release", answer=types.Message, errors=HELD)
async def release(request: web.Request) -> types.Message:
    """Send a message held for the monthly limit, over the limit"""
    message = await _held_message(request)
    await limits.release(request.app[POOL], request.app[DISPATCHER], community_id=message.community_id,
                         reason=HoldReason.MONTHLY_LIMIT, ids=[message.id], override=True)
    return render.message(await _message(request.app[POOL], message.id))


@routes.post("/v1/messages/{id}/cancel", answer=types.Message, errors=HELD)
async def cancel(request: web.Request) -> types.Message:
    """Cancel a message held for the monthly limit"""
    message = await _held_message(request)
    await limits.cancel(request.app[POOL], community_id=message.community_id, reason=HoldReason.MONTHLY_LIMIT,
                        ids=[message.id])
    return render.message(await _message(request.app[POOL], message.id))


@routes.get("/v1/messages/{id}", answer=types.MessageWithHistory, errors=("message_not_found",))
async def get_message(request: web.Request) -> types.Message:
    """A message with the history of its statuses"""
    db = request.app[POOL]
    message = await _message(db, path_id(request))
    events = await storage.list_message_events(db, message_id=message.id)
    return render.message(message, types.MessageWithHistory, history=render.history(events),
                          media=await attachments(request.app[MEDIA], message.id))
