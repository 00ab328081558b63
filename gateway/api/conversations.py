"""/v1/conversations and /v1/messages: start, read, write into and close conversations; read messages."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.platform import communities
from gateway.messaging import conversations
from gateway.compliance import limits
from gateway.verification import numbers
from gateway.relay import rules as relay
from gateway.api import render
from gateway.messaging.conversations import Person
from gateway.storage import messages as storage
from gateway.storage.messages import Message, StoredOutbound
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.keys import CONVERSATIONS, DISPATCHER, LINE_TYPES, POOL
from gateway.vocabulary import BlockReason, HoldReason, MessageStatus
from gateway.verification.line_types import LineTypes
from gateway.api.validation import check_object, path_id, query_number, read_json, text

routes = web.RouteTableDef()
MAX_BODY = 1600  # the carrier's limit on one message
PERSON = {"phone": str, "name": str}


async def _person(line_types: LineTypes, data: Any, role: str, policy: numbers.Policy) -> Person:
    person = check_object(data, PERSON, ("phone", "name"), where=role)
    name = text(person["name"], f"{role}.name", max_length=60)
    checked = await numbers.check(line_types, person["phone"], field=f"{role}.phone", policy=policy)
    return Person(checked.phone, name)


@routes.post("/v1/conversations")
async def start(request: web.Request) -> web.Response:
    data = await read_json(request, {"community_id": int, "prospect": dict, "advocate": dict, "message": str},
                           required=("community_id", "prospect", "advocate", "message"))
    message = text(data["message"], "message", max_length=MAX_BODY, multiline=True)
    community = await communities.find(request.app[POOL], data["community_id"])
    policy = numbers.Policy.of(community)
    line_types = request.app[LINE_TYPES]
    prospect = await _person(line_types, data["prospect"], "prospect", policy)
    identification = relay.identification_cost(community.sender_id_template, community.sender_name or community.name)
    conversations.check_fits(message, relay.notification_room(prospect_name=prospect.name,
                                                              community_name=community.name,
                                                              identification=identification), "message")
    advocate = await _person(line_types, data["advocate"], "advocate", policy)
    services = request.app[CONVERSATIONS]
    conversation_id, notification = await conversations.start(services, data["community_id"], prospect, advocate,
                                                               message)
    body = render.conversation(await conversations.get(services.db, conversation_id))
    body["notification"] = render.delivery(notification)
    return web.json_response(body, status=201)


@routes.get("/v1/conversations/{id}")
async def get(request: web.Request) -> web.Response:
    return web.json_response(render.conversation(await conversations.get(request.app[POOL], path_id(request))))


@routes.get("/v1/conversations/{id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    db = request.app[POOL]
    conversation = await conversations.get(db, path_id(request))
    after = query_number(request, "after", 0, 0, 10 ** 18, "a message id")
    limit = query_number(request, "limit", 100, 1, 1000, "1 to 1000")
    found = await storage.list_conversation_messages(db, conversation_id=conversation.id, after=after, limit=limit)
    return web.json_response({"messages": [render.message(message) for message in found]})


@routes.post("/v1/conversations/{id}/messages")
async def write(request: web.Request) -> web.Response:
    data = await read_json(request, {"from": str, "body": str}, required=("from", "body"))
    if data["from"] not in ("prospect", "advocate"):
        raise InvalidInput("invalid_field", "from: expected 'prospect' or 'advocate'")
    body = text(data["body"], "body", max_length=MAX_BODY, multiline=True)
    services = request.app[CONVERSATIONS]
    message_id = await conversations.write(services, path_id(request), data["from"], body)
    message = await _message(services.db, message_id)
    refuse_if_unwanted(message)
    return web.json_response(render.message(message), status=201)


def refuse_if_unwanted(message: Message | StoredOutbound) -> None:
    """A send the caller asked for directly, to a phone that said STOP (or is on DND): Conflict (409), the
    message id in the error; the message stays stored as blocked."""
    if message.status == MessageStatus.BLOCKED and message.status_reason in (BlockReason.OPTED_OUT, BlockReason.DND):
        reason = "recipient_opted_out" if message.status_reason == BlockReason.OPTED_OUT else "recipient_on_dnd"
        raise Conflict(reason, f"the recipient does not take messages ({message.status_reason}); stored as blocked",
                       message_id=message.id)


@routes.post("/v1/conversations/{id}/close")
async def close(request: web.Request) -> web.Response:
    data = await read_json(request, {"reason": str}, optional_body=True)
    reason = text(data["reason"], "reason", max_length=200) if data.get("reason") is not None else "closed"
    found = await conversations.close(request.app[CONVERSATIONS], path_id(request), reason)
    return web.json_response(render.conversation(found))


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


@routes.post("/v1/messages/{id}/release")
async def release(request: web.Request) -> web.Response:
    """Send a message held for the monthly limit, over the limit."""
    message = await _held_message(request)
    await limits.release(request.app[POOL], request.app[DISPATCHER], community_id=message.community_id,
                         reason=HoldReason.MONTHLY_LIMIT, ids=[message.id], override=True)
    return web.json_response(render.message(await _message(request.app[POOL], message.id)))


@routes.post("/v1/messages/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    message = await _held_message(request)
    await limits.cancel(request.app[POOL], community_id=message.community_id, reason=HoldReason.MONTHLY_LIMIT,
                        ids=[message.id])
    return web.json_response(render.message(await _message(request.app[POOL], message.id)))


@routes.get("/v1/messages/{id}")
async def get_message(request: web.Request) -> web.Response:
    db = request.app[POOL]
    message = await _message(db, path_id(request))
    out = render.message(message)
    out["history"] = [{"status": event.status, "error_code": event.error_code, "at": render.value(event.created_at)}
                      for event in await storage.list_message_events(db, message_id=message.id)]
    return web.json_response(out)
