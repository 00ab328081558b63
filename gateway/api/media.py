"""/v1/media (a platform's upload, for a message it sends) and /v1/messages/{id}/media (a message's attachments,
each with a signed URL to its bytes while kept)."""

from __future__ import annotations

import base64
import binascii
import hashlib

from aiohttp import web

from gateway.api.contract import Routes
from gateway.api.media_types import Attachment, Attachments, Upload
from gateway.api.validation import path_id
from gateway.errors import InvalidInput, NotFound
from gateway.keys import MEDIA
from gateway.media import rules, signing
from gateway.media.outgoing import Outgoing
from gateway.storage import communities
from gateway.storage import media as storage
from gateway.storage import messages
from gateway.vocabulary import MediaRefusal, MediaState

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


@routes.post("/v1/media", body=Upload, answer=Attachment, status=201, errors=("community_not_found",))
async def upload(request: web.Request, body: Upload) -> Attachment:
    """Upload a picture for a message the platform sends

    Kept for the community until a message names it (POST /v1/conversations/{id}/messages with "media": [id]);
    one no message names within a day is deleted."""
    outgoing: Outgoing = request.app[MEDIA]
    if await communities.find_community(outgoing.db, community_id=body.community_id) is None:
        raise NotFound("community_not_found", f"no community {body.community_id}")
    try:
        content = base64.b64decode(body.data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("invalid_field", "data: not base64") from None
    settings = outgoing.settings
    limits = rules.Limits(rules.parse_types(settings.content_types), settings.max_file_bytes,
                          settings.max_message_bytes)
    content_type = rules.media_type(body.content_type)
    refused = rules.refusal(content_type, len(content), 0, limits) if content else MediaRefusal.TOO_LARGE
    if refused == MediaRefusal.TYPE_NOT_ALLOWED:
        raise InvalidInput("invalid_field", f"content_type: {content_type} is not one of media.content_types")
    if refused is None and rules.bytes_disagree(content_type, content):
        raise InvalidInput("invalid_field", f"data: not {content_type} (its first bytes say otherwise)")
    if refused is not None:
        raise InvalidInput("invalid_field", f"data: 1 to {settings.max_file_bytes} bytes")
    stored = await storage.store_upload(outgoing.db, community_id=body.community_id, content_type=content_type,
                                        content=content, sha256=hashlib.sha256(content).hexdigest())
    return Attachment(id=stored.id, position=stored.position, state=stored.state, refusal=None,
                      content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                      url=signing.sign(outgoing.key, outgoing.public_url, signing.FILE, stored.id,
                                       settings.url_hours * 3600))


@routes.get("/v1/messages/{id}/media", answer=Attachments, errors=("message_not_found",))
async def list_media(request: web.Request) -> Attachments:
    """A message's pictures: state, type, size, SHA-256 and a signed URL while kept"""
    outgoing, message_id = request.app[MEDIA], path_id(request)
    if await messages.find_message(outgoing.db, message_id=message_id) is None:
        raise NotFound("message_not_found", f"no message {message_id}")
    return Attachments(media=await attachments(outgoing, message_id))
