"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations, messages, verifications, events;
and its contract at /openapi.json, generated from the same declarations (gateway/api/contract.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api import (communities, contacts, conversations, erasures, event_secrets, events, groups, lists, media,
                         numbers, openapi, teams, templates, verifications, whatsapp)
from gateway.keys import STREAMED_PATHS
from gateway.api import broadcasts, sends

# Every module's declared endpoints: served, and documented in /openapi.json.
ROUTES = (communities.routes, conversations.routes, groups.routes, verifications.routes, lists.routes,
          numbers.routes, teams.routes, events.routes, event_secrets.routes, media.routes, whatsapp.routes,
          erasures.routes, contacts.routes, templates.routes,
          sends.routes, broadcasts.routes)


def add_routes(app: web.Application) -> None:
    for routes in ROUTES:
        routes.add_to(app)
    app[STREAMED_PATHS] = frozenset(e.path for routes in ROUTES for e in routes.endpoints if e.streamed)
    app.router.add_get("/openapi.json", openapi.handler(e for routes in ROUTES for e in routes.endpoints))
