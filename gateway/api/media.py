"""/v1/messages/{id}/media: a message's attachments, each with a signed URL to its bytes while kept."""

from __future__ import annotations

from aiohttp import web

from gateway.api.contract import Routes
from gateway.api.media_types import Attachment, Attachments
from gateway.api.validation import path_id
from gateway.errors import NotFound
from gateway.keys import MEDIA
from gateway.media import signing
from gateway.media.outgoing import Outgoing
from gateway.storage import media as storage
from gateway.storage import messages
from gateway.vocabulary import MediaState

routes = Routes("media")


async def attachments(outgoing: Outgoing, message_id: int) -> list[Attachment]:
    """A message's attachments (an inbound message's own, or those its relayed copy carries), as the API shows
    them: a signed URL (media.url_hours) for each one kept."""
    lifetime = outgoing.settings.url_hours * 3600
    return [Attachment(id=a.id, position=a.position, state=a.state, refusal=a.refusal, content_type=a.content_type,
                       size=a.size, sha256=a.sha256,
                       url=signing.sign(outgoing.key, outgoing.public_url, signing.FILE, a.id, lifetime)
                       if a.state == MediaState.STORED else None)
            for a in await storage.list_attachments(outgoing.db, message_id=message_id)]


@routes.get("/v1/messages/{id}/media", answer=Attachments, errors=("message_not_found",))
async def list_media(request: web.Request) -> Attachments:
    """A message's pictures: state, type, size, SHA-256 and a signed URL while kept"""
    outgoing, message_id = request.app[MEDIA], path_id(request)
    if await messages.find_message(outgoing.db, message_id=message_id) is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    return Attachments(media=await attachments(outgoing, message_id))
