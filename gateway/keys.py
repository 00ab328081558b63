"""Every typed application key, one per resource; nothing else."""

from __future__ import annotations

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from aiohttp import web

from gateway.broadcasting.sends import TemplateSends
from gateway.carriers import Carriers
from gateway.clock import Clock
from gateway.compliance.limits import Counters
from gateway.config import Config
from gateway.messaging.whatsapp import WhatsApp
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.outbox import Outbox
from gateway.ops.metrics import Metrics
from gateway.ops.tasks import Supervisor
from gateway.messaging.conversations import Conversations
from gateway.messaging.inbound import Receiver
from gateway.messaging.number_carriers import NumberCarriers
from gateway.messaging.statuses import StatusUpdates
from gateway.media.outgoing import Outgoing
from gateway.platform.callbacks import Callbacks
from gateway.platform.events import Poster
from gateway.routing.table import RouteTable
from gateway.storage.batching import Statements
from gateway.verification.codes import Verifier
from gateway.verification.line_types import LineTypes

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)  # the time quiet hours go by (a test's own clock, else the system's)
METRICS = web.AppKey("metrics", Metrics)
POOL = web.AppKey("pool", asyncpg.Pool)
# The statements on every message's path (the batched ones, status callbacks), planned once: see app.postgres.
PATH_POOL = web.AppKey("path_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", aioredis.Redis)
HTTP = web.AppKey("http", aiohttp.ClientSession)  # to carriers: sends and lookups
# To the platform (events, intercept and out-of-session callbacks): its own connections, so receivers that hang
# hold none of the carriers' and never hold up a send.
PLATFORM_HTTP = web.AppKey("platform_http", aiohttp.ClientSession)
CARRIERS = web.AppKey("carriers", Carriers)  # every configured carrier, by name
TOKEN_PATHS = web.AppKey("token_paths", tuple)  # path prefixes that need the API token: /v1/, carriers' api_prefix
# Routes (their patterns) whose handler reads the body as a stream (a CSV import): not read whole beforehand.
STREAMED_PATHS = web.AppKey("streamed_paths", frozenset)
TASKS = web.AppKey("tasks", Supervisor)
# The platform's side (issue 12): the API tokens as configured, each with what it may reach (gateway/tokens.py).
TOKENS = web.AppKey("tokens", tuple)

# The messaging side: what its handlers hand to the domain (issue 10, typed storage for messaging).
CONVERSATIONS = web.AppKey("conversations", Conversations)
RECEIVER = web.AppKey("receiver", Receiver)
STATUS_UPDATES = web.AppKey("status_updates", StatusUpdates)
WHATSAPP = web.AppKey("whatsapp", WhatsApp)
NUMBER_CARRIERS = web.AppKey("number_carriers", NumberCarriers)  # which carrier may speak for a number
# Communities, compliance and verification (issue 10's storage-rest part).
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
COUNTERS = web.AppKey("counters", Counters)
LINE_TYPES = web.AppKey("line_types", LineTypes)
VERIFIER = web.AppKey("verifier", Verifier)
EVENTS = web.AppKey("events", Poster)
# The route table, the outbound queue and the batched statements (issue 10's cleanup: one key per resource).
ROUTES = web.AppKey("routes", RouteTable)
OUTBOX = web.AppKey("outbox", Outbox)
STATEMENTS = web.AppKey("statements", Statements)
# The platform's callbacks: intercept and out-of-session URLs (issue 12).
CALLBACKS = web.AppKey("callbacks", Callbacks)
# Pictures (issue 14): what the send path and the signed media routes use (the key, the pool, media.* settings).
MEDIA = web.AppKey("media", Outgoing)
# Template sends (issue 15): triggered sends, broadcasts and their loop.
TEMPLATE_SENDS = web.AppKey("template_sends", TemplateSends)
