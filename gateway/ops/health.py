"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web

from gateway.storage import migrate
from gateway.keys import METRICS, POOL, REDIS
from gateway.ops.metrics import CONTENT_TYPE


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when Postgres answers with every migration applied and Redis answers."""
    checks = {"postgres": "ok", "migrations": "ok", "redis": "ok"}
    try:
        async with asyncio.timeout(2):
            async with request.app[POOL].acquire() as conn:
                if await migrate.pending(conn):
                    checks["migrations"] = "pending"
    except Exception:
        checks["postgres"] = checks["migrations"] = "unavailable"
    try:
        async with asyncio.timeout(2):
            await request.app[REDIS].ping()
    except Exception:
        checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return web.json_response({"status": "ready" if ready else "not_ready", "checks": checks},
                             status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=request.app[METRICS].render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
