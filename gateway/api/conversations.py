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
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.keys import CONTEXT
from gateway.api.validation import check_object, path_id, query_number, read_json, text
from gateway.vocabulary import HoldReason

routes = web.RouteTableDef()
MAX_BODY = 1600  # the carrier's limit on one message
PERSON = {"phone": str, "name": str}


async def _person(ctx, data: Any, role: str, policy: numbers.Policy) -> Person:
    person = check_object(data, PERSON, ("phone", "name"), where=role)
    name = text(person["name"], f"{role}.name", max_length=60)
    checked = await numbers.check(ctx.line_types, person["phone"], field=f"{role}.phone", policy=policy)
    return Person(checked.phone, name)


@routes.post("/v1/conversations")
async def start(request: web.Request) -> web.Response:
    data = await read_json(request, {"community_id": int, "prospect": dict, "advocate": dict, "message": str},
                           required=("community_id", "prospect", "advocate", "message"))
    message = text(data["message"], "message", max_length=MAX_BODY, multiline=True)
    ctx = request.app[CONTEXT]
    community = await communities.find(ctx.pool, data["community_id"])
    policy = numbers.Policy.of(community)
    prospect = await _person(ctx, data["prospect"], "prospect", policy)
    identification = relay.identification_cost(community.sender_id_template, community.sender_name or community.name)
    conversations.check_fits(message, relay.notification_room(prospect_name=prospect.name,
                                                              community_name=community.name,
                                                              identification=identification), "message")
    advocate = await _person(ctx, data["advocate"], "advocate", policy)
    conversation_id, notification = await conversations.start(ctx, data["community_id"], prospect, advocate, message)
    body = render.conversation(await conversations.get(ctx, conversation_id))
    body["notification"] = render.delivery(notification)
    return web.json_response(body, status=201)


@routes.get("/v1/conversations/{id}")
async def get(request: web.Request) -> web.Response:
    return web.json_response(render.conversation(await conversations.get(request.app[CONTEXT], path_id(request))))


@routes.get("/v1/conversations/{id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    conversation = await conversations.get(ctx, path_id(request))
    after = query_number(request, "after", 0, 0, 10 ** 18, "a message id")
    limit = query_number(request, "limit", 100, 1, 1000, "1 to 1000")
    rows = await ctx.pool.fetch(QUERIES.list_conversation_messages, conversation["id"], after, limit)
    return web.json_response({"messages": [render.message(row) for row in rows]})


@routes.post("/v1/conversations/{id}/messages")
async def write(request: web.Request) -> web.Response:
    data = await read_json(request, {"from": str, "body": str}, required=("from", "body"))
    if data["from"] not in ("prospect", "advocate"):
        raise InvalidInput("invalid_field", "from: expected 'prospect' or 'advocate'")
    body = text(data["body"], "body", max_length=MAX_BODY, multiline=True)
    ctx = request.app[CONTEXT]
    message_id = await conversations.write(ctx, path_id(request), data["from"], body)
    message = await ctx.pool.fetchrow(QUERIES.find_message, message_id)
    refuse_if_unwanted(message)
    return web.json_response(render.message(message), status=201)


def refuse_if_unwanted(message) -> None:
    """A send the caller asked for directly, to a phone that said STOP (or is on DND): 409, stored as blocked."""
    if message["status"] == "blocked" and message["status_reason"] in ("opted_out", "dnd"):
        reason = "recipient_opted_out" if message["status_reason"] == "opted_out" else "recipient_on_dnd"
        raise Conflict(reason, f"the recipient does not take messages ({message['status_reason']}); stored as blocked",
                       message_id=message["id"])


@routes.post("/v1/conversations/{id}/close")
async def close(request: web.Request) -> web.Response:
    data = await read_json(request, {"reason": str}, optional_body=True)
    reason = text(data["reason"], "reason", max_length=200) if data.get("reason") is not None else "closed"
    row = await conversations.close(request.app[CONTEXT], path_id(request), reason)
    return web.json_response(render.conversation(row))


async def _held_message(request: web.Request):
    ctx = request.app[CONTEXT]
    message_id = path_id(request)
    row = await ctx.pool.fetchrow(QUERIES.find_message, message_id)
    if row is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    if (row["status"], row["status_reason"]) != ("held", "monthly_limit"):
        raise Conflict("message_not_held", f"message {message_id} is {row['status']}, not held for the monthly limit")
    return ctx, row


@routes.post("/v1/messages/{id}/release")
async def release(request: web.Request) -> web.Response:
    """Send a message held for the monthly limit, over the limit."""
    ctx, row = await _held_message(request)
    await limits.release(ctx.pool, ctx.dispatcher, community_id=row["community_id"], reason=HoldReason.MONTHLY_LIMIT,
                         ids=[row["id"]], override=True)
    return web.json_response(render.message(await ctx.pool.fetchrow(QUERIES.find_message, row["id"])))


@routes.post("/v1/messages/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    ctx, row = await _held_message(request)
    await limits.cancel(ctx.pool, community_id=row["community_id"], reason=HoldReason.MONTHLY_LIMIT, ids=[row["id"]])
    return web.json_response(render.message(await ctx.pool.fetchrow(QUERIES.find_message, row["id"])))


@routes.get("/v1/messages/{id}")
async def get_message(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    message_id = path_id(request)
    row = await ctx.pool.fetchrow(QUERIES.find_message, message_id)
    if row is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    history = await ctx.pool.fetch(QUERIES.list_message_events, message_id)
    out = render.message(row)
    out["history"] = [{"status": e["status"], "error_code": e["error_code"], "at": render.value(e["created_at"])}
                      for e in history]
    return web.json_response(out)
