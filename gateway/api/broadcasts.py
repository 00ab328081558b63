"""/v1/communities/{id}/broadcasts: an approved template sent to a list of phones or a filter of contacts, now or
at a time; its progress and outcomes, its recipients, and its cancel (README "Broadcasts")."""

from __future__ import annotations

from aiohttp import web

from gateway.api import broadcast_types as bt
from gateway.api.validation import path_id
from gateway.api.contract import Routes
from gateway.broadcasting import broadcasts
from gateway.broadcasting.broadcasts import Audience
from gateway.errors import InvalidInput
from gateway.keys import POOL, TEMPLATE_SENDS
from gateway.platform import communities
from gateway.relay import contact_data
from gateway.storage import broadcasts as storage
from gateway.storage.broadcasts import Broadcast
from gateway.storage.db import Executor

routes = Routes("broadcasts")
BROADCAST = ("community_not_found", "broadcast_not_found")


def _summary(found: Broadcast) -> bt.Broadcast:
    listed, chosen = found.audience.get("phones"), found.audience.get("filter")
    return bt.Broadcast(id=found.id, community_id=found.community_id, template_id=found.template_id,
                        category=found.category, state=found.state,
                        audience=bt.BroadcastAudience(phones=listed, filter=None if chosen is None
                                                      else bt.AudienceFilter(**chosen)),
                        data=found.data, send_at=found.send_at, created_at=found.created_at,
                        started_at=found.started_at, finished_at=found.finished_at)


async def _full(db: Executor, found: Broadcast) -> bt.Broadcast:
    """The broadcast with its progress and outcomes (counted now)."""
    counted = await broadcasts.outcomes_of(db, found.id)
    answer = _summary(found)
    answer.progress = bt.Progress(total=counted.total, processed=counted.total - counted.pending,
                                  pending=counted.pending)
    answer.outcomes = bt.BroadcastOutcomes(skipped={str(k): v for k, v in sorted(counted.skipped.items())},
                                           messages=counted.messages, held=dict(sorted(counted.held.items())),
                                           blocked=dict(sorted(counted.blocked.items())))
    return answer


def _audience(given: bt.Audience) -> Audience:
    if (given.phones is None) == (given.filter is None):
        raise InvalidInput("invalid_field", "audience: exactly one of phones and filter")
    if given.filter is not None:
        return Audience(preference=given.filter.preference, tag=given.filter.tag)
    return Audience(phones=given.phones)


@routes.post("/v1/communities/{id}/broadcasts", body=bt.NewBroadcast, answer=bt.Broadcast, status=201,
             errors=("community_not_found", "template_not_found", "template_not_approved", "no_sending_number"))
async def create(request: web.Request, body: bt.NewBroadcast) -> bt.Broadcast:
    """Broadcast an approved template
    To a list of phones or to a filter of the community's contacts (read when it starts), at send_at (absent: now).
    Each recipient is rendered on its own (their name and fields, data over them) and goes through the audience
    rules (skipped with a reason) and the send path (test mode, opt-outs, DND, limits, the per-number rate, the bulk
    lane). With an Idempotency-Key a retry creates it once."""
    template_sends = request.app[TEMPLATE_SENDS]
    community = await communities.find(template_sends.pool, path_id(request))
    contact_data.check_field_names(body.data, "data")
    created = await broadcasts.create(template_sends, community, body.template_id, _audience(body.audience),
                                      body.data, body.send_at)
    return await _full(template_sends.pool, created)


@routes.get("/v1/communities/{id}/broadcasts", query=bt.BroadcastPage, answer=bt.Broadcasts,
            errors=("community_not_found",))
async def list_all(request: web.Request, query: bt.BroadcastPage) -> bt.Broadcasts:
    """A community's broadcasts, oldest first (progress and outcomes: GET one)"""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    found = await storage.list_broadcasts(pool, community_id=community.id, after=query.after, limit=query.limit)
    return bt.Broadcasts(broadcasts=[_summary(b) for b in found])


@routes.get("/v1/communities/{id}/broadcasts/{broadcast_id}", answer=bt.Broadcast, errors=BROADCAST)
async def get(request: web.Request) -> bt.Broadcast:
    """A broadcast with its progress and outcomes
    Every recipient counted once: progress.total = pending + the skipped (by reason) + the messages (by status
    group; held and blocked also by reason)."""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    return await _full(pool, await broadcasts.get(pool, community.id, path_id(request, "broadcast_id")))


@routes.get("/v1/communities/{id}/broadcasts/{broadcast_id}/recipients", query=bt.BroadcastPage,
            answer=bt.Recipients, errors=BROADCAST)
async def recipients(request: web.Request, query: bt.BroadcastPage) -> bt.Recipients:
    """A page of a broadcast's recipients, in the order added"""
    pool = request.app[POOL]
    community = await communities.find(pool, path_id(request))
    found = await broadcasts.get(pool, community.id, path_id(request, "broadcast_id"))
    rows = await storage.list_recipients(pool, broadcast_id=found.id, after=query.after, limit=query.limit)
    return bt.Recipients(recipients=[bt.Recipient(id=r.id, phone=r.phone, outcome=r.outcome, skip_reason=r.skip_reason,
                                                  message_id=r.message_id, status=r.status,
                                                  status_reason=r.status_reason, processed_at=r.processed_at)
                                     for r in rows])


@routes.post("/v1/communities/{id}/broadcasts/{broadcast_id}/cancel", answer=bt.Broadcast,
             errors=(*BROADCAST, "broadcast_completed"))
async def cancel(request: web.Request) -> bt.Broadcast:
    """Cancel a broadcast
    Mid-way: its pending recipients are skipped (canceled), its queued and held texts canceled (reason
    broadcast_canceled); those already at the carrier go on. Canceling it again answers the same; a completed
    broadcast is 409 broadcast_completed."""
    template_sends = request.app[TEMPLATE_SENDS]
    community = await communities.find(template_sends.pool, path_id(request))
    canceled = await broadcasts.cancel(template_sends, community.id, path_id(request, "broadcast_id"))
    return await _full(template_sends.pool, canceled)
