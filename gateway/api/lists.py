"""GET /v1/communities, /v1/conversations, /v1/messages, /v1/verifications: lists with filters and a cursor
(the shared rules: gateway/api/listing.py). A token limited to some communities sees only theirs."""

from __future__ import annotations

from aiohttp import web

from gateway.api import render
from gateway.api.listing import page, query_choice, query_id, query_time, window
from gateway.api.validation import query_text
from gateway.errors import InvalidInput
from gateway.keys import CARRIERS, CONFIG, POOL
from gateway.relay.phones import to_e164
from gateway.storage import lists
from gateway.vocabulary import CommunityMode, ConversationStatus, MessageKind, MessageStatus, VerificationStatus

routes = web.RouteTableDef()


def _phone(request: web.Request) -> str | None:
    """?phone= in E.164 (a national number is read in relay.default_region); None when absent."""
    raw = query_text(request, "phone", max_length=40)
    if not raw:
        return None
    try:
        # A "+" left unescaped in a query string arrives as a space.
        raw = "+" + raw[1:] if raw.startswith(" ") else raw
        return to_e164(raw, field="phone", region=request.app[CONFIG].relay.default_region)
    except InvalidInput as exc:
        raise InvalidInput("invalid_query", exc.message) from None


@routes.get("/v1/communities")
async def list_communities(request: web.Request) -> web.Response:
    """?mode=test|live, ?created_since/until, ?limit, ?cursor."""
    asked = window(request, "communities")
    rows = await lists.list_communities(request.app[POOL], window=asked,
                                        mode=query_choice(request, "mode", CommunityMode))
    default = request.app[CARRIERS].default.name
    return page(asked, "communities", "communities", rows, lambda row: render.community_summary(row, default))


@routes.get("/v1/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    """?community_id, ?phone (either participant), ?status, ?created_since/until, ?updated_since/until (last
    activity), ?limit, ?cursor."""
    asked = window(request, "conversations")
    rows = await lists.list_conversations(
        request.app[POOL], window=asked, community_id=query_id(request, "community_id"), phone=_phone(request),
        status=query_choice(request, "status", ConversationStatus),
        active_since=query_time(request, "updated_since"), active_until=query_time(request, "updated_until"))
    return page(asked, "conversations", "conversations", rows, render.conversation)


@routes.get("/v1/messages")
async def list_messages(request: web.Request) -> web.Response:
    """?community_id, ?conversation_id, ?phone (sender or recipient), ?kind, ?status, ?created_since/until,
    ?limit, ?cursor."""
    asked = window(request, "messages")
    rows = await lists.list_messages(
        request.app[POOL], window=asked, community_id=query_id(request, "community_id"),
        conversation_id=query_id(request, "conversation_id"), phone=_phone(request),
        kind=query_choice(request, "kind", MessageKind), status=query_choice(request, "status", MessageStatus))
    return page(asked, "messages", "messages", rows, render.message)


@routes.get("/v1/verifications")
async def list_verifications(request: web.Request) -> web.Response:
    """?community_id, ?phone, ?status (a pending one past its expiry is expired), ?created_since/until, ?limit,
    ?cursor."""
    asked = window(request, "verifications")
    rows = await lists.list_verifications(
        request.app[POOL], window=asked, community_id=query_id(request, "community_id"), phone=_phone(request),
        status=query_choice(request, "status", VerificationStatus))
    return page(asked, "verifications", "verifications", rows, render.verification)
