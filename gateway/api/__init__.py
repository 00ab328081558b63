"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations, messages, verifications, events;
and its contract at /openapi.json, generated from the same declarations (gateway/api/contract.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api import (communities, conversations, event_secrets, events, groups, lists, media, numbers, openapi,
                         teams, verifications, whatsapp)
from gateway.api import broadcasts, sends

# Every module's declared endpoints: served, and documented in /openapi.json.
ROUTES = (communities.routes, conversations.routes, groups.routes, verifications.routes, lists.routes,
          numbers.routes, teams.routes, events.routes, event_secrets.routes, media.routes, whatsapp.routes,
          sends.routes, broadcasts.routes)


def add_routes(app: web.Application) -> None:
    for routes in ROUTES:
        routes.add_to(app)
    app.router.add_get("/openapi.json", openapi.handler(e for routes in ROUTES for e in routes.endpoints))
