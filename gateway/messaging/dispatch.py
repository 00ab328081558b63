"""Handing stored messages to the outbound queue: the one step between "stored as queued" and the drainers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Mapping

import structlog
from redis.exceptions import RedisError

from gateway.messaging.outbox import Outbox
from gateway.ops.metrics import Metrics
from gateway.routing.table import RouteTable
from gateway.storage.batching import Pipelined
from gateway.storage.outbound import NewMessage
from gateway.vocabulary import MessageStatus

log = structlog.get_logger(__name__)


@dataclass
class Dispatcher:
    """Queues messages in Redis, pipelined with whatever else this moment sends there."""

    pipeline: Pipelined
    outbox: Outbox
    routes: RouteTable
    metrics: Metrics
    # Set when this process queues a message, so its drainer need not wait for the next poll.
    queued: asyncio.Event = field(default_factory=asyncio.Event)

    async def dispatch(self, message: NewMessage | Mapping[str, Any], priority: str, from_number: str,
                       relays: tuple[str, int] | None = None) -> bool:
        """Queue a message just stored (a row with id, status, status_reason, segments); one stored as
        blocked is counted instead. True when queued.

        relays=(recipient, conversation id): the message relays a conversation to the recipient, so the routing
        table also remembers it as the conversation that last texted them (same round trip).
        """
        if not isinstance(message, NewMessage):  # a record, until every caller's storage returns typed rows
            message = NewMessage(message["id"], message["status"], message["status_reason"], message["segments"])
        if message.status != MessageStatus.QUEUED:
            self.metrics.blocked.labels(message.status_reason or "unknown").inc()
            log.info("message_blocked", blocked_message_id=message.id, reason=message.status_reason)
            return False
        await self.queue(message.id, priority, from_number, message.segments, relays)
        return True

    async def queue(self, message_id: int, priority: str, from_number: str, segments: int = 1,
                    relays: tuple[str, int] | None = None) -> None:
        """Hand a message already stored as "queued" to the drainers.

        If Redis is away the message stays queued in Postgres and the sweeper queues it later.
        """
        def build(pipe) -> None:
            self.outbox.enqueue_on(pipe, message_id, priority, from_number, segments)
            if relays is not None:
                self.routes.mark_last_on(pipe, from_number, *relays)

        try:
            await self.pipeline.execute(build)
        except RedisError as exc:
            self.metrics.redis_fallbacks.labels("enqueue").inc()
            log.warning("message_queue_deferred", message_id=message_id, error=type(exc).__name__)
            return
        self.queued.set()
