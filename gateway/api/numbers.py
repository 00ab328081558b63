"""/v1/communities/{id}/numbers: add a number to a community, or take one from it (README, "Numbers")."""

from __future__ import annotations

from aiohttp import web

from gateway.api import list_types as lt
from gateway.api import render, types
from gateway.api.contract import Routes
from gateway.api.validation import path_id
from gateway.errors import InvalidInput
from gateway.keys import CARRIERS, CONFIG, COUNTERS, POOL, ROUTES
from gateway.platform import communities
from gateway.relay.phones import to_e164

routes = Routes("numbers")


@routes.post("/v1/communities/{id}/numbers", body=lt.NewNumber, answer=types.Community, status=201,
             errors=("community_not_found", "invalid_number", "unknown_carrier", "number_taken", "number_in_use"))
async def add(request: web.Request, body: lt.NewNumber) -> types.Community:
    """Add a number to a community
    number_taken: a community has it; number_in_use (with open_conversations): it is a participant's phone in an
    open conversation. Answers the community."""
    pool, served = request.app[POOL], request.app[CARRIERS]
    community = await communities.find(pool, path_id(request))
    if body.carrier is not None and body.carrier not in served:
        raise InvalidInput("unknown_carrier", f"carrier: expected one of {', '.join(served.names)}")
    phone = to_e164(body.phone, field="phone", region=community.default_region)
    await communities.add_number(pool, community.id, phone, body.carrier)
    overview = await communities.overview(request.app[COUNTERS], request.app[CONFIG].limits, community.id)
    return render.community(overview, served.default.name)


@routes.delete("/v1/communities/{id}/numbers/{phone}", query=lt.NumberRemoval, answer=lt.RemovedNumber,
               errors=("community_not_found", "invalid_number", "number_not_found", "number_in_use", "last_number"))
async def remove(request: web.Request, query: lt.NumberRemoval) -> lt.RemovedNumber:
    """Take a number from a community
    With open conversations on it: 409 number_in_use (with open_conversations), unless close_conversations=true
    closes them (reason number_removed). Its queued and held texts are canceled."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community.default_region)
    removed = await communities.remove_number(pool, request.app[ROUTES], community.id, phone,
                                              query.close_conversations == "true")
    return lt.RemovedNumber(phone=phone, closed_conversations=removed.closed, canceled_messages=removed.canceled)
