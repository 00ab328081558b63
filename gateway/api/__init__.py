"""The internal HTTP API (/v1, JSON, bearer token): communities, conversations, messages, verifications."""

from __future__ import annotations

from aiohttp import web

from gateway.api import communities, conversations, lists, numbers, verifications


def add_routes(app: web.Application) -> None:
    app.router.add_routes(communities.routes)
    app.router.add_routes(conversations.routes)
    app.router.add_routes(verifications.routes)
    app.router.add_routes(lists.routes)
    app.router.add_routes(numbers.routes)
