"""The signed media routes (no API token: the signature is the credential, gateway/media/signing.py):

    GET /media/{id}/{expires}/{signature}  one stored picture's bytes (what a carrier fetches for an MMS)
    GET /m/{id}/{expires}/{signature}      a page showing a message's pictures (the link in an SMS)

A signature that is not ours answers 403, an expired URL or deleted media 410, unknown media 404: each as
{"error": {"code", "message"}}, never a trace. Logs name the path without its signature (logged_path).
"""

from __future__ import annotations

import html
import time
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from gateway.keys import MEDIA
from gateway.media import signing
from gateway.media.outgoing import Outgoing
from gateway.ops.middleware import error_body, logged_path
from gateway.storage import media as storage
from gateway.vocabulary import MediaState

log = structlog.get_logger(__name__)

# Nothing a stored file or the page holds may run script or send the signed URL on as a Referer.
FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'",
                "Referrer-Policy": "no-referrer", "Cache-Control": "private, max-age=3600"}
PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src "
                                           "'unsafe-inline'"}


def _checked(request: web.Request, kind: str) -> tuple[int, str] | web.Response:
    """(the id, expires) of a URL whose signature is ours and still valid, else the refusal to answer with."""
    raw_id, expires, signature = (request.match_info[key] for key in ("id", "expires", "signature"))
    if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
        return error_body(404, "not_found", "no such media")
    check = signing.check(request.app[MEDIA].key, kind, int(raw_id), expires, signature)
    if check != signing.Check.OK:
        # The path without its signature (logged_path): a forged one may be a real one with a typo.
        log.info("media_url_refused", check=check.value, path=logged_path(request))
    if check == signing.Check.FORGED:
        return error_body(403, "forbidden", "this link is not valid")
    if check == signing.Check.EXPIRED:
        return error_body(410, "gone", "this link has expired")
    return int(raw_id), expires


async def media_file(request: web.Request) -> web.Response:
    checked = _checked(request, signing.FILE)
    if isinstance(checked, web.Response):
        return checked
    found = await storage.find_content(request.app[MEDIA].db, media_id=checked[0])
    if found is None:
        return error_body(404, "not_found", "no such media")
    if found.state != MediaState.STORED or found.content is None:
        return error_body(410, "gone", "this media is no longer kept")
    return web.Response(body=found.content, content_type=found.content_type or "application/octet-stream",
                        headers={**FILE_HEADERS, "ETag": f'"{found.sha256}"'})


async def media_page(request: web.Request) -> web.Response:
    checked = _checked(request, signing.PAGE)
    if isinstance(checked, web.Response):
        return checked
    message_id, expires = checked
    outgoing: Outgoing = request.app[MEDIA]
    kept = [item for item in await storage.list_attachments(outgoing.db, message_id=message_id)
            if item.state == MediaState.STORED]
    if not kept:
        return error_body(410, "gone", "these pictures are no longer kept")
    # The pictures' own URLs last as long as the page's; under the public URL's path (a proxy at /sms serves the
    # gateway's /media/... as /sms/media/...), on the page's own origin.
    lifetime, base = int(expires, 36) - int(time.time()), urlsplit(outgoing.public_url).path
    items = []
    for item in kept:
        url = html.escape(signing.sign(outgoing.key, base, signing.FILE, item.id, lifetime))
        kind = (item.content_type or "").split("/", 1)[0]
        if kind == "image":
            items.append(f'<p><img src="{url}" alt="picture {item.position}" style="max-width:100%"></p>')
        elif kind in ("video", "audio"):
            items.append(f'<p><{kind} src="{url}" controls style="max-width:100%"></{kind}></p>')
        else:
            items.append(f'<p><a href="{url}">attachment {item.position} '
                         f'({html.escape(item.content_type or "file")})</a></p>')
    page = ('<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" '
            'content="width=device-width,initial-scale=1"><title>Pictures</title></head><body>'
            + "".join(items) + "</body></html>")
    return web.Response(text=page, content_type="text/html", headers=PAGE_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"/{signing.FILE}/{{id}}/{{expires}}/{{signature}}", media_file)
    app.router.add_get(f"/{signing.PAGE}/{{id}}/{{expires}}/{{signature}}", media_page)
