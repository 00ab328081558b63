"""/v1/verifications: text a one-time code to a phone, then check what the person typed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.platform import communities
from gateway.verification import numbers
from gateway.verification import codes as verification
from gateway.api import render
from gateway.api.conversations import refuse_if_unwanted
from gateway.keys import LINE_TYPES, POOL, VERIFIER
from gateway.api.validation import path_id, read_json
from gateway.vocabulary import VerificationStatus

routes = web.RouteTableDef()


@routes.post("/v1/verifications")
async def start(request: web.Request) -> web.Response:
    data = await read_json(request, {"community_id": int, "phone": str}, required=("community_id", "phone"))
    pool = request.app[POOL]
    community = await communities.find(pool, data["community_id"])
    checked = await numbers.check(request.app[LINE_TYPES], data["phone"], field="phone",
                                  policy=numbers.Policy.of(community))
    started = await request.app[VERIFIER].start(community, checked.phone)
    refuse_if_unwanted(started.message)
    row = await verification.get(pool, started.verification_id)
    body = render.verification(row)
    body["line_type"] = checked.line_type
    return web.json_response(body, status=201)


@routes.get("/v1/verifications/{id}")
async def get(request: web.Request) -> web.Response:
    return web.json_response(render.verification(await verification.get(request.app[POOL], path_id(request))))


@routes.post("/v1/verifications/{id}/check")
async def check(request: web.Request) -> web.Response:
    data = await read_json(request, {"code": str}, required=("code",))
    result = await request.app[VERIFIER].check(path_id(request), data["code"].strip())
    body: dict[str, Any] = {"status": result.status}
    if result.status == VerificationStatus.PENDING:
        body["attempts_left"] = result.attempts_left
    return web.json_response(body)
