"""The routing table: (proxy number, sender) -> open conversations, hot in Redis, true in Postgres.

Redis keys (one hash per participant and number, so lookups are one round trip); both keys of a participant
carry the hash tag {proxy:participant}, so the script that updates them together works on Redis Cluster:
  gw:route:{proxy:participant}  hash  conversation id -> JSON [recipient, recipient name, code, sender name]
  gw:last:{proxy:participant}   string  the conversation that last relayed a message to the participant
Writes go to Postgres first (by the caller), then here. Any Redis failure falls back to Postgres.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway.batching import Pipelined
from gateway.db import QUERIES
from gateway.metrics import Metrics
from gateway.phones import mask
from gateway.relay import RouteEntry

ROUTE_PREFIX = "gw:route:"
LAST_PREFIX = "gw:last:"
REBUILD_LOCK = "gw:routes:rebuilding"
# Present while Redis holds the whole table; gone after a Redis restart without persistence or a flush.
BUILT = "gw:routes:built"
PAGE = 5000

log = structlog.get_logger(__name__)

# Remove a conversation from a participant's hash, and the "last relayed" pointer if it names it.
FORGET = """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""


def route_key(proxy: str, participant: str) -> str:
    return f"{ROUTE_PREFIX}{{{proxy}:{participant}}}"


def last_key(proxy: str, participant: str) -> str:
    return f"{LAST_PREFIX}{{{proxy}:{participant}}}"


@dataclass(frozen=True)
class OpenConversation:
    """What the routing table needs to know of a conversation."""

    id: int
    proxy_number: str
    code: str
    prospect_phone: str
    prospect_name: str
    advocate_phone: str
    advocate_name: str

    def sides(self) -> tuple[tuple[str, RouteEntry], tuple[str, RouteEntry]]:
        """(sender phone, the entry that sender sees) for both participants."""
        return (
            (self.prospect_phone,
             RouteEntry(self.id, self.advocate_phone, self.advocate_name, self.code, self.prospect_name)),
            (self.advocate_phone,
             RouteEntry(self.id, self.prospect_phone, self.prospect_name, self.code, self.advocate_name)),
        )


@dataclass(frozen=True)
class Lookup:
    entries: tuple[RouteEntry, ...]
    last_relayed: int | None
    source: str  # "redis" or "postgres"


def _encode(entry: RouteEntry) -> str:
    return json.dumps([entry.recipient, entry.recipient_name, entry.code, entry.sender_name])


def _decode(field: str, value: str) -> RouteEntry:
    recipient, recipient_name, code, sender_name = json.loads(value)
    return RouteEntry(int(field), recipient, recipient_name, code, sender_name)


class RouteTable:
    def __init__(self, redis: aioredis.Redis, pool: asyncpg.Pool, metrics: Metrics,
                 pipelined: Pipelined | None = None) -> None:
        self.redis = redis
        self.pool = pool
        self.metrics = metrics
        self.pipelined = pipelined  # the per-message reads share a pipeline with other callers when given
        self._forget = redis.register_script(FORGET)

    async def _read(self, build) -> list:
        if self.pipelined is not None:
            return await self.pipelined.execute(build)
        async with self.redis.pipeline(transaction=False) as pipe:
            build(pipe)
            return await pipe.execute()

    async def lookup(self, proxy: str, sender: str) -> Lookup:
        """The sender's open conversations on this number: Redis, else Postgres (and fill Redis)."""
        started = time.perf_counter()
        try:
            raw, last = await self._read(lambda pipe: (pipe.hgetall(route_key(proxy, sender)),
                                                       pipe.get(last_key(proxy, sender))))
        except RedisError as exc:
            self._fell_back("lookup", exc, proxy=mask(proxy), sender=mask(sender))
            result = await self._from_postgres(proxy, sender)
        else:
            if raw:
                entries = tuple(_decode(f, v) for f, v in raw.items())
                result = Lookup(entries, int(last) if last else None, "redis")
                if len(entries) > 1 and last is None:
                    result = Lookup(entries, await self._last_from_postgres(proxy, sender, entries), "redis")
            else:
                result = await self._from_postgres(proxy, sender)
                if result.entries:
                    await self._fill(proxy, sender, result.entries)
        self.metrics.route_lookup.labels(result.source).observe(time.perf_counter() - started)
        return result

    async def open_count(self, proxy: str, participant: str) -> int:
        """How many open conversations the participant has on this number (for the code prefix)."""
        try:
            [count] = await self._read(lambda pipe: pipe.hlen(route_key(proxy, participant)))
            if count:
                return count
        except RedisError as exc:
            self._fell_back("open_count", exc)
        return len((await self._from_postgres(proxy, participant)).entries)

    async def add(self, conversation: OpenConversation) -> None:
        """Write-through after the conversation is in Postgres; a failure leaves Postgres to answer."""
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for sender, entry in conversation.sides():
                    pipe.hset(route_key(conversation.proxy_number, sender), str(entry.conversation_id),
                              _encode(entry))
                await pipe.execute()
        except RedisError as exc:
            self._fell_back("add", exc, conversation_id=conversation.id)

    async def remove(self, conversation: OpenConversation) -> None:
        for sender, _ in conversation.sides():
            await self.forget(conversation.proxy_number, sender, conversation.id)

    async def forget(self, proxy: str, participant: str, conversation_id: int) -> None:
        try:
            await self._forget(keys=[route_key(proxy, participant), last_key(proxy, participant)],
                               args=[str(conversation_id)])
        except RedisError as exc:
            self._fell_back("remove", exc, conversation_id=conversation_id)

    @staticmethod
    def mark_last_on(pipe, proxy: str, recipient: str, conversation_id: int) -> None:
        """mark_last in a caller's pipeline (the queue's, right after a relay is stored)."""
        pipe.set(last_key(proxy, recipient), str(conversation_id))

    async def rebuild(self) -> int:
        """Prune entries of closed conversations, then write every open one; one process at a time."""
        if not await self.redis.set(REBUILD_LOCK, "1", nx=True, ex=600):
            log.info("route_rebuild_skipped", reason="another process is rebuilding")
            return 0
        try:
            # Prune first: after a Redis loss there is nothing to scan, and the write is all the work.
            pruned = await self._prune()
            written = await self._write_all()
            await self.redis.set(BUILT, "1")
        finally:
            await self.redis.delete(REBUILD_LOCK)
        log.info("routes_rebuilt", conversations=written, pruned=pruned)
        return written

    async def ensure_built(self) -> None:
        """Rebuild when Redis lost the table (restarted empty, flushed); misses meanwhile go to Postgres."""
        if not await self.redis.exists(BUILT):
            await self.rebuild()

    async def _write_all(self) -> int:
        after, written = 0, 0
        while True:
            rows = await self.pool.fetch(QUERIES.list_open_routes, after, PAGE)
            if not rows:
                return written
            async with self.redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    conversation = OpenConversation(**dict(row))
                    for sender, entry in conversation.sides():
                        pipe.hset(route_key(conversation.proxy_number, sender), str(entry.conversation_id),
                                  _encode(entry))
                await pipe.execute()
            written += len(rows)
            after = rows[-1]["id"]

    async def _prune(self) -> int:
        """Drop entries of conversations Postgres no longer has open: a batch of keys, one query, one pipeline."""
        pruned, batch = 0, []
        async for key in self.redis.scan_iter(match=f"{ROUTE_PREFIX}*", count=PAGE):
            batch.append(key)
            if len(batch) >= PAGE:
                pruned += await self._prune_batch(batch)
                batch = []
        return pruned + (await self._prune_batch(batch) if batch else 0)

    async def _prune_batch(self, keys: list[str]) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hkeys(key)
            fields = await pipe.execute()
        ids = {int(f) for key_fields in fields for f in key_fields}
        still_open = {r["id"] for r in await self.pool.fetch(QUERIES.find_open_conversation_ids, list(ids))}
        stale = [(key, [f for f in key_fields if int(f) not in still_open]) for key, key_fields in zip(keys, fields)]
        stale = [(key, gone) for key, gone in stale if gone]
        if stale:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, gone in stale:
                    pipe.hdel(key, *gone)
                await pipe.execute()
        return sum(len(gone) for _, gone in stale)

    async def _from_postgres(self, proxy: str, sender: str) -> Lookup:
        rows = await self.pool.fetch(QUERIES.find_routes_for_sender, proxy, sender)
        entries = tuple(RouteEntry(r["conversation_id"], r["recipient"], r["recipient_name"], r["code"],
                                   r["sender_name"]) for r in rows)
        last = await self._last_from_postgres(proxy, sender, entries) if len(entries) > 1 else None
        return Lookup(entries, last, "postgres")

    async def _last_from_postgres(self, proxy: str, participant: str, entries) -> int | None:
        ids = [entry.conversation_id for entry in entries]
        return await self.pool.fetchval(QUERIES.find_last_relayed, proxy, participant, ids)

    async def _fill(self, proxy: str, sender: str, entries: tuple[RouteEntry, ...]) -> None:
        try:
            await self.redis.hset(route_key(proxy, sender),
                                  mapping={str(e.conversation_id): _encode(e) for e in entries})
        except RedisError as exc:
            self._fell_back("fill", exc)

    def _fell_back(self, operation: str, exc: Exception, **context: object) -> None:
        self.metrics.redis_fallbacks.labels(operation).inc()
        log.warning("redis_call_failed", operation=operation, error=type(exc).__name__, **context)
