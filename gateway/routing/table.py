"""The routing table: (proxy number, sender) -> open conversations, hot in Redis, true in Postgres.

Redis keys (one hash per participant and number, so lookups are one round trip); both keys of a participant
carry the hash tag {proxy:participant}, so the script that updates them together works on Redis Cluster:
  gw:route:{proxy:participant}  hash  conversation id -> JSON [recipient, recipient name, code, sender name]
  gw:last:{proxy:participant}   string  the conversation that last relayed a message to the participant
  gw:routes:built               string  "{generation}:{run_id}:{token}": the table was built from Postgres at that
                                        route generation, on the Redis server with that run_id
Writes go to Postgres first (by the caller), then here. Any Redis failure falls back to Postgres.

In step with Postgres: a write-through that fails bumps the route generation in Postgres (table route_generation),
and Redis's run_id changes on every restart, restore or failover, so a table whose marker names another
generation or another run_id is out of step and is rebuilt. Each process trusts Redis only while the marker read
in the same round trip as the route equals the one it last confirmed against Postgres and the server, and not
after a Redis error of its own or a reconnection to another server, until it confirms again.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Awaitable, Iterable, Literal, TypeVar

import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from gateway.ops.metrics import Metrics
from gateway.ops.tasks import stop_if_cancelled
from gateway.relay.rules import RouteEntry
from gateway.routing.keys import (BUILT, FORGET, PAGE, REBUILD_LOCK, RELEASE, ROUTE_PREFIX, OpenConversation,
                                  RouteLookup, RouteSource, decode, encode, in_step, last_key, others_of,
                                  participant_of, route_key, run_id_of)
from gateway.storage import routes as storage
from gateway.storage.batching import Pipelined
from gateway.storage.db import UNAVAILABLE
from gateway.storage.fallback import AWAY, Away, from_redis

__all__ = ["BUILT", "OpenConversation", "RouteLookup", "RouteTable", "last_key", "route_key"]

log = structlog.get_logger(__name__)
T = TypeVar("T")


class RouteTable:
    """The routing table of one process: lookups, write-through, and keeping Redis in step with Postgres.

    Create it before the client opens its first connection: it asks every new connection of the client's pool
    for its server's run_id, which is how a restart or a failover is noticed at the first command after it.
    """

    def __init__(self, redis: aioredis.Redis, pool: asyncpg.Pool, metrics: Metrics,
                 pipelined: Pipelined | None = None, page: int = PAGE) -> None:
        self.redis = redis
        self.pool = pool
        self.metrics = metrics
        self.pipelined = pipelined  # the per-message reads share a pipeline with other callers when given
        self.page = page  # conversations per round trip of a rebuild
        self._forget = redis.register_script(FORGET)
        self._release = redis.register_script(RELEASE)
        self._confirmed: str | None = None  # the marker last found in step; Redis is trusted while it is there
        self._epoch = 0  # moves on every doubt, so a confirmation that overlapped one is not kept
        self._unbumped = 0  # failed write-throughs whose generation bump has not reached Postgres yet
        self._server: str | None = None  # the run_id of the Redis server this process last talked to
        self._primaries: frozenset[str] = frozenset()  # a cluster's: the run_ids of its primaries, last seen
        self._wake = asyncio.Event()  # set on a doubt: confirm soon rather than at the next interval
        # A cluster client makes each node's connections from its own connection_kwargs, read when it first
        # learns the nodes (its first command), so the hook reaches every node.
        kwargs = redis.connection_kwargs if isinstance(redis, RedisCluster) else redis.connection_pool.connection_kwargs
        kwargs["redis_connect_func"] = self._connected

    @property
    def trusted(self) -> bool:
        """Whether this process currently answers routes from Redis."""
        return self._confirmed is not None

    async def _read(self, build) -> list:
        if self.pipelined is not None:
            return await self.pipelined.execute(build)
        async with self.redis.pipeline(transaction=False) as pipe:
            build(pipe)
            return await pipe.execute()

    async def lookup(self, proxy: str, sender: str, fresh: bool = False) -> RouteLookup:
        """The sender's open conversations on this number: Redis when in step, else Postgres (and fill Redis).

        fresh=True reads Postgres only: for a second look after Redis proved wrong. One round trip to Redis
        (shared with other callers), the marker read with the route.
        """
        started = time.perf_counter()
        if fresh:
            result = await self._from_postgres(proxy, sender)
        else:
            result = await self._lookup(proxy, sender)
        self.metrics.route_lookup.labels(result.source).observe(time.perf_counter() - started)
        return result

    async def _lookup(self, proxy: str, sender: str) -> RouteLookup:
        read = await self._from_redis("lookup", self._read(lambda pipe: (
            pipe.hgetall(route_key(proxy, sender)), pipe.get(last_key(proxy, sender)), pipe.get(BUILT))))
        if read is AWAY:
            return await self._from_postgres(proxy, sender)
        raw, last, marker = read
        if not self._trusts(marker):
            return await self._from_postgres(proxy, sender)
        if not raw:
            result = await self._from_postgres(proxy, sender)
            if result.entries:
                await self._fill(proxy, sender, result.entries)
            return result
        entries = tuple(decode(f, v) for f, v in raw.items())
        if len(entries) > 1 and last is None:
            return RouteLookup(entries, await self._last_from_postgres(proxy, sender, entries), RouteSource.REDIS)
        return RouteLookup(entries, int(last) if last else None, RouteSource.REDIS)

    async def open_count(self, proxy: str, participant: str) -> int:
        """How many open conversations the participant has on this number (for the code prefix)."""
        read = await self._from_redis("open_count", self._read(lambda pipe: (
            pipe.hlen(route_key(proxy, participant)), pipe.get(BUILT))))
        if read is not AWAY:
            count, marker = read
            if count and self._trusts(marker):
                return count
        return len((await self._from_postgres(proxy, participant)).entries)

    async def open_counts(self, proxy: str, participants: list[str]) -> list[int]:
        """open_count for several participants (the recipients of a group's text) in one round trip."""
        read = await self._from_redis("open_count", self._read(lambda pipe: (
            [pipe.hlen(route_key(proxy, participant)) for participant in participants], pipe.get(BUILT))))
        if read is not AWAY and self._trusts(read[-1]) and all(read[:-1]):
            return list(read[:-1])
        return [len((await self._from_postgres(proxy, participant)).entries) for participant in participants]

    def _trusts(self, marker: str | None) -> bool:
        if marker is not None and marker == self._confirmed:
            return True
        self._wake.set()  # out of step, rebuilt by another process, or never confirmed: confirm soon
        return False

    async def add(self, conversation: OpenConversation, gone: Iterable[str] = ()) -> None:
        """Write-through after the conversation is in Postgres; a failure leaves Postgres to answer. After its
        participants changed, this rewrites every active one's entry (each names all the others) and drops the
        entries of those in `gone` (who left)."""
        async def write() -> None:
            async with self.redis.pipeline(transaction=False) as pipe:
                for sender, entry in conversation.sides():
                    pipe.hset(route_key(conversation.proxy_number, sender), str(entry.conversation_id),
                              encode(entry))
                for phone in gone:
                    pipe.hdel(route_key(conversation.proxy_number, phone), str(conversation.id))
                await pipe.execute()

        if await self._from_redis("add", write(), conversation_id=conversation.id) is AWAY:
            await self._lost_write()

    async def remove(self, conversation: OpenConversation) -> None:
        for sender, _ in conversation.sides():
            await self.forget(conversation.proxy_number, sender, conversation.id)

    async def forget(self, proxy: str, participant: str, conversation_id: int) -> None:
        forgotten = self._forget(keys=[route_key(proxy, participant), last_key(proxy, participant)],
                                 args=[str(conversation_id)])
        if await self._from_redis("remove", forgotten, conversation_id=conversation_id) is AWAY:
            await self._lost_write()

    @staticmethod
    def mark_last_on(pipe, proxy: str, recipient: str, conversation_id: int) -> None:
        """mark_last in a caller's pipeline (the queue's, right after a relay is stored)."""
        pipe.set(last_key(proxy, recipient), str(conversation_id))

    async def _lost_write(self) -> None:
        """Postgres changed and Redis did not: the table is behind until rebuilt. Bump the generation, so every
        process's next check rebuilds, and drop the marker if Redis answers, so every process stops trusting it
        at its next lookup. A bump that fails is retried by the next confirm."""
        self._unbumped += 1
        try:
            await self._bump()
        except (*UNAVAILABLE, asyncpg.PostgresError) as exc:
            log.warning("route_generation_bump_deferred", error=type(exc).__name__)
        try:
            await self.redis.delete(BUILT)
        except RedisError:
            pass  # Redis is away: the generation, or its new run_id when it restarts, tells

    async def _bump(self) -> None:
        pending = self._unbumped
        if pending:
            await storage.bump_route_generation(self.pool)
            self._unbumped = max(0, self._unbumped - pending)

    def _doubt(self) -> None:
        self._confirmed = None
        self._epoch += 1
        self._wake.set()

    def _observe(self, run_id: str) -> None:
        if isinstance(self.redis, RedisCluster):
            # A connection to a node that is not a primary seen before: a failover, or a node restarted.
            if self._primaries and run_id not in self._primaries:
                log.warning("redis_server_changed")
                self._doubt()
            return
        if self._server is not None and run_id != self._server:
            log.warning("redis_server_changed")
            self._doubt()
        self._server = run_id

    async def _connected(self, connection) -> None:
        """Every new or re-made connection of the pool: the usual handshake, then which server this is."""
        await connection.on_connect()
        try:
            await connection.send_command("INFO", "server")
            run_id = run_id_of(await connection.read_response())
        except ResponseError:  # INFO refused (some proxies): the generation still tells lost writes
            return
        self._observe(run_id)

    async def _server_run_id(self) -> str:
        """The server's run_id; a cluster's: its primaries' run_ids, sorted and joined (a failover or a restart
        of any primary changes it, and the table, which may have lost writes on that shard, is rebuilt)."""
        if isinstance(self.redis, RedisCluster):
            infos = await self.redis.info("server", target_nodes=RedisCluster.PRIMARIES)
            self._primaries = frozenset(info.get("run_id", "") for info in infos.values())
            return ",".join(sorted(self._primaries))
        try:
            run_id = (await self.redis.info("server")).get("run_id", "")
        except ResponseError:
            run_id = ""
        self._observe(run_id)
        return run_id

    async def confirm(self) -> bool:
        """Trust Redis again if its table is in step (marker at Postgres's generation, on this server), after
        rebuilding it if not; False when another process is rebuilding or a doubt came up meanwhile."""
        epoch = self._epoch
        await self._bump()
        run_id = await self._server_run_id()
        generation = await storage.find_route_generation(self.pool)
        marker = await self.redis.get(BUILT)
        if not in_step(marker, generation, run_id):
            marker = await self.rebuild(generation, run_id)
        if marker is None or epoch != self._epoch:
            return False
        self._confirmed = marker
        return True

    async def keep_in_step(self, interval: float) -> None:
        """Every process, for as long as it runs: confirm at start, every `interval` seconds, and soon after a
        doubt (at most once per `interval`, or a second)."""
        gap = min(interval, 1.0)
        while True:
            self._wake.clear()
            try:
                await self.confirm()
            except (RedisError, *UNAVAILABLE) as exc:
                self.metrics.task_failures.labels("routes").inc()
                log.warning("routes_check_failed", error=type(exc).__name__)
            except Exception:
                self.metrics.task_failures.labels("routes").inc()
                log.exception("task_step_failed", task="routes")
            stop_if_cancelled()
            await asyncio.sleep(gap)
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.0, interval - gap))
            except TimeoutError:
                pass

    async def rebuild(self, generation: int | None = None, run_id: str | None = None) -> str | None:
        """Prune entries of closed conversations, then write every open one; one process at a time.

        generation and run_id must be read before the rebuild starts, so that a write-through failing during it
        leaves the new marker out of step. Returns the marker set, or None when another process holds the lock
        or the server changed meanwhile.
        """
        token = secrets.token_hex(8)
        if not await self.redis.set(REBUILD_LOCK, token, nx=True, ex=600):
            log.info("route_rebuild_skipped", reason="another process is rebuilding")
            return None
        try:
            if generation is None:
                generation = await storage.find_route_generation(self.pool)
            if run_id is None:
                run_id = await self._server_run_id()
            # Prune first: after a Redis loss there is nothing to scan, and the write is all the work.
            pruned = await self._prune()
            written = await self._write_all()
            if await self._server_run_id() != run_id:
                log.warning("route_rebuild_abandoned", reason="the Redis server changed")
                return None
            marker = f"{generation}:{run_id}:{token}"
            await self.redis.set(BUILT, marker)
        finally:
            await self._release(keys=[REBUILD_LOCK], args=[token])
        log.info("routes_rebuilt", conversations=written, pruned=pruned, generation=generation)
        return marker

    async def _write_all(self) -> int:
        after, written = 0, 0
        while True:
            conversations = await storage.list_open_routes(self.pool, after=after, limit=self.page)
            if not conversations:
                return written
            await self._write_checked([(conversation.proxy_number, sender, entry)
                                       for conversation in conversations for sender, entry in conversation.sides()])
            written += len(conversations)
            after = conversations[-1].id

    async def _write_checked(self, routes: list[tuple[str, str, RouteEntry]]) -> None:
        """Write (proxy, sender, entry) routes read from Postgres, then check them against Postgres again.

        A close or a member leaving commits, then removes its routes: if that removal ran between our read and our
        write, the write would bring the route back. Checking after the write catches it (dropped), and a route
        whose recipients moved meanwhile (a member added or removed) is written again as Postgres has it now; a
        change after the check writes its routes itself.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            for proxy, sender, entry in routes:
                pipe.hset(route_key(proxy, sender), str(entry.conversation_id), encode(entry))
            await pipe.execute()
        active = await storage.find_active_routes(self.pool, routes=[(e.conversation_id, s) for _, s, e in routes])
        gone = [(proxy, sender, entry) for proxy, sender, entry in routes
                if (entry.conversation_id, sender) not in active]
        moved = {entry.conversation_id for _, sender, entry in routes
                 if active.get((entry.conversation_id, sender), others_of(entry)) != others_of(entry)}
        async with self.redis.pipeline(transaction=False) as pipe:
            for proxy, sender, entry in gone:
                pipe.hdel(route_key(proxy, sender), str(entry.conversation_id))
            for conversation in await storage.list_routes_of(self.pool, ids=sorted(moved)) if moved else ():
                for sender, entry in conversation.sides():
                    pipe.hset(route_key(conversation.proxy_number, sender), str(conversation.id), encode(entry))
            await pipe.execute()

    async def _prune(self) -> int:
        """Drop entries of conversations Postgres no longer has open, or that their participant has left: a batch of
        keys, one query, one pipeline."""
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
        routes = [(int(f), participant_of(key)) for key, key_fields in zip(keys, fields) for f in key_fields]
        active = await storage.find_active_routes(self.pool, routes=routes)
        stale = [(key, [f for f in key_fields if (int(f), participant_of(key)) not in active])
                 for key, key_fields in zip(keys, fields)]
        stale = [(key, gone) for key, gone in stale if gone]
        if stale:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, gone in stale:
                    pipe.hdel(key, *gone)
                await pipe.execute()
        return sum(len(gone) for _, gone in stale)

    async def _from_postgres(self, proxy: str, sender: str) -> RouteLookup:
        entries = tuple(await storage.find_routes_for_sender(self.pool, proxy=proxy, sender=sender))
        last = await self._last_from_postgres(proxy, sender, entries) if len(entries) > 1 else None
        return RouteLookup(entries, last, RouteSource.POSTGRES)

    async def _last_from_postgres(self, proxy: str, participant: str,
                                  entries: tuple[RouteEntry, ...]) -> int | None:
        return await storage.find_last_relayed(self.pool, proxy=proxy, participant=participant,
                                               conversation_ids=[entry.conversation_id for entry in entries])

    async def _fill(self, proxy: str, sender: str, entries: tuple[RouteEntry, ...]) -> None:
        await self._from_redis("fill", self._write_checked([(proxy, sender, entry) for entry in entries]))

    async def _from_redis(self, operation: str, call: Awaitable[T], **context: object) -> T | Literal[Away.AWAY]:
        """from_redis, and when Redis is away, stop trusting it until it is confirmed again (it may have
        restarted, failed over, or missed a write): the caller answers from Postgres."""
        return await from_redis(self.metrics, operation, call, on_away=lambda _: self._doubt(), **context)
