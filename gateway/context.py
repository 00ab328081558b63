"""What the services share: the pools, the routing table, the queue and the metrics of one gateway.

Only app.py and the tests hold a Context: the messaging side's functions take what they use. Compliance,
verification and platform modules still take one while their redesign is under way (gateway/interim.py hands
their functions to the messaging side).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Mapping

import asyncpg
import redis.asyncio as aioredis
import structlog

from gateway.compliance.limits import Counters
from gateway.storage.batching import Statements
from gateway.config import Config
from gateway.storage.messages import StoredOutbound
from gateway.verification.line_types import LineTypes
from gateway.ops.metrics import Metrics
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.outbox import Outbox
from gateway.routing.table import RouteTable

log = structlog.get_logger(__name__)


@dataclass
class Context:
    config: Config
    pool: asyncpg.Pool
    redis: aioredis.Redis
    routes: RouteTable
    outbox: Outbox
    metrics: Metrics
    line_types: LineTypes
    code_key: bytes  # the key of verification code hashes
    events_key: bytes  # the key that signs POSTs to community webhooks
    statements: Statements  # the per-message statements, batched across concurrent callers
    dispatcher: Dispatcher
    counters: Counters  # the communities' segment counters (daily and monthly limits)

    # Until every caller takes the dispatcher itself (issue 10's redesign, in progress).
    @property
    def queued(self) -> asyncio.Event:
        return self.dispatcher.queued

    async def dispatch(self, message: Mapping[str, Any] | StoredOutbound, *args, **kwargs) -> bool:
        """Dispatcher.dispatch for callers that still hand in a row (id, status, status_reason, segments)."""
        if not isinstance(message, StoredOutbound):
            message = StoredOutbound.of(message)
        return await self.dispatcher.dispatch(message, *args, **kwargs)

    async def queue(self, *args, **kwargs) -> None:
        await self.dispatcher.queue(*args, **kwargs)

