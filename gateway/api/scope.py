"""What a token may reach (SECURITY.md, "API tokens"): a token limited to some communities finds nothing of the
others (404, as if they did not exist) and a read-only token changes nothing (403).

Every /v1 route is placed by its path: under /v1/communities/{id}, /v1/conversations/{id}, /v1/messages/{id} or
/v1/verifications/{id} it reaches the community that owns that row; POST /v1/conversations, /v1/verifications and /v1/media
name theirs in the body; the lists (LISTS) show only what the token reaches (the handler filters by
`communities`). Any other /v1 route refuses a community-limited token (403): a new route is closed to such
tokens until it is placed here.
"""

from __future__ import annotations

import json

from aiohttp import web

from gateway.api.validation import ascii_number
from gateway.tokens import ApiToken
from gateway.errors import NotFound, NotPermitted
from gateway.keys import POOL
from gateway.ops.middleware import CALLER
from gateway.storage import communities as rows

READING = frozenset({"GET", "HEAD", "OPTIONS"})
# Path prefix (the route's pattern) -> what the {id} in it names; the owner's not-found error, word for word.
OWNED = {
    "/v1/communities/{id}": ("community", "community_not_found"),
    "/v1/conversations/{id}": ("conversation", "conversation_not_found"),
    "/v1/messages/{id}": ("message", "message_not_found"),
    "/v1/verifications/{id}": ("verification", "verification_not_found"),
}
# Routes whose body names the community: POST /v1/conversations, /v1/verifications and /v1/media.
NAMED_IN_BODY = frozenset({"/v1/conversations", "/v1/verifications", "/v1/media"})
# Lists: each shows only the communities the token reaches (handlers filter with `communities`).
LISTS = frozenset({"/v1/communities", "/v1/conversations", "/v1/messages", "/v1/verifications"})


def caller(request: web.Request) -> ApiToken | None:
    """The token the request came with; None on paths that need none."""
    return request.get(CALLER)


def communities(request: web.Request) -> list[int] | None:
    """The community ids the caller may see (for a list's filter), sorted; None: every community."""
    token = caller(request)
    return None if token is None or token.communities is None else sorted(token.communities)


@web.middleware
async def scope_middleware(request: web.Request, handler):
    token = caller(request)
    if token is not None:
        if token.read_only and request.method not in READING:
            raise NotPermitted("read_only_token", "this API token may only read (GET)")
        if token.communities is not None:
            await _check_reach(request, token)
    return await handler(request)


async def _check_reach(request: web.Request, token: ApiToken) -> None:
    if request.match_info.http_exception is not None:
        return  # no such route (404) or method (405): the router answers that
    resource = request.match_info.route.resource
    pattern = resource.canonical if resource is not None else ""
    for prefix, (kind, code) in OWNED.items():
        if pattern == prefix or pattern.startswith(prefix + "/"):
            number = ascii_number(request.match_info.get("id", ""))
            if number is not None:
                await _reach(request, token, kind, number, code)
            return
    if request.method == "POST" and pattern in NAMED_IN_BODY:
        named = _community_in_body(await request.read())
        if named is not None and not token.reaches(named):
            raise NotFound("community_not_found", f"no community {named}")
        return
    if request.method in READING and pattern in LISTS:
        return
    raise NotPermitted("outside_token_scope", "this API token is limited to some communities; this endpoint "
                                              "is not for it")


async def _reach(request: web.Request, token: ApiToken, kind: str, number: int, code: str) -> None:
    """NotFound, as the handler would say it, when the row belongs to a community out of reach; a row that does
    not exist is left to the handler."""
    if kind == "community":
        owner, exists = number, True
    else:
        found = await rows.find_owning_community(request.app[POOL], kind=kind, row_id=number)
        exists, owner = found is not None, None if found is None else found.community_id
    if exists and not token.reaches(owner):
        raise NotFound(code, f"no {kind} {number}")


def _community_in_body(raw: bytes) -> int | None:
    """community_id from a JSON body when it is there and a number; anything else is the handler's to refuse."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    named = data.get("community_id") if isinstance(data, dict) else None
    return named if isinstance(named, int) and not isinstance(named, bool) else None
