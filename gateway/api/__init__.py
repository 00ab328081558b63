"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations, messages, verifications, events;
and its contract at /openapi.json, generated from the same declarations (gateway/api/contract.py)."""

from __future__ import annotations

from aiohttp import web

from gateway.api import communities, conversations, events, groups, lists, numbers, openapi, verifications

# Every module's declared endpoints: served, and documented in /openapi.json.
ROUTES = (communities.routes, conversations.routes, groups.routes, verifications.routes)
# Not declared in the contract yet (served, not in /openapi.json): the lists, a community's numbers, events.
UNDECLARED = (lists.routes, numbers.routes, events.routes)


def add_routes(app: web.Application) -> None:
    for routes in ROUTES:
        routes.add_to(app)
    for undeclared in UNDECLARED:
        app.router.add_routes(undeclared)
    app.router.add_get("/openapi.json", openapi.handler(e for routes in ROUTES for e in routes.endpoints))
