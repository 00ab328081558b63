"""The sandbox's pictures: POST /sandbox/inbound may carry "media" (up to 10 of {"content_type", "data": base64}),
kept in Redis for a day (every process sharing it serves them) at an unguessable URL on the gateway's own public
URL, /webhooks/sandbox/media/{id}, which the gateway then fetches as it would a carrier's; deleted once fetched
(DELETE, as Twilio's Media resource). So the README's walk-through shows the whole media path without a carrier.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from gateway.errors import InvalidInput

MAX_ATTACHMENTS = 10
# A type the serving route can answer with (no parameters, no line break: aiohttp refuses those as a header).
MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,48}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,48}")
TTL = 86400
PATH = "/webhooks/sandbox/media/{id}"


def _key(media_id: str) -> str:
    return f"gw:sandbox:media:{media_id}"


async def keep(redis: aioredis.Redis, public_url: str, media: Any) -> tuple[str, ...]:
    """Keep the attachments of a simulated MMS; their URLs, in order. Raises InvalidInput for a bad "media"."""
    if not isinstance(media, list) or len(media) > MAX_ATTACHMENTS:
        raise InvalidInput("invalid_field", f"media: expected a list of at most {MAX_ATTACHMENTS} attachments")
    urls = []
    for n, item in enumerate(media):
        if not (isinstance(item, dict) and isinstance(item.get("content_type"), str)
                and isinstance(item.get("data"), str) and MEDIA_TYPE.fullmatch(item["content_type"])):
            raise InvalidInput("invalid_field", f"media[{n}]: expected {{content_type (type/subtype, no parameters), "
                                                f"data (base64)}}")
        try:
            content = base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("invalid_field", f"media[{n}].data: not base64") from None
        if not content:
            raise InvalidInput("invalid_field", f"media[{n}].data: empty")
        media_id = secrets.token_urlsafe(18)
        await redis.hset(_key(media_id), mapping={"type": item["content_type"], "data": base64.b64encode(content)})
        await redis.expire(_key(media_id), TTL)
        urls.append(public_url + PATH.format(id=media_id))
    return tuple(urls)


def routes(redis_of) -> list[web.RouteDef]:
    """GET and DELETE on a kept attachment; redis_of() gives the started gateway's Redis client."""

    async def serve(request: web.Request) -> web.Response:
        found = await redis_of().hgetall(_key(request.match_info["id"]))
        if not found:
            raise web.HTTPNotFound()
        return web.Response(body=base64.b64decode(found["data"]), content_type=found["type"])

    async def delete(request: web.Request) -> web.Response:
        await redis_of().delete(_key(request.match_info["id"]))
        return web.Response(status=204)

    return [web.get(PATH, serve), web.delete(PATH, delete)]
