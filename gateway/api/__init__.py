"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations, messages, verifications, events."""

from __future__ import annotations

from aiohttp import web

from gateway.api import communities, conversations, events, verifications


def add_routes(app: web.Application) -> None:
    app.router.add_routes(communities.routes)
    app.router.add_routes(conversations.routes)
    app.router.add_routes(verifications.routes)
    app.router.add_routes(events.routes)
