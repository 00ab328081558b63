"""/v1/communities: create, read and change a community; its allow list for test mode."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from aiohttp import web

from gateway import communities, numbers
from gateway.api import render
from gateway.communities import Settings
from gateway.errors import InvalidInput
from gateway.keys import CONFIG, CONTEXT
from gateway.phones import to_e164
from gateway.validation import path_id, read_json, text

routes = web.RouteTableDef()
SETTINGS = {"name": str, "mode": str, "inactivity_days": int, "countries": list, "default_region": str,
            "require_verification": bool, "unknown_line_type": str}


def _choice(data: dict, name: str, choices: tuple[str, ...]) -> str | None:
    chosen = data.get(name)
    if chosen is not None and chosen not in choices:
        raise InvalidInput("invalid_field", f"{name}: expected one of {', '.join(choices)}")
    return chosen


def _given(data: dict[str, Any], name: str, check: Callable[[Any, str], Any]) -> Any:
    return check(data[name], name) if data.get(name) is not None else None


def _settings(data: dict[str, Any]) -> Settings:
    days = data.get("inactivity_days")
    if days is not None and not 1 <= days <= 3650:
        raise InvalidInput("invalid_field", "inactivity_days: expected 1 to 3650")
    return Settings(
        name=_given(data, "name", lambda value, name: text(value, name, max_length=100)),
        mode=_choice(data, "mode", ("test", "live")),
        inactivity_days=days,
        countries=_given(data, "countries", numbers.check_countries),
        default_region=_given(data, "default_region", numbers.check_region),
        require_verification=data.get("require_verification"),
        unknown_line_type=_choice(data, "unknown_line_type", ("accept", "refuse")),
    )


@routes.post("/v1/communities")
async def create(request: web.Request) -> web.Response:
    data = await read_json(request, {**SETTINGS, "numbers": list}, required=("name", "numbers"))
    settings = _settings(data)
    config = request.app[CONFIG].relay
    settings = replace(settings, default_region=settings.default_region or config.default_region,
                       inactivity_days=settings.inactivity_days or config.default_inactivity_days)
    region = settings.default_region
    # The community's own numbers send; they are parsed, not judged as recipients.
    owned = [to_e164(n, field=f"numbers[{i}]", region=region) for i, n in enumerate(data["numbers"])]
    if not owned or len(set(owned)) != len(owned):
        raise InvalidInput("invalid_field", "numbers: expected at least one number, each once")
    ctx = request.app[CONTEXT]
    community_id = await communities.create(ctx, settings, owned)
    return web.json_response(render.community(await communities.get(ctx, community_id)), status=201)


@routes.get("/v1/communities/{id}")
async def get(request: web.Request) -> web.Response:
    return web.json_response(render.community(await communities.get(request.app[CONTEXT], path_id(request))))


@routes.patch("/v1/communities/{id}")
async def update(request: web.Request) -> web.Response:
    data = await read_json(request, SETTINGS)
    community = await communities.update(request.app[CONTEXT], path_id(request), _settings(data))
    return web.json_response(render.community(community))


def _allow_list(rows) -> dict:
    return {"numbers": [row["phone"] for row in rows]}


@routes.get("/v1/communities/{id}/allow-list")
async def allow_list(request: web.Request) -> web.Response:
    return web.json_response(_allow_list(await communities.allowed(request.app[CONTEXT], path_id(request))))


@routes.post("/v1/communities/{id}/allow-list")
async def allow(request: web.Request) -> web.Response:
    data = await read_json(request, {"numbers": list}, required=("numbers",))
    ctx = request.app[CONTEXT]
    community = await communities.get(ctx, path_id(request))
    if not data["numbers"] or len(data["numbers"]) > 100:
        raise InvalidInput("invalid_field", "numbers: expected 1 to 100 numbers")
    policy = numbers.Policy.of(community)
    checked = [await numbers.check(ctx.line_types, raw, field=f"numbers[{i}]", policy=policy)
               for i, raw in enumerate(data["numbers"])]
    await communities.allow(ctx, community["id"], [c.phone for c in checked])
    return web.json_response(_allow_list(await communities.allowed(ctx, community["id"])))


@routes.delete("/v1/communities/{id}/allow-list/{phone}")
async def disallow(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    community = await communities.get(ctx, path_id(request))
    phone = to_e164(request.match_info["phone"], field="phone", region=community["default_region"])
    await communities.disallow(ctx, community["id"], phone)
    return web.Response(status=204)
