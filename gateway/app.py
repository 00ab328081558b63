"""create_app(config): resources started in order and stopped in reverse, middlewares and routes."""

from __future__ import annotations

import functools
import gc
import secrets
from typing import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from gateway import api, carriers
from gateway.platform import events as hooks
from gateway.platform.callbacks import Callbacks
from gateway.compliance import limits, retention
from gateway.compliance import preferences as compliance
from gateway.verification import line_types as lookups
from gateway.compliance import rates as monitoring
from gateway.messaging import conversations
from gateway.messaging import groups
from gateway.storage import db
from gateway.storage import migrate
from gateway.ops import health as ops
from gateway.messaging import sending
from gateway.messaging import quiet, sweeper
from gateway.messaging import receiving
from gateway.messaging import strangers
from gateway.messaging import statuses
from gateway.storage.batching import Statements
from gateway.config import Config
from gateway.tokens import parse_tokens
from gateway.messaging.dispatch import Dispatcher
from gateway.verification.line_types import LineTypes
from gateway.broadcasting import runner as broadcast_runner
from gateway.broadcasting.sends import TemplateSends
from gateway.clock import Clock
from gateway.keys import (CALLBACKS, CARRIERS, CLOCK, CONFIG, CONVERSATIONS, COUNTERS, DISPATCHER, EVENTS, HTTP,
                          LINE_TYPES, MEDIA, METRICS, NUMBER_CARRIERS, OUTBOX, PATH_POOL, PLATFORM_HTTP, POOL,
                          RECEIVER, REDIS, ROUTES, STATEMENTS, STATUS_UPDATES, TASKS, TEMPLATE_SENDS, TOKEN_PATHS,
                          TOKENS, VERIFIER, WHATSAPP)
from gateway.messaging.conversations import Conversations
from gateway.media import fetching, serving, signing
from gateway.media.outgoing import Outgoing
from gateway.messaging.inbound import Receiver
from gateway.messaging import whatsapp
from gateway.messaging.whatsapp import WhatsApp
from gateway.messaging.number_carriers import NumberCarriers
from gateway.messaging.sending import Sender
from gateway.messaging.statuses import StatusUpdates
from gateway.verification.codes import Verifier
from gateway.ops.metrics import Metrics
from gateway.ops.middleware import auth_middleware, body_deadline_middleware, context_middleware, error_middleware
from gateway.api.idempotency import forget_expired, idempotency_middleware
from gateway.api.scope import scope_middleware
from gateway.messaging.outbox import Outbox
from gateway.routing import connect
from gateway.routing.table import RouteTable
from gateway.ops.tasks import Supervisor

log = structlog.get_logger(__name__)


async def postgres(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG].database
    pool = await db.create_pool(config.url, min_size=config.pool_min, max_size=config.pool_max,
                                command_timeout=config.command_timeout, event_url=app[CONFIG].hooks.event_url)
    # The message path's statements get a pool of their own whose sessions plan each statement once: they find
    # their rows by id (or sid, or conversation), and re-planning them with each call's values cost 14% of
    # Postgres's CPU per full cycle (README "The full cycle, growth and many machines"). The other statements
    # (the lists' optional filters) keep per-call plans.
    try:
        if config.migrate_on_start:
            async with pool.acquire() as conn:
                await migrate.migrate(conn)
        path = await db.create_pool(config.url, min_size=1, max_size=config.pool_max,
                                    command_timeout=config.command_timeout, event_url=app[CONFIG].hooks.event_url,
                                    generic_plans=True)
    except BaseException:
        await pool.close()  # start-up stops here: the first pool must not outlive it
        raise
    app[POOL], app[PATH_POOL] = pool, path
    yield
    await path.close()
    await pool.close()


async def redis(app: web.Application) -> AsyncIterator[None]:
    """One Redis server or a Redis Cluster, as the URL says (gateway/routing/connect.py)."""
    client, connections = connect.connect(app[CONFIG].redis)
    app[REDIS] = client
    yield
    await client.aclose()
    if connections is not None:
        await connections.aclose()


async def http_client(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=app[CONFIG].carrier.send_timeout))
    platform = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=app[CONFIG].hooks.timeout))
    app[HTTP], app[PLATFORM_HTTP] = session, platform
    yield
    await platform.close()
    await session.close()


async def services(app: web.Application) -> AsyncIterator[None]:
    """The routing table (rebuilt from Postgres), the queue, the limits' counters, the code verifier, the webhook
    poster and the carriers, once their pools exist; each handler and loop is given the ones it uses."""
    config = app[CONFIG]
    statements = Statements.create(app[PATH_POOL], app[REDIS], app[METRICS], config.database.batch_max)
    routes = RouteTable(app[REDIS], app[POOL], app[METRICS], statements.redis)
    outbox = Outbox(app[REDIS], per_number_rate=config.relay.per_number_rate,
                    lease_seconds=config.queue.lease_seconds)
    line_types = LineTypes(lookups.create(config, app[HTTP]), app[POOL], app[REDIS], app[METRICS], config.lookup)
    code_key = _secret(config.verification.secret, "GATEWAY_VERIFICATION_SECRET")
    events_key = _secret(config.hooks.secret, "GATEWAY_WEBHOOK_SECRET")
    dispatcher = Dispatcher(statements.redis, outbox, routes, app[METRICS])
    counters = limits.Counters(app[REDIS], statements.redis, app[POOL], app[METRICS])
    app[STATEMENTS], app[ROUTES], app[OUTBOX] = statements, routes, outbox
    app[DISPATCHER], app[COUNTERS], app[LINE_TYPES] = dispatcher, counters, line_types
    app[VERIFIER] = Verifier(app[POOL], app[REDIS], dispatcher, app[METRICS], config.verification, code_key)
    app[EVENTS] = hooks.Poster(app[POOL], app[PLATFORM_HTTP], app[METRICS], config.hooks, events_key)
    app[CONVERSATIONS] = Conversations(app[POOL], routes, dispatcher, app[METRICS], config.media.max_message_bytes)
    app[MEDIA] = Outgoing(app[POOL], signing.media_key(events_key), config.public_url, config.media,
                          config.whatsapp)
    keyword = groups.leaving_on_stop(functools.partial(compliance.handle_keyword, app[POOL], dispatcher, app[METRICS]),
                                     app[CONVERSATIONS])
    app[WHATSAPP] = WhatsApp(app[POOL], dispatcher, app[METRICS], config.whatsapp)
    app[RECEIVER] = Receiver(app[POOL], routes, statements.store_relayed, dispatcher, app[METRICS],
                             config.relay.unrouted_reply, keyword, strangers=strangers.welcome,
                             whatsapp=app[WHATSAPP])
    app[CALLBACKS] = Callbacks(app[POOL], app[PLATFORM_HTTP], app[METRICS], config.hooks, events_key,
                               app[RECEIVER])
    carrier_errors = whatsapp.carrier_errors(app[WHATSAPP], functools.partial(
        compliance.record_carrier_error, app[POOL], app[METRICS], config.compliance))
    app[STATUS_UPDATES] = StatusUpdates(app[PATH_POOL], carrier_errors, config.carrier.name, app[METRICS])
    app[NUMBER_CARRIERS] = NumberCarriers(app[POOL], config.carrier.name)
    app[TEMPLATE_SENDS] = TemplateSends(app[POOL], dispatcher, line_types, app[METRICS], config.broadcasts)
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
    flushers = Supervisor(app[METRICS], app[CONFIG].tasks.restart_delay)
    for statement in app[STATEMENTS].all():
        for worker in range(statement.workers):
            flushers.loop(f"batch_{statement.name}_{worker}", statement.run)
    yield
    await flushers.stop()


def _sender(app: web.Application) -> Sender:
    """What the drainers use, from the started services."""
    config = app[CONFIG]
    return Sender(app[POOL], app[STATEMENTS], app[OUTBOX], app[DISPATCHER].queued, app[METRICS], app[CARRIERS],
                  config.queue, config.carrier, config.limits, config.tasks.restart_delay, config.public_url,
                  app[STATUS_UPDATES].carrier_errors, app[COUNTERS], app[REDIS], app[MEDIA], app[WHATSAPP],
                  app[CLOCK])


async def background(app: web.Application) -> AsyncIterator[None]:
    """The loops run in this event loop; stopped (cancelled and awaited) before the pools close."""
    config, metrics, pool, dispatcher = app[CONFIG], app[METRICS], app[POOL], app[DISPATCHER]
    tasks = Supervisor(metrics, config.tasks.restart_delay, app[REDIS])
    _sending_tasks(app, tasks)
    tasks.every("expiry", config.tasks.expiry_interval, lambda: conversations.expire_idle(app[CONVERSATIONS]),
                once=True)
    # In every process, at start, every check and soon after a doubt: confirm the routing table is in step with
    # Postgres, rebuilding it (one process, under a lock) if not. A million routes take minutes, so serving does
    # not wait; lookups fall back to Postgres meanwhile.
    tasks.loop("routes", lambda: app[ROUTES].keep_in_step(config.tasks.routes_check_interval))
    tasks.every("daily_reset", config.limits.reset_interval,
                lambda: limits.reset_days(pool, dispatcher, metrics, config.limits), once=True)
    tasks.every("rate_monitor", config.compliance.monitor_interval,
                lambda: monitoring.check(pool, metrics, config.compliance), once=True)
    # Event deliveries: every process claims (a lease per row) and posts each in a task of its own.
    tasks.loop("webhooks", app[EVENTS].run)
    # Delivered and failed events and finished callbacks past hooks.retention_days, once per period.
    tasks.every("events_retention", 300.0,
                lambda: hooks.forget_old(pool, retention_days=config.hooks.retention_days), once=True)
    # Intercept and out-of-session callbacks: every process claims (a lease per row), woken by its own texts.
    tasks.loop("callbacks", app[CALLBACKS].run)
    # Idempotency-Key answers past server.idempotency_ttl; expired ones are already ignored, this frees the rows.
    tasks.every("idempotency_expiry", min(300.0, config.server.idempotency_ttl), lambda: forget_expired(pool),
                once=True)
    _media_tasks(app, tasks)
    tasks.every("retention", config.retention.interval,
                lambda: retention.run_pass(pool, metrics, config.retention), once=True)
    # Broadcasts: every process starts the due ones and takes pages of recipients (SKIP LOCKED: none twice).
    tasks.every("broadcasts", config.broadcasts.poll_interval, lambda: broadcast_runner.run_once(app[TEMPLATE_SENDS]))
    app[TASKS] = tasks
    yield
    await tasks.stop()


def _sending_tasks(app: web.Application, tasks: Supervisor) -> None:
    """The queue's loops: the drainer, the carriers' own, and what mends the queue and the sends' records."""
    config, metrics, pool, dispatcher = app[CONFIG], app[METRICS], app[POOL], app[DISPATCHER]
    outbox, queued, sender = app[OUTBOX], dispatcher.queued, _sender(app)
    tasks.loop("drain", lambda: sending.drain(sender))
    for carrier in app[CARRIERS]:
        for name, task in carrier.tasks().items():
            tasks.loop(name, task)
    tasks.every("reclaim", min(5.0, config.queue.lease_seconds / 4), outbox.reclaim)
    # Sends the carrier took but Postgres has not recorded (it was away): this process's, and orphans in Redis.
    tasks.every("record_sends", config.queue.record_interval, lambda: sending.record_kept(sender))
    # Periodic work runs once per period across every process sharing this Redis (once=True).
    tasks.every("sweep", config.queue.sweep_interval,
                lambda: sweeper.sweep(pool, outbox, metrics, queued, config.queue), once=True)
    # Its first pass runs as this process starts (unless another serving the same carriers ran it a moment ago):
    # a carrier configured again sends what waited for it. The lease is per set of carriers served: a process
    # without the carrier (the one being replaced) releases nothing, and must not keep one that has it waiting.
    tasks.every("carrier_release", config.queue.sweep_interval,
                lambda: sweeper.release_carrier_held(pool, dispatcher, app[CARRIERS]), once=True,
                lease="carrier_release:" + ",".join(sorted(app[CARRIERS].names)))
    # Texts held for quiet hours whose window opened (by the app's clock) go back to the queue; rows are claimed.
    tasks.every("quiet_release", config.compliance.quiet_release_interval,
                lambda: quiet.release_due(pool, dispatcher, app[CLOCK]), once=True)
    tasks.every("early_statuses", config.queue.sweep_interval,
                lambda: statuses.adopt_early(pool, config.carrier.name), once=True)
    tasks.every("queue_depth", 5.0, lambda: sweeper.report_depth(outbox, metrics))


def _media_tasks(app: web.Application, tasks: Supervisor) -> None:
    """Pictures: every process fetches attachments (a lease per row), woken by its own texts; retention once per
    period across processes."""
    config, receiver = app[CONFIG], app[RECEIVER]
    fetcher = fetching.Fetcher(app[POOL], app[HTTP], app[CARRIERS], app[DISPATCHER], app[METRICS], config.media,
                               config.carrier.name, receiver.media_due, receiver.callbacks_due, config.whatsapp)
    tasks.loop("media_fetch", fetcher.run)
    tasks.every("media_retention", config.tasks.expiry_interval, lambda: fetching.forget_expired(app[POOL], app[METRICS],
                                                                          config.media.retention_days), once=True)


async def _freeze_startup_objects(app: web.Application) -> None:
    """What exists once started (modules, phone metadata, pools) lives as long as the process: keep it out of the
    garbage collector's full passes, which otherwise stall the event loop for tens of milliseconds."""
    gc.collect()
    gc.freeze()


def create_app(config: Config, clock: Clock | None = None) -> web.Application:
    limit = config.server.max_header_bytes
    app = web.Application(client_max_size=config.server.max_body_bytes,
                          handler_args={"max_line_size": limit, "max_field_size": limit},
                          middlewares=[context_middleware, error_middleware, body_deadline_middleware,
                                       auth_middleware, scope_middleware, idempotency_middleware])
    if config.server.ops_port:
        app.middlewares.insert(1, ops.ops_port_middleware(config.server.ops_port))
    app[CONFIG] = config
    app[CLOCK] = clock or Clock()
    app[METRICS] = Metrics()
    app.cleanup_ctx.extend([postgres, redis, http_client, services, batching, background])
    app.on_startup.append(_freeze_startup_objects)
    ops.add_routes(app)
    app[CARRIERS] = carriers.build(config)
    app[TOKEN_PATHS] = ("/v1/", *app[CARRIERS].api_prefixes)
    app[TOKENS] = parse_tokens(config.server.api_tokens)
    receiving.add_routes(app, app[CARRIERS])
    serving.add_routes(app)
    api.add_routes(app)
    return app
