"""/v1/communities/{id}/erasures: erase everything the gateway keeps about one phone in a community, and the audit
of past erasures (README "Retention and erasure"). Under /v1/communities/{id}, so a token limited to some
communities erases only in theirs (gateway/api/scope.py); a read-only token cannot erase."""

from __future__ import annotations

from aiohttp import web

from gateway.api import erasure_types as et
from gateway.api.contract import Routes
from gateway.api.validation import path_id
from gateway.keys import CONFIG, LINE_TYPES, POOL, ROUTES, TOKENS
from gateway.ops.middleware import CALLER
from gateway.platform import communities, erasure
from gateway.relay.phones import to_e164
from gateway.storage import erasure as storage

routes = Routes("erasures")


def _erasure(record: storage.Erasure) -> et.Erasure:
    return et.Erasure(id=record.id, community_id=record.community_id, requested_by=record.requested_by,
                      counts=record.counts, created_at=record.created_at)


def _key(request: web.Request) -> bytes:
    return erasure.phone_key(request.app[CONFIG].hooks.secret)


@routes.post("/v1/communities/{id}/erasures", body=et.NewErasure, answer=et.Erasure, status=201,
             errors=("community_not_found", "invalid_number"))
async def erase(request: web.Request, body: et.NewErasure) -> et.Erasure:
    """Erase a phone from a community
    Its open conversations close, what waits to go to it is canceled, the bodies and pictures of every message
    it sent, was sent or saw in a conversation are removed and its number replaced by a pseudonym; its contact,
    verifications and other records are deleted, except an opt-out, kept as the phone and that refusal alone.
    Counts stay; the answer is the audit row. Erasing again is harmless (the counts are then zero)."""
    community = await communities.find(request.app[POOL], path_id(request))
    phone = to_e164(body.phone, field="phone", region=community.default_region)
    callers = [token.name for token in request.app[TOKENS] if token.reaches(community.id)]
    record = await erasure.erase(request.app[POOL], request.app[ROUTES], request.app[LINE_TYPES], _key(request),
                                 community.id, phone, request[CALLER].name, callers)
    return _erasure(record)


@routes.get("/v1/communities/{id}/erasures", query=et.ErasureQuery, answer=et.Erasures,
            errors=("community_not_found", "invalid_number"))
async def list_erasures(request: web.Request, query: et.ErasureQuery) -> et.Erasures:
    """A community's erasures, newest first
    ?phone= answers whether that phone was erased (its erasures only), without the gateway keeping the phone."""
    community = await communities.find(request.app[POOL], path_id(request))
    hashed = None
    if query.phone:
        phone = to_e164(query.phone, field="phone", region=community.default_region)
        hashed = erasure.phone_hash(_key(request), community.id, phone)
    found = await storage.list_erasures(request.app[POOL], community_id=community.id, before=query.before,
                                        phone_hash=hashed, limit=query.limit)
    return et.Erasures(erasures=[_erasure(record) for record in found])
