"""/v1/verifications: text a one-time code to a phone, then check what the person typed."""

from __future__ import annotations

from typing import Any, Mapping

from aiohttp import web

from gateway.platform import communities
from gateway.verification import numbers
from gateway.verification import codes as verification
from gateway.api import render
from gateway.api.conversations import refuse_if_unwanted
from gateway.keys import CONTEXT
from gateway.api.validation import path_id, read_json

routes = web.RouteTableDef()


def _verification(row: Mapping[str, Any]) -> dict:
    status = "expired" if row["status"] == "pending" and row["is_expired"] else row["status"]
    return {"id": row["id"], "community_id": row["community_id"], "phone": row["phone"], "status": status,
            "expires_at": render.value(row["expires_at"]), "created_at": render.value(row["created_at"]),
            "message": {"id": row["message_id"], "status": row["message_status"],
                        "status_reason": row["message_reason"]}}


@routes.post("/v1/verifications")
async def start(request: web.Request) -> web.Response:
    data = await read_json(request, {"community_id": int, "phone": str}, required=("community_id", "phone"))
    ctx = request.app[CONTEXT]
    community = await communities.get(ctx, data["community_id"])
    checked = await numbers.check(ctx.line_types, data["phone"], field="phone", policy=numbers.Policy.of(community))
    verification_id = await verification.start(ctx, community, checked.phone)
    row = await verification.get(ctx, verification_id)
    refuse_if_unwanted({"id": row["message_id"], "status": row["message_status"], "status_reason": row["message_reason"]})
    body = _verification(row)
    body["line_type"] = checked.line_type
    return web.json_response(body, status=201)


@routes.get("/v1/verifications/{id}")
async def get(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return web.json_response(_verification(await verification.get(ctx, path_id(request))))


@routes.post("/v1/verifications/{id}/check")
async def check(request: web.Request) -> web.Response:
    data = await read_json(request, {"code": str}, required=("code",))
    result = await verification.check(request.app[CONTEXT], path_id(request), data["code"].strip())
    body: dict[str, Any] = {"status": result.status}
    if result.status == "pending":
        body["attempts_left"] = result.attempts_left
    return web.json_response(body)
