"""/v1/communities: settings, the allow list, contacts, DND, held messages and restrictions."""

from __future__ import annotations

import csv
import io
from typing import Any, Callable
from urllib.parse import urlsplit

from aiohttp import web

from gateway.platform import communities
from gateway.compliance import preferences as compliance
from gateway.compliance import limits
from gateway.compliance import rates as monitoring
from gateway.verification import numbers
from gateway.compliance import timezones
from gateway.api import render
from gateway.errors import InvalidInput, Malformed
from gateway.keys import CARRIERS, CONFIG, COUNTERS, DISPATCHER, LINE_TYPES, POOL
from gateway.storage import held as held_rows
from gateway.storage.communities import Community
from gateway.vocabulary import CommunityMode, EventType, HoldReason, Preference, UnknownLineType
from gateway.relay.phones import to_e164
from gateway.api.validation import path_id, query_number, query_text, read_json, storable, text

routes = web.RouteTableDef()


def _choice(*choices: str) -> Callable[[Any, str], str]:
    def check(value: Any, name: str) -> str:
        if value not in choices:
            raise InvalidInput("invalid_field", f"{name}: expected one of {', '.join(choices)}")
        return value
    return check


def _between(low: int, high: int) -> Callable[[Any, str], int]:
    def check(value: Any, name: str) -> int:
        if not low <= value <= high:
            raise InvalidInput("invalid_field", f"{name}: expected {low} to {high}")
        return value
    return check


def _text(limit: int, must_contain: str = "") -> Callable[[Any, str], str]:
    def check(value: Any, name: str) -> str:
        value = text(value, name, max_length=limit)
        if must_contain not in value:
            raise InvalidInput("invalid_field", f"{name}: must contain {must_contain}")
        return value
    return check


def _url(value: Any, name: str) -> str:
    if not storable(value) or any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise InvalidInput("invalid_field", f"{name}: expected an http(s) URL (no spaces or control characters)")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 500:
        raise InvalidInput("invalid_field", f"{name}: expected an http(s) URL")
    return value


async def _usable_timezone(request: web.Request, settings: dict[str, Any]) -> dict[str, Any]:
    """The time zone is checked against what Postgres and zoneinfo know (see gateway.timezones): a name only
    one of them takes would stop the daily reset or the limits' periods."""
    if "timezone" in settings:
        await timezones.check(request.app[POOL], settings["timezone"], "timezone")
    return settings


def _levels(value: Any, name: str) -> list[int]:
    if not 1 <= len(value) <= 20 or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10 ** 6
                                            for v in value):
        raise InvalidInput("invalid_field", f"{name}: expected 1 to 20 daily limits, each 1 to 1000000")
    return value


def _event_types(value: Any, name: str) -> list[str]:
    """A filter of event types: at least one, each a known type (vocabulary.EventType), no repeats."""
    known = set(EventType)
    if not value or not all(isinstance(v, str) and v in known for v in value) or len(set(value)) != len(value):
        raise InvalidInput("invalid_field", f"{name}: expected a list of distinct event types, of "
                           + ", ".join(EventType))
    return value


# setting -> (JSON type, may be null, check)
SETTINGS: dict[str, tuple[type, bool, Callable[[Any, str], Any]]] = {
    "name": (str, False, _text(100)),
    "mode": (str, False, _choice(*CommunityMode)),
    "inactivity_days": (int, False, _between(1, 3650)),
    "countries": (list, False, lambda value, name: numbers.check_countries(value, name)),
    "default_region": (str, False, lambda value, name: numbers.check_region(value, name)),
    "require_verification": (bool, False, lambda value, name: value),
    "unknown_line_type": (str, False, _choice(*UnknownLineType)),
    "sender_name": (str, True, _text(40)),
    "sender_id_template": (str, False, _text(200, "{message}")),
    "help_text": (str, True, _text(320)),
    "opt_out_webhook_url": (str, True, _url),
    "alert_webhook_url": (str, True, _url),
    "event_url": (str, True, _url),
    "event_types": (list, True, _event_types),
    "timezone": (str, False, _text(64)),  # and see _usable_timezone
    "daily_limit_levels": (list, True, _levels),
    "daily_limit_ceiling": (int, True, _between(1, 10 ** 6)),
    "monthly_limit": (int, True, _between(0, 10 ** 9)),
}


def _settings(data: dict[str, Any]) -> dict[str, Any]:
    """Only the settings the body names, each checked; null only where a setting may be cleared."""
    out = {}
    for name, value in data.items():
        if name not in SETTINGS:
            continue
        _, nullable, check = SETTINGS[name]
        if value is None and not nullable:
            raise InvalidInput("invalid_field", f"{name}: must not be null")
        out[name] = None if value is None else check(value, name)
    return out


async def _overview(request: web.Request, community_id: int) -> communities.Overview:
    return await communities.overview(request.app[COUNTERS], request.app[CONFIG].limits, community_id)


async def _shown(request: web.Request, community_id: int) -> dict:
    """The community as the API shows it; NotFound when there is none."""
    return render.community(await _overview(request, community_id), request.app[CARRIERS].default.name)


@routes.post("/v1/communities")
async def create(request: web.Request) -> web.Response:
    fields = {name: kind for name, (kind, _, _) in SETTINGS.items()}
    data = await read_json(request, {**fields, "numbers": list}, required=("name", "numbers"))
    settings = await _usable_timezone(request, _settings(data))
    config = request.app[CONFIG].relay
    settings.setdefault("default_region", config.default_region)
    settings.setdefault("inactivity_days", config.default_inactivity_days)
    owned = _owned_numbers(request, data["numbers"], settings["default_region"])
    if not owned:
        raise InvalidInput("invalid_field", "numbers: expected at least one number, each once")
    community_id = await communities.create(request.app[POOL], settings.pop("name"), settings, owned)
    return web.json_response(await _shown(request, community_id), status=201)


NUMBER_FIELDS = frozenset({"phone", "carrier"})  # of a number given as an object


def _owned_numbers(request: web.Request, items: list, region: str) -> dict[str, str | None]:
    """numbers: each a phone, or {"phone", "carrier"} naming a configured carrier (absent or null: the default
    carrier). The community's own numbers send; they are parsed, not judged as recipients. Returns phone ->
    carrier, in the given order; empty when a number is given twice (the caller refuses that)."""
    owned: dict[str, str | None] = {}
    for i, item in enumerate(items):
        carrier = None
        if isinstance(item, dict):
            if unknown := sorted(item.keys() - NUMBER_FIELDS):
                raise Malformed("unknown_field", f"numbers[{i}].{unknown[0][:40]}: unknown field")
            carrier, item = item.get("carrier"), item.get("phone")
            if carrier is not None and (not isinstance(carrier, str) or carrier not in request.app[CARRIERS]):
                served = ", ".join(request.app[CARRIERS].names)
                raise InvalidInput("unknown_carrier", f"numbers[{i}].carrier: expected one of {served}")
        phone = to_e164(item, field=f"numbers[{i}]", region=region)
        owned[phone] = carrier
    return owned if len(owned) == len(items) else {}


@routes.get("/v1/communities/{id}")
async def get(request: web.Request) -> web.Response:
    return web.json_response(await _shown(request, path_id(request)))


@routes.patch("/v1/communities/{id}")
async def update(request: web.Request) -> web.Response:
    data = await read_json(request, {name: kind for name, (kind, _, _) in SETTINGS.items()})
    settings = await _usable_timezone(request, _settings(data))
    overview = await communities.update(request.app[COUNTERS], request.app[CONFIG].limits, path_id(request), settings)
    return web.json_response(render.community(overview, request.app[CARRIERS].default.name))


def _allow_list(numbers) -> dict:
    return {"numbers": [number.phone for number in numbers]}


@routes.get("/v1/communities/{id}/allow-list")
async def allow_list(request: web.Request) -> web.Response:
    return web.json_response(_allow_list(await communities.allowed(request.app[POOL], path_id(request))))


@routes.post("/v1/communities/{id}/allow-list")
async def allow(request: web.Request) -> web.Response:
    data = await read_json(request, {"numbers": list}, required=("numbers",))
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    if not data["numbers"] or len(data["numbers"]) > 100:
        raise InvalidInput("invalid_field", "numbers: expected 1 to 100 numbers")
    policy = numbers.Policy.of(community)
    checked = [await numbers.check(request.app[LINE_TYPES], raw, field=f"numbers[{i}]", policy=policy)
               for i, raw in enumerate(data["numbers"])]
    await communities.allow(pool, community.id, [c.phone for c in checked])
    return web.json_response(_allow_list(await communities.allowed(pool, community.id)))


async def _phone_in_path(request: web.Request) -> tuple[Community, str]:
    community = await communities.find(request.app[POOL], path_id(request))
    return community, to_e164(request.match_info["phone"], field="phone", region=community.default_region)


@routes.delete("/v1/communities/{id}/allow-list/{phone}")
async def disallow(request: web.Request) -> web.Response:
    community, phone = await _phone_in_path(request)
    await communities.disallow(request.app[POOL], community.id, phone)
    return web.Response(status=204)


@routes.delete("/v1/communities/{id}/dnd/{phone}")
async def lift_dnd(request: web.Request) -> web.Response:
    community, phone = await _phone_in_path(request)
    await compliance.lift_dnd(request.app[POOL], community.id, phone)
    return web.Response(status=204)


@routes.get("/v1/communities/{id}/contacts")
async def contacts(request: web.Request) -> web.Response:
    """Contacts and their SMS preference; ?preference= filters, Accept: text/csv exports."""
    preference = request.query.get("preference")
    if preference is not None and preference not in tuple(Preference):
        raise InvalidInput("invalid_query", "preference: expected unknown, opted_in or opted_out")
    as_csv = "text/csv" in request.headers.get("Accept", "")
    limit = 100_000 if as_csv else _limit(request)
    rows = await communities.contacts(request.app[POOL], path_id(request),
                                      None if preference is None else Preference(preference),
                                      query_text(request, "after"), limit)
    if not as_csv:
        return web.json_response({"contacts": [render.contact(row) for row in rows]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(render.CONTACT_FIELDS)
    writer.writerows([["" if cell is None else cell for cell in render.contact(row).values()] for row in rows])
    return web.Response(text=out.getvalue(), content_type="text/csv",
                        headers={"Content-Disposition": "attachment; filename=contacts.csv"})


def _limit(request: web.Request) -> int:
    return query_number(request, "limit", 100, 1, 1000, "1 to 1000")


@routes.get("/v1/communities/{id}/held")
async def held(request: web.Request) -> web.Response:
    """The monthly review queue (or ?reason=daily_limit|restricted|carrier_not_served), oldest first."""
    reason = request.query.get("reason", HoldReason.MONTHLY_LIMIT)
    if reason not in tuple(HoldReason):
        raise InvalidInput("invalid_query", "reason: expected one of " + ", ".join(HoldReason))
    after = query_number(request, "after", 0, 0, 10 ** 18, "a message id")
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    messages = await held_rows.list_held(pool, community_id=community.id, reason=HoldReason(reason), after=after,
                                         limit=_limit(request))
    return web.json_response({"messages": [render.message(message) for message in messages]})


async def _held_ids(request: web.Request) -> list[int] | None:
    data = await read_json(request, {"ids": list}, optional_body=True)
    ids = data.get("ids")
    if ids is not None and (not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2 ** 62 for i in ids)
                            or not 1 <= len(ids) <= 1000):
        raise InvalidInput("invalid_field", "ids: expected 1 to 1000 message ids")
    return ids


@routes.post("/v1/communities/{id}/held/release")
async def release_held(request: web.Request) -> web.Response:
    ids = await _held_ids(request)
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    released = await limits.release(pool, request.app[DISPATCHER], community_id=community.id,
                                    reason=HoldReason.MONTHLY_LIMIT, ids=ids, override=True)
    return web.json_response({"released": released})


@routes.post("/v1/communities/{id}/held/cancel")
async def cancel_held(request: web.Request) -> web.Response:
    ids = await _held_ids(request)
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    canceled = await limits.cancel(pool, community_id=community.id, reason=HoldReason.MONTHLY_LIMIT, ids=ids)
    return web.json_response({"canceled": canceled})


@routes.post("/v1/communities/{id}/restriction/lift")
async def lift_restriction(request: web.Request) -> web.Response:
    await monitoring.lift(request.app[POOL], request.app[DISPATCHER], path_id(request))
    return web.json_response(await _shown(request, path_id(request)))
