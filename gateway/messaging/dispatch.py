"""Handing stored messages to the outbound queue: the one step between "stored as queued" and the drainers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from gateway.messaging.outbox import Outbox
from gateway.ops.metrics import Metrics
from gateway.routing.table import RouteTable
from gateway.storage.batching import Pipelined
from gateway.storage.fallback import AWAY, from_redis
from gateway.storage.messages import StoredOutbound
from gateway.vocabulary import MessageStatus, Priority

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

    async def dispatch(self, message: StoredOutbound, priority: Priority, from_number: str,
                       relays: tuple[str, int] | None = None) -> bool:
        """Queue a message just stored; one stored as blocked is counted instead. True when queued.

        relays=(recipient, conversation id): the message relays a conversation to the recipient, so the routing
        table also remembers it as the conversation that last texted them (same round trip).
        """
        if message.status != MessageStatus.QUEUED:
            self.metrics.blocked.labels(message.status_reason or "unknown").inc()
            log.info("message_blocked", blocked_message_id=message.id, reason=message.status_reason)
            return False
        await self.queue(message.id, priority, from_number, message.segments, relays)
        return True

    async def queue(self, message_id: int, priority: Priority, from_number: str, segments: int = 1,
                    relays: tuple[str, int] | None = None) -> None:
        """Hand a message already stored as "queued" to the drainers.

        If Redis is away the message stays queued in Postgres and the sweeper queues it later.
        """
        def build(pipe) -> None:
            self.outbox.enqueue_on(pipe, message_id, priority, from_number, segments)
            if relays is not None:
                self.routes.mark_last_on(pipe, from_number, *relays)

        if await from_redis(self.metrics, "enqueue", self.pipeline.execute(build), message_id=message_id) is AWAY:
            return
        self.queued.set()

    async def requeue(self, message_id: int, priority: Priority, from_number: str, segments: int = 1) -> None:
        """Queue a message stored as "queued" that the sweeper may have queued already (a release of held texts, a
        broadcast's page: rows committed before their enqueue, which may come later than queue.sweep_after): only
        if it is neither waiting nor in flight. A second ticket claimed while the first is being sent would send
        it twice (begin_send takes "submitting" for a lease that ran out)."""
        if await from_redis(self.metrics, "enqueue", self.pipeline.execute(
                lambda pipe: self.outbox.ensure_on(pipe, message_id, priority, from_number, segments)),
                message_id=message_id) is AWAY:
            return
        self.queued.set()
