"""GET /v1/communities, /v1/conversations, /v1/messages, /v1/verifications: lists with filters and a cursor
(the shared rules: gateway/api/listing.py; the types: gateway/api/list_types.py). A token limited to some
communities sees only theirs."""

from __future__ import annotations

from aiohttp import web
from msgspec import UNSET, UnsetType

from gateway.api import list_types as lt
from gateway.api import render
from gateway.api.contract import Routes
from gateway.api.listing import paged, parse_time, window
from gateway.errors import InvalidInput
from gateway.keys import CARRIERS, CONFIG, POOL
from gateway.relay.phones import to_e164
from gateway.storage import lists

routes = Routes("lists")


def _phone(request: web.Request, raw: str) -> str | None:
    """?phone= in E.164 (a national number is read in relay.default_region); None when absent."""
    if not raw:
        return None
    try:
        # A "+" left unescaped in a query string arrives as a space.
        raw = "+" + raw[1:] if raw.startswith(" ") else raw
        return to_e164(raw, field="phone", region=request.app[CONFIG].relay.default_region)
    except InvalidInput as exc:
        raise InvalidInput("invalid_query", exc.message) from None


@routes.get("/v1/communities", query=lt.CommunityQuery, answer=lt.Communities)
async def list_communities(request: web.Request, query: lt.CommunityQuery) -> lt.Communities:
    """Communities, newest first
    Without the usage counters (GET one for daily and monthly)."""
    asked = window(request, "communities", query)
    rows = await lists.list_communities(request.app[POOL], window=asked, mode=query.mode)
    shown, after = paged(asked, "communities", rows)
    default = request.app[CARRIERS].default.name
    return lt.Communities([render.community_summary(row, default) for row in shown], next=_next(after))


@routes.get("/v1/conversations", query=lt.ConversationQuery, answer=lt.Conversations)
async def list_conversations(request: web.Request, query: lt.ConversationQuery) -> lt.Conversations:
    """Conversations, newest first
    phone: either participant; updated_since/until: a range of last activity."""
    asked = window(request, "conversations", query)
    rows = await lists.list_conversations(
        request.app[POOL], window=asked, community_id=query.community_id, phone=_phone(request, query.phone),
        status=query.status, active_since=parse_time(query.updated_since, "updated_since"),
        active_until=parse_time(query.updated_until, "updated_until"))
    shown, after = paged(asked, "conversations", rows)
    return lt.Conversations([render.conversation(row) for row in shown], next=_next(after))


@routes.get("/v1/messages", query=lt.MessageQuery, answer=lt.MessagePage)
async def list_messages(request: web.Request, query: lt.MessageQuery) -> lt.MessagePage:
    """Messages, newest first
    phone: sender or recipient."""
    asked = window(request, "messages", query)
    rows = await lists.list_messages(
        request.app[POOL], window=asked, community_id=query.community_id, conversation_id=query.conversation_id,
        phone=_phone(request, query.phone), kind=query.kind, status=query.status)
    shown, after = paged(asked, "messages", rows)
    return lt.MessagePage([render.message(row) for row in shown], next=_next(after))


@routes.get("/v1/verifications", query=lt.VerificationQuery, answer=lt.Verifications)
async def list_verifications(request: web.Request, query: lt.VerificationQuery) -> lt.Verifications:
    """Verifications, newest first
    status as a verification shows it: a pending one past its expiry is expired."""
    asked = window(request, "verifications", query)
    rows = await lists.list_verifications(request.app[POOL], window=asked, community_id=query.community_id,
                                          phone=_phone(request, query.phone), status=query.status)
    shown, after = paged(asked, "verifications", rows)
    return lt.Verifications([render.verification(row) for row in shown], next=_next(after))


def _next(cursor: str | None) -> str | UnsetType:
    """A list's next: absent on the last page."""
    return UNSET if cursor is None else cursor
