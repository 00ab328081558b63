"""/v1/communities: settings, the allow list, DND, held messages and restrictions (contacts: api/contacts.py)."""

from __future__ import annotations

from typing import Any, Callable

from aiohttp import web
from msgspec import UNSET
from yarl import URL

from gateway.platform import communities
from gateway.compliance import preferences as compliance
from gateway.compliance import limits
from gateway.compliance import rates as monitoring
from gateway.verification import numbers
from gateway.compliance import quiet_hours, timezones
from gateway.api import render, types
from gateway.api.contract import PHONE_ERRORS, Routes
from gateway.errors import InvalidInput
from gateway.keys import CARRIERS, CONFIG, COUNTERS, DISPATCHER, LINE_TYPES, POOL
from gateway.storage import held as held_rows
from gateway.storage.communities import Community
from gateway.vocabulary import HoldReason
from gateway.relay.phones import to_e164
from gateway.api.validation import path_id, storable

routes = Routes("communities")
COMMUNITY_ERRORS = ("community_not_found",)


def _url(value: str, name: str) -> str:
    if not storable(value) or any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise InvalidInput("invalid_field", f"{name}: expected an http(s) URL (no spaces or control characters)")
    try:  # read as aiohttp will read it to post: a URL it cannot post to is refused now, not at every try
        url = URL(value)
        usable = url.scheme in ("http", "https") and bool(url.host) and 0 < (url.port or 0) < 65536
    except ValueError:  # an unclosed IPv6 bracket, a port out of range or not a number, a bad IDNA label
        usable = False
    if not usable:
        raise InvalidInput("invalid_field", f"{name}: expected an http(s) URL")
    return value


def _template(value: str, name: str) -> str:
    if "{message}" not in value:
        raise InvalidInput("invalid_field", f"{name}: must contain {{message}}")
    return value


SETTINGS = types.Settings.__struct_fields__  # every setting's name
# What msgspec cannot check of a setting (types.Settings checks types, lengths, ranges and choices).
CHECKS: dict[str, Callable[[Any, str], Any]] = {
    "countries": lambda value, name: numbers.check_countries(value, name),
    "default_region": lambda value, name: numbers.check_region(value, name),
    "sender_id_template": _template,
    "opt_out_webhook_url": _url,
    "alert_webhook_url": _url,
    "intercept_url": _url,
    "out_of_session_url": _url,
    "event_url": _url,
    "event_types": lambda value, name: _distinct(value, name),
    "quiet_hours_start": lambda value, name: quiet_hours.parse(value, name).strftime("%H:%M"),
    "quiet_hours_end": lambda value, name: quiet_hours.parse(value, name).strftime("%H:%M"),
}


def _distinct(values: list, name: str) -> list:
    if len(set(values)) != len(values):
        raise InvalidInput("invalid_field", f"{name}: each at most once")
    return values


async def _settings(request: web.Request, given: types.Settings) -> dict[str, Any]:
    """Only the settings the body names, each checked (null clears a nullable one). The time zone is checked
    against what Postgres and zoneinfo know (see gateway.timezones): a name only one of them takes would stop
    the daily reset or the limits' periods."""
    out = {}
    for name in types.Settings.__struct_fields__:
        value = getattr(given, name)
        if value is UNSET:
            continue
        out[name] = value if value is None or name not in CHECKS else CHECKS[name](value, name)
    if "timezone" in out:
        await timezones.check(request.app[POOL], out["timezone"], "timezone")
    return out


async def _overview(request: web.Request, community_id: int) -> communities.Overview:
    return await communities.overview(request.app[COUNTERS], request.app[CONFIG].limits, community_id)


async def _shown(request: web.Request, community_id: int) -> types.Community:
    """The community as the API shows it; NotFound when there is none."""
    return render.community(await _overview(request, community_id), request.app[CARRIERS].default.name)


@routes.post("/v1/communities", body=types.NewCommunity, answer=types.Community, status=201,
             errors=("number_taken", "unknown_carrier", "invalid_number", "outside_token_scope"))
async def create(request: web.Request, body: types.NewCommunity) -> types.Community:
    """Create a community with its numbers and settings"""
    settings = await _settings(request, body)
    config = request.app[CONFIG].relay
    settings.setdefault("default_region", config.default_region)
    settings.setdefault("inactivity_days", config.default_inactivity_days)
    owned = _owned_numbers(request, body.numbers, settings["default_region"])
    if not owned:
        raise InvalidInput("invalid_field", "numbers: expected at least one number, each once")
    community_id = await communities.create(request.app[POOL], settings.pop("name"), settings, owned)
    return await _shown(request, community_id)


def _owned_numbers(request: web.Request, items: list[str | types.NumberOnCarrier],
                   region: str) -> dict[str, str | None]:
    """numbers: each a phone, or {"phone", "carrier"} naming a configured carrier (absent or null: the default
    carrier). The community's own numbers send; they are parsed, not judged as recipients. Returns phone ->
    carrier, in the given order; empty when a number is given twice (the caller refuses that)."""
    owned: dict[str, str | None] = {}
    for i, item in enumerate(items):
        carrier = None
        if isinstance(item, types.NumberOnCarrier):
            carrier, item = item.carrier, item.phone
            if carrier is not None and carrier not in request.app[CARRIERS]:
                served = ", ".join(request.app[CARRIERS].names)
                raise InvalidInput("unknown_carrier", f"numbers[{i}].carrier: expected one of {served}")
        phone = to_e164(item, field=f"numbers[{i}]", region=region)
        owned[phone] = carrier
    return owned if len(owned) == len(items) else {}


@routes.get("/v1/communities/{id}", answer=types.Community, errors=COMMUNITY_ERRORS)
async def get(request: web.Request) -> types.Community:
    """A community: its settings, numbers, today's limits and compliance state"""
    return await _shown(request, path_id(request))


@routes.patch("/v1/communities/{id}", body=types.Settings, answer=types.Community, errors=COMMUNITY_ERRORS)
async def update(request: web.Request, body: types.Settings) -> types.Community:
    """Change some of a community's settings (null clears a nullable one)"""
    settings = await _settings(request, body)
    overview = await communities.update(request.app[COUNTERS], request.app[CONFIG].limits, path_id(request), settings)
    return render.community(overview, request.app[CARRIERS].default.name)


def _allow_list(numbers) -> types.AllowList:
    return types.AllowList(numbers=[number.phone for number in numbers])


@routes.get("/v1/communities/{id}/allow-list", answer=types.AllowList, errors=COMMUNITY_ERRORS)
async def allow_list(request: web.Request) -> types.AllowList:
    """The numbers a community in test mode may text"""
    return _allow_list(await communities.allowed(request.app[POOL], path_id(request)))


@routes.post("/v1/communities/{id}/allow-list", body=types.Numbers, answer=types.AllowList,
             errors=(*COMMUNITY_ERRORS, *PHONE_ERRORS))
async def allow(request: web.Request, body: types.Numbers) -> types.AllowList:
    """Add numbers to a community's allow list; answers the whole list"""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    policy = numbers.Policy.of(community)
    checked = [await numbers.check(request.app[LINE_TYPES], raw, field=f"numbers[{i}]", policy=policy)
               for i, raw in enumerate(body.numbers)]
    await communities.allow(pool, community.id, [c.phone for c in checked])
    return _allow_list(await communities.allowed(pool, community.id))


async def _phone_in_path(request: web.Request) -> tuple[Community, str]:
    community = await communities.find(request.app[POOL], path_id(request))
    return community, to_e164(request.match_info["phone"], field="phone", region=community.default_region)


@routes.delete("/v1/communities/{id}/allow-list/{phone}", status=204,
               errors=(*COMMUNITY_ERRORS, "invalid_number", "not_on_allow_list"))
async def disallow(request: web.Request) -> None:
    """Remove a number from a community's allow list"""
    community, phone = await _phone_in_path(request)
    await communities.disallow(request.app[POOL], community.id, phone)


@routes.delete("/v1/communities/{id}/dnd/{phone}", status=204,
               errors=(*COMMUNITY_ERRORS, "invalid_number", "not_on_dnd", "dnd_permanent"))
async def lift_dnd(request: web.Request) -> None:
    """Lift a temporary do-not-disturb from a contact"""
    community, phone = await _phone_in_path(request)
    await compliance.lift_dnd(request.app[POOL], community.id, phone)


@routes.get("/v1/communities/{id}/held", query=types.HeldQuery, answer=types.Messages, errors=COMMUNITY_ERRORS)
async def held(request: web.Request, query: types.HeldQuery) -> types.Messages:
    """Held messages, oldest first
    The monthly review queue, or ?reason= another hold reason (daily_limit, restricted, carrier_not_served,
    intercepting, intercept_unanswered)."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    messages = await held_rows.list_held(pool, community_id=community.id, reason=query.reason, after=query.after,
                                         limit=query.limit)
    return types.Messages(messages=[render.message(message) for message in messages])


@routes.post("/v1/communities/{id}/held/release", body=types.HeldIds, optional_body=True, answer=types.Released,
             errors=COMMUNITY_ERRORS)
async def release_held(request: web.Request, body: types.HeldIds) -> types.Released:
    """Send held messages (ids absent: all of them held for the reason)
    Released from the monthly review queue, a message may pass the monthly limit: someone looked at it."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    reason = HoldReason(body.reason)
    released = await limits.release(pool, request.app[DISPATCHER], community_id=community.id, reason=reason,
                                    ids=body.ids, override=reason == HoldReason.MONTHLY_LIMIT)
    return types.Released(released=released)


@routes.post("/v1/communities/{id}/held/cancel", body=types.HeldIds, optional_body=True, answer=types.Canceled,
             errors=COMMUNITY_ERRORS)
async def cancel_held(request: web.Request, body: types.HeldIds) -> types.Canceled:
    """Cancel held messages (ids absent: all of them held for the reason)"""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    canceled = await limits.cancel(pool, community_id=community.id, reason=HoldReason(body.reason), ids=body.ids)
    return types.Canceled(canceled=canceled)


@routes.post("/v1/communities/{id}/restriction/lift", answer=types.Community,
             errors=(*COMMUNITY_ERRORS, "not_restricted"))
async def lift_restriction(request: web.Request) -> types.Community:
    """Lift a community's restriction (its held messages are released)"""
    await monitoring.lift(request.app[POOL], request.app[DISPATCHER], path_id(request))
    return await _shown(request, path_id(request))
