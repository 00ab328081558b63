"""Operations endpoints: liveness, readiness and Prometheus metrics.

Readiness follows what the gateway can do: routing falls back to Postgres when Redis is away (README "Faults,
and what happens"), so Redis away is "degraded" (200, and gateway_redis_up 0) unless server.ready_requires_redis
says a balancer should take the instance out. Postgres away or migrations pending: 503.
"""

from __future__ import annotations

import asyncio
import hmac

import structlog
from aiohttp import web

from gateway.compliance import rates
from gateway.errors import NotAuthenticated
from gateway.keys import CONFIG, METRICS, POOL, REDIS
from gateway.ops.metrics import CONTENT_TYPE
from gateway.ops.middleware import bearer_token, error_body
from gateway.storage import migrate

log = structlog.get_logger(__name__)
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """{"status": "ready" | "degraded" | "not_ready", "checks": {"postgres", "migrations", "redis"}}."""
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
    request.app[METRICS].redis_up.set(checks["redis"] == "ok")
    required = ("postgres", "migrations", "redis") if request.app[CONFIG].server.ready_requires_redis else (
        "postgres", "migrations")
    if not all(checks[name] == "ok" for name in required):
        return web.json_response({"status": "not_ready", "checks": checks}, status=503)
    status = "ready" if checks["redis"] == "ok" else "degraded"
    return web.json_response({"status": status, "checks": checks})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; with server.metrics_token set, only for "Authorization: Bearer <token>" (401 else). The
    per-community gauges are read from Postgres first (compliance/rates.py publish)."""
    token = request.app[CONFIG].server.metrics_token
    if token:
        given = bearer_token(request) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise NotAuthenticated("unauthorized", "missing or wrong bearer token for /metrics")
    try:
        async with asyncio.timeout(2):
            await rates.publish(request.app[POOL], request.app[METRICS])
    except Exception as exc:  # Postgres away: the per-community gauges keep their last values; the rest answers
        log.warning("community_gauges_not_refreshed", reason=type(exc).__name__)
    response = web.Response(body=request.app[METRICS].render())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


def ops_port_middleware(ops_port: int):
    """With server.ops_port set: the operations paths answer only there, and nothing else does (404), so the
    public port behind the proxy shows no metrics."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        on_ops_port = isinstance(sockname, tuple) and sockname[1] == ops_port
        if on_ops_port != (request.path in OPS_PATHS):
            return error_body(404, "not_found", f"{request.path} is not served on this port (server.ops_port)")
        return await handler(request)

    return middleware


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
