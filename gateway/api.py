"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations and messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from aiohttp import web

from gateway import communities, conversations
from gateway.conversations import Person
from gateway.db import QUERIES
from gateway.errors import InvalidInput, NotFound
from gateway.keys import CONFIG, CONTEXT
from gateway.phones import to_e164
from gateway.validation import check_object, path_id, read_json, text

MAX_BODY = 1600  # the carrier's limit on one message
MODES = ("test", "live")
PERSON = {"phone": str, "name": str}
MESSAGE_FIELDS = ("id", "conversation_id", "community_id", "direction", "kind", "status", "carrier_sid",
                  "error_code", "error_message", "attempts", "body")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _mode(value: str | None) -> str | None:
    if value is not None and value not in MODES:
        raise InvalidInput("invalid_field", "mode: expected 'test' or 'live'")
    return value


def _days(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 3650:
        raise InvalidInput("invalid_field", "inactivity_days: expected 1 to 3650")
    return value


def community_json(community: Mapping[str, Any]) -> dict:
    return {key: _json(value) for key, value in community.items()}


def conversation_json(row: Mapping[str, Any]) -> dict:
    return {
        "id": row["id"], "community_id": row["community_id"], "proxy_number": row["proxy_number"],
        "code": row["code"], "status": row["status"],
        "prospect": {"phone": row["prospect_phone"], "name": row["prospect_name"]},
        "advocate": {"phone": row["advocate_phone"], "name": row["advocate_name"]},
        "created_at": _json(row["created_at"]), "last_activity_at": _json(row["last_activity_at"]),
        "closed_at": _json(row["closed_at"]), "closed_reason": row["closed_reason"],
    }


def message_json(row: Mapping[str, Any]) -> dict:
    out = {name: row[name] for name in MESSAGE_FIELDS}
    out.update({"from": row["from_number"], "to": row["to_number"], "media_urls": list(row["media_urls"]),
                "created_at": _json(row["created_at"]), "updated_at": _json(row["updated_at"])})
    return out


async def create_community(request: web.Request) -> web.Response:
    data = await read_json(request, {"name": str, "mode": str, "numbers": list, "inactivity_days": int},
                           required=("name", "numbers"))
    name = text(data["name"], "name", max_length=100)
    region = request.app[CONFIG].relay.default_region
    numbers = [to_e164(n, field=f"numbers[{i}]", region=region) for i, n in enumerate(data["numbers"])]
    if not numbers or len(set(numbers)) != len(numbers):
        raise InvalidInput("invalid_field", "numbers: expected at least one number, each once")
    days = _days(data.get("inactivity_days")) or request.app[CONFIG].relay.default_inactivity_days
    ctx = request.app[CONTEXT]
    community_id = await communities.create(ctx, name, _mode(data.get("mode")) or "test", numbers, days)
    return web.json_response(community_json(await communities.get(ctx, community_id)), status=201)


async def get_community(request: web.Request) -> web.Response:
    community = await communities.get(request.app[CONTEXT], path_id(request))
    return web.json_response(community_json(community))


async def update_community(request: web.Request) -> web.Response:
    data = await read_json(request, {"name": str, "mode": str, "inactivity_days": int})
    name = text(data["name"], "name", max_length=100) if data.get("name") is not None else None
    community = await communities.update(request.app[CONTEXT], path_id(request), name=name,
                                         mode=_mode(data.get("mode")), inactivity_days=_days(data.get("inactivity_days")))
    return web.json_response(community_json(community))


def _person(data: Any, role: str, region: str) -> Person:
    person = check_object(data, PERSON, ("phone", "name"), where=role)
    return Person(to_e164(person["phone"], field=f"{role}.phone", region=region),
                  text(person["name"], f"{role}.name", max_length=60))


async def start_conversation(request: web.Request) -> web.Response:
    data = await read_json(request, {"community_id": int, "prospect": dict, "advocate": dict, "message": str},
                           required=("community_id", "prospect", "advocate", "message"))
    region = request.app[CONFIG].relay.default_region
    prospect, advocate = _person(data["prospect"], "prospect", region), _person(data["advocate"], "advocate", region)
    message = text(data["message"], "message", max_length=MAX_BODY, multiline=True)
    ctx = request.app[CONTEXT]
    conversation_id = await conversations.start(ctx, data["community_id"], prospect, advocate, message)
    return web.json_response(conversation_json(await conversations.get(ctx, conversation_id)), status=201)


async def get_conversation(request: web.Request) -> web.Response:
    return web.json_response(conversation_json(await conversations.get(request.app[CONTEXT], path_id(request))))


async def list_messages(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    conversation = await conversations.get(ctx, path_id(request))
    after, limit = request.query.get("after", "0"), request.query.get("limit", "100")
    if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 1000 or len(after) > 18:
        raise InvalidInput("invalid_query", "after: a message id; limit: 1 to 1000")
    rows = await ctx.pool.fetch(QUERIES.list_conversation_messages, conversation["id"], int(after), int(limit))
    return web.json_response({"messages": [message_json(row) for row in rows]})


async def write_message(request: web.Request) -> web.Response:
    data = await read_json(request, {"from": str, "body": str}, required=("from", "body"))
    if data["from"] not in ("prospect", "advocate"):
        raise InvalidInput("invalid_field", "from: expected 'prospect' or 'advocate'")
    body = text(data["body"], "body", max_length=MAX_BODY, multiline=True)
    ctx = request.app[CONTEXT]
    message_id = await conversations.write(ctx, path_id(request), data["from"], body)
    return web.json_response(message_json(await ctx.pool.fetchrow(QUERIES.find_message, message_id)), status=201)


async def close_conversation(request: web.Request) -> web.Response:
    data = await read_json(request, {"reason": str}, optional_body=True)
    reason = text(data["reason"], "reason", max_length=200) if data.get("reason") is not None else "closed"
    row = await conversations.close(request.app[CONTEXT], path_id(request), reason)
    return web.json_response(conversation_json(row))


async def get_message(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    message_id = path_id(request)
    row = await ctx.pool.fetchrow(QUERIES.find_message, message_id)
    if row is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    history = await ctx.pool.fetch(QUERIES.list_message_events, message_id)
    out = message_json(row)
    out["history"] = [{"status": e["status"], "error_code": e["error_code"], "at": _json(e["created_at"])}
                      for e in history]
    return web.json_response(out)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/communities", create_community)
    app.router.add_get("/v1/communities/{id}", get_community)
    app.router.add_patch("/v1/communities/{id}", update_community)
    app.router.add_post("/v1/conversations", start_conversation)
    app.router.add_get("/v1/conversations/{id}", get_conversation)
    app.router.add_get("/v1/conversations/{id}/messages", list_messages)
    app.router.add_post("/v1/conversations/{id}/messages", write_message)
    app.router.add_post("/v1/conversations/{id}/close", close_conversation)
    app.router.add_get("/v1/messages/{id}", get_message)
