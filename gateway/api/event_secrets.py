"""The secrets that sign events (gateway/platform/events.py): a community's, its rotation, and the gateway-wide
URL's. A read-only token is given no secret (403 read_only_token: a secret signs as well as it verifies); a token
limited to other communities finds none of theirs (404, api/scope.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api.contract import Routes
from gateway.api.event_types import EventSecret, GatewayEventSecret
from gateway.api.validation import path_id
from gateway.errors import NotFound, NotPermitted
from gateway.keys import CONFIG, EVENTS, POOL
from gateway.ops.middleware import CALLER
from gateway.platform.events import secret_for
from gateway.storage import events as deliveries
from gateway.storage.events import SecretVersion

routes = Routes("events")
ERRORS = ("community_not_found", "read_only_token")


def _may_sign(request: web.Request) -> None:
    """A secret signs as well as it verifies: a read-only token (a dashboard) is not given one."""
    caller = request.get(CALLER)
    if caller is not None and caller.read_only:
        raise NotPermitted("read_only_token", "a read-only API token is not given signing secrets")


def _grace(request: web.Request) -> float:
    return request.app[CONFIG].hooks.secret_grace_hours * 3600


def _answer(request: web.Request, community_id: int, found: SecretVersion | None) -> EventSecret:
    if found is None:
        raise NotFound("community_not_found", f"no community {community_id}")
    return EventSecret(secret=secret_for(request.app[EVENTS].signing_key, community_id, found.version),
                       version=found.version, previous_valid_until=found.previous_valid_until)


@routes.get("/v1/communities/{id}/event-secret", answer=EventSecret, errors=ERRORS)
async def community_secret(request: web.Request) -> EventSecret:
    """A community's event secret
    What its events, intercept and out-of-session posts are signed with (Standard Webhooks)."""
    _may_sign(request)
    community_id = path_id(request)
    found = await deliveries.find_event_secret(request.app[POOL], community_id=community_id,
                                               grace_seconds=_grace(request))
    return _answer(request, community_id, found)


@routes.post("/v1/communities/{id}/event-secret/rotate", answer=EventSecret, errors=ERRORS)
async def rotate_secret(request: web.Request) -> EventSecret:
    """Rotate a community's event secret; answers the new one
    From now on each post is signed with the new secret and, until previous_valid_until (hooks.secret_grace_hours
    later), with the previous one too: a receiver verifying with either accepts it. Rotating again within the
    grace leaves only the newest two signing."""
    _may_sign(request)
    community_id = path_id(request)
    rotated = await deliveries.rotate_event_secret(request.app[POOL], community_id=community_id,
                                                   grace_seconds=_grace(request))
    return _answer(request, community_id, rotated)


@routes.get("/v1/event-secret", answer=GatewayEventSecret, errors=("read_only_token", "outside_token_scope"))
async def gateway_secret(request: web.Request) -> GatewayEventSecret:
    """The gateway-wide event URL and its secret
    hooks.event_url (null when unset) gets every community's events, signed with this secret."""
    _may_sign(request)
    return GatewayEventSecret(url=request.app[CONFIG].hooks.event_url or None,
                              secret=secret_for(request.app[EVENTS].signing_key, None))
