"""/v1/communities/{id}/numbers: add a number to a community, or take one from it (README, "Numbers")."""

from __future__ import annotations

from aiohttp import web

from gateway.api import render
from gateway.api.contract import json_answer
from gateway.api.validation import path_id, read_json
from gateway.errors import InvalidInput
from gateway.keys import CARRIERS, CONFIG, COUNTERS, POOL, ROUTES
from gateway.platform import communities
from gateway.relay.phones import to_e164

routes = web.RouteTableDef()


@routes.post("/v1/communities/{id}/numbers")
async def add(request: web.Request) -> web.Response:
    """{"phone", "carrier"?}: carrier names a configured carrier (absent or null: the default). 201 with the
    community; 409 number_taken when a community has the number."""
    data = await read_json(request, {"phone": str, "carrier": str}, required=("phone",))
    pool, served = request.app[POOL], request.app[CARRIERS]
    community = await communities.find(pool, path_id(request))
    carrier = data.get("carrier")
    if carrier is not None and carrier not in served:
        raise InvalidInput("unknown_carrier", f"carrier: expected one of {', '.join(served.names)}")
    phone = to_e164(data["phone"], field="phone", region=community.default_region)
    await communities.add_number(pool, community.id, phone, carrier)
    overview = await communities.overview(request.app[COUNTERS], request.app[CONFIG].limits, community.id)
    return json_answer(render.community(overview, served.default.name), 201)


@routes.delete("/v1/communities/{id}/numbers/{phone}")
async def remove(request: web.Request) -> web.Response:
    """?close_conversations=true closes the number's open conversations (reason number_removed) instead of
    refusing (409 number_in_use). 200 {"phone", "closed_conversations": [ids], "canceled_messages": n}."""
    close = request.query.get("close_conversations", "false")
    if close not in ("true", "false"):
        raise InvalidInput("invalid_query", "close_conversations: expected true or false")
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    removed = await communities.remove_number(pool, request.app[ROUTES], community.id, phone, close == "true")
    return web.json_response({"phone": phone, "closed_conversations": removed.closed,
                              "canceled_messages": removed.canceled})
