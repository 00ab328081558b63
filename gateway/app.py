"""create_app(config): resources started in order and stopped in reverse, middlewares and routes."""

from __future__ import annotations

import gc
import secrets
from typing import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
import structlog
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gateway import api, carriers
from gateway.platform import events as hooks
from gateway.compliance import limits
from gateway.verification import line_types as lookups
from gateway.compliance import rates as monitoring
from gateway.messaging import conversations
from gateway.storage import db
from gateway.storage import migrate
from gateway.ops import health as ops
from gateway.messaging import sending
from gateway.messaging import sweeper
from gateway.messaging import receiving
from gateway.storage.batching import Statements
from gateway.config import Config
from gateway.context import Context
from gateway.messaging.dispatch import Dispatcher
from gateway.verification.line_types import LineTypes
from gateway.keys import CARRIERS, CONFIG, CONTEXT, HTTP, METRICS, POOL, REDIS, TASKS
from gateway.ops.metrics import Metrics
from gateway.ops.middleware import auth_middleware, body_deadline_middleware, context_middleware, error_middleware
from gateway.messaging.outbox import Outbox
from gateway.routing.table import RouteTable
from gateway.ops.tasks import Supervisor

log = structlog.get_logger(__name__)


async def postgres(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG].database
    pool = await db.create_pool(config.url, min_size=config.pool_min, max_size=config.pool_max,
                                command_timeout=config.command_timeout)
    if config.migrate_on_start:
        async with pool.acquire() as conn:
            await migrate.migrate(conn)
    app[POOL] = pool
    yield
    await pool.close()


async def redis(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG].redis
    # One immediate retry reconnects a pooled connection that a Redis restart closed; no more, so a
    # Redis that is down falls back to Postgres quickly. The pool blocks: in a burst beyond max_connections a
    # call waits (up to the timeout) for a free connection instead of failing.
    retry = Retry(NoBackoff(), 1)
    connections = aioredis.BlockingConnectionPool.from_url(
        config.url, max_connections=config.max_connections, timeout=config.timeout, decode_responses=True,
        socket_timeout=config.timeout, socket_connect_timeout=config.timeout, retry=retry)
    client = aioredis.Redis(connection_pool=connections, retry=retry)
    app[REDIS] = client
    yield
    await client.aclose()
    await connections.aclose()


async def http_client(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=app[CONFIG].carrier.send_timeout))
    app[HTTP] = session
    yield
    await session.close()


async def services(app: web.Application) -> AsyncIterator[None]:
    """The routing table (rebuilt from Postgres), the queue and the carriers, once their pools exist."""
    config = app[CONFIG]
    statements = Statements.create(app[POOL], app[REDIS], app[METRICS], config.database.batch_max)
    routes = RouteTable(app[REDIS], app[POOL], app[METRICS], statements.redis)
    outbox = Outbox(app[REDIS], per_number_rate=config.relay.per_number_rate,
                    lease_seconds=config.queue.lease_seconds)
    line_types = LineTypes(lookups.create(config, app[HTTP]), app[POOL], app[REDIS], app[METRICS], config)
    app[CONTEXT] = Context(config, app[POOL], app[REDIS], routes, outbox, app[METRICS], line_types,
                           _secret(config.verification.secret, "GATEWAY_VERIFICATION_SECRET"),
                           _secret(config.hooks.secret, "GATEWAY_WEBHOOK_SECRET"), statements,
                           Dispatcher(statements.redis, outbox, routes, app[METRICS]))
    for carrier in app[CARRIERS]:
        await carrier.open(carriers.Resources(app[HTTP], app[REDIS], app[METRICS]))
    yield


def _secret(configured: str, variable: str) -> bytes:
    if configured:
        return configured.encode()
    # Only the sandbox gets here (config demands both secrets with a real carrier): codes then check, and
    # webhook signatures verify, only against this process until it restarts.
    log.warning("secret_missing", hint=f"set {variable}")
    return secrets.token_bytes(32)


async def batching(app: web.Application) -> AsyncIterator[None]:
    """The flush loops of the batched statements: they outlive the background loops, whose last sends use them."""
    ctx = app[CONTEXT]
    flushers = Supervisor(app[METRICS], app[CONFIG].tasks.restart_delay)
    for statement in ctx.statements.all():
        for worker in range(statement.workers):
            flushers.loop(f"batch_{statement.name}_{worker}", statement.run)
    yield
    await flushers.stop()


async def background(app: web.Application) -> AsyncIterator[None]:
    """The loops run in this event loop; stopped (cancelled and awaited) before the pools close."""
    config, ctx = app[CONFIG], app[CONTEXT]
    tasks = Supervisor(app[METRICS], config.tasks.restart_delay, app[REDIS])
    tasks.loop("drain", lambda: sending.drain(ctx, app[CARRIERS]))
    for carrier in app[CARRIERS]:
        for name, task in carrier.tasks().items():
            tasks.loop(name, task)
    tasks.every("reclaim", min(5.0, config.queue.lease_seconds / 4), ctx.outbox.reclaim)
    # Sends the carrier took but Postgres has not recorded (it was away): this process's, and orphans in Redis.
    tasks.every("record_sends", config.queue.record_interval, lambda: sending.record_kept(ctx))
    # Periodic work runs once per period across every process sharing this Redis (once=True).
    tasks.every("sweep", config.queue.sweep_interval, lambda: sweeper.sweep(ctx), once=True)
    tasks.every("queue_depth", 5.0, lambda: sweeper.report_depth(ctx))
    tasks.every("expiry", config.tasks.expiry_interval, lambda: conversations.expire_idle(ctx), once=True)
    # In every process, at start, every check and soon after a doubt: confirm the routing table is in step with
    # Postgres, rebuilding it (one process, under a lock) if not. A million routes take minutes, so serving does
    # not wait; lookups fall back to Postgres meanwhile.
    tasks.loop("routes", lambda: ctx.routes.keep_in_step(config.tasks.routes_check_interval))
    tasks.every("daily_reset", config.limits.reset_interval, lambda: limits.reset_days(ctx), once=True)
    tasks.every("rate_monitor", config.compliance.monitor_interval, lambda: monitoring.check(ctx), once=True)
    tasks.every("webhooks", config.hooks.interval, lambda: hooks.deliver_due(ctx, app[HTTP]))
    app[TASKS] = tasks
    yield
    await tasks.stop()


async def _freeze_startup_objects(app: web.Application) -> None:
    """What exists once started (modules, phone metadata, pools) lives as long as the process: keep it out of the
    garbage collector's full passes, which otherwise stall the event loop for tens of milliseconds."""
    gc.collect()
    gc.freeze()


def create_app(config: Config) -> web.Application:
    limit = config.server.max_header_bytes
    app = web.Application(client_max_size=config.server.max_body_bytes,
                          handler_args={"max_line_size": limit, "max_field_size": limit},
                          middlewares=[context_middleware, error_middleware, body_deadline_middleware,
                                       auth_middleware])
    app[CONFIG] = config
    app[METRICS] = Metrics()
    app.cleanup_ctx.extend([postgres, redis, http_client, services, batching, background])
    app.on_startup.append(_freeze_startup_objects)
    ops.add_routes(app)
    app[CARRIERS] = carriers.build(config)
    receiving.add_routes(app, app[CARRIERS])
    api.add_routes(app)
    return app
