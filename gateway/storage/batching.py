"""Group commit and pipelining: callers at the same moment share one round trip (and, in Postgres, one commit)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

import asyncpg
import redis.asyncio as aioredis
import structlog

from gateway.storage.db import QUERIES
from gateway.ops.metrics import Metrics

if TYPE_CHECKING:
    from gateway.storage.messages import BeginSend, RecordAccepted, StoreRelayed

log = structlog.get_logger(__name__)
P = TypeVar("P", bound=tuple)  # a statement's parameters, in $n order (a NamedTuple, so sorted by field name)


class Coalescer:
    """Callers hand in work and wait; one loop flushes everything waiting at once.

    `workers` flushes run at a time (run() is started that many times): while they are in flight the next
    batch gathers, so batches grow with the load and a lone caller waits for no one. Every round trip costs
    a few hundred microseconds of CPU on a busy box, which is what this saves.
    """

    workers = 1

    def __init__(self, name: str, metrics: Metrics, max_size: int) -> None:
        self.name = name
        self.metrics = metrics
        self.max_size = max_size
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._wake = asyncio.Event()

    @property
    def waiting(self) -> int:
        """Callers whose work has not been sent yet."""
        return len(self._pending)

    async def _submit(self, work: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        """Flush for as long as the task runs; a caller left waiting at shutdown gets an error, not a hang."""
        batch: list[tuple[Any, asyncio.Future]] = []
        try:
            while True:
                while not self._pending:  # no await between the check and the wait: no wake-up is lost
                    self._wake.clear()
                    await self._wake.wait()
                batch, self._pending = self._pending[:self.max_size], self._pending[self.max_size:]
                batch = [(work, future) for work, future in batch if not future.done()]
                if batch:
                    self.metrics.batch_size.labels(self.name).observe(len(batch))
                    await self._flush(batch)
                batch = []
        finally:
            for _, future in batch + self._pending:
                _settle(future, exception=ConnectionError(f"the {self.name} batch stopped"))
            self._pending = []

    async def _flush(self, batch: list[tuple[Any, asyncio.Future]]) -> None:
        raise NotImplementedError


class Batched(Coalescer, Generic[P]):
    """One Postgres statement, run for every caller waiting on it in one go.

    asyncpg's fetchmany sends all the callers' arguments in one round trip, and Postgres runs them in one
    implicit transaction: one commit for the batch, and all of it or none of it. Each caller still gets its
    answer only once that commit is done, so a webhook is answered 200 only after its message is durable.
    The statement must return exactly one row per run. One batch at a time per process; `order` sorts a
    batch by the rows its runs lock, so that batches of several processes take shared rows in the same
    order and cannot deadlock.

    A run's parameters are one tuple in the statement's $n order: a NamedTuple defined beside the storage
    function that runs it (gateway/storage/messages.py), so `order` reads fields by name.
    """

    def __init__(self, name: str, query: str, pool: asyncpg.Pool, metrics: Metrics, max_size: int,
                 order: Callable[[P], Any] | None = None) -> None:
        super().__init__(name, metrics, max_size)
        self.query = query
        self.pool = pool
        self.order = order

    async def fetchrow(self, params: P) -> asyncpg.Record:
        """The statement's one row for these parameters, once the batch holding them has committed."""
        return await self._submit(params)

    async def _flush(self, batch: list[tuple[P, asyncio.Future]]) -> None:
        if self.order is not None:
            batch.sort(key=lambda run: self.order(run[0]))
        try:
            rows = await self.pool.fetchmany(self.query, [args for args, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exception=exc)
                return
            # Nothing of the batch was stored. Each on its own, so that one bad run (or a deadlock with
            # another batch) fails only its own caller.
            log.warning("batch_split", statement=self.name, size=len(batch), error=type(exc).__name__)
            self.metrics.batch_splits.labels(self.name).inc()
            for args, future in batch:
                try:
                    _settle(future, await self.pool.fetchrow(self.query, *args))
                except Exception as single:
                    _settle(future, exception=single)
            return
        for (_, future), row in zip(batch, rows, strict=True):
            _settle(future, row)


class Pipelined(Coalescer):
    """Redis commands from every caller waiting at once, sent in one pipeline (no transaction).

    execute(build): build adds the caller's commands to the pipeline; the caller gets their replies, in
    order, or the first error among them. A connection error fails every caller of that pipeline, as it
    would have failed each of them alone.
    """

    # Several pipelines in flight: each caller makes several Redis calls in a row, and with one pipeline at a
    # time each call would wait for the one before it. Redis commands need no ordering across callers.
    workers = 4

    def __init__(self, redis: aioredis.Redis, metrics: Metrics, max_size: int) -> None:
        super().__init__("redis", metrics, max_size)
        self.redis = redis

    async def execute(self, build: Callable[[Any], object]) -> list:
        return await self._submit(build)

    async def _flush(self, batch: list[tuple[Callable, asyncio.Future]]) -> None:
        spans = []
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for build, _ in batch:
                    start = len(pipe)
                    build(pipe)
                    spans.append((start, len(pipe)))
                replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            for _, future in batch:
                _settle(future, exception=exc)
            return
        for (_, future), (start, end) in zip(batch, spans):
            mine = replies[start:end]
            error = next((reply for reply in mine if isinstance(reply, Exception)), None)
            _settle(future, mine, error)


def _settle(future: asyncio.Future, result: Any = None, exception: BaseException | None = None) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(result)


@dataclass
class Statements:
    """The round trips on the per-message path, each coalesced across concurrent callers."""

    store_relayed: Batched[StoreRelayed]
    begin_send: Batched[BeginSend]
    record_accepted: Batched[RecordAccepted]
    redis: Pipelined

    @classmethod
    def create(cls, pool: asyncpg.Pool, redis: aioredis.Redis, metrics: Metrics, max_size: int) -> Statements:
        def batched(name: str, query: str, order: Callable[[Any], Any]) -> Batched:
            return Batched(name, getattr(QUERIES, query), pool, metrics, max_size, order)

        return cls(
            # Locks the conversation row, then the sender's contact.
            batched("store_relayed", "store_relayed_message", order=lambda run: (run.conversation_id, run.sender)),
            # Locks the message row, then the recipient's contact (looked up by id: the order is by id).
            batched("begin_send", "begin_send", order=lambda run: run.message_id),
            # Locks the message row, then the community's counter shard.
            batched("record_accepted", "record_send_accepted",
                    order=lambda run: (run.community_id or 0, run.shard, run.message_id)),
            Pipelined(redis, metrics, max_size),
        )

    def all(self) -> tuple[Coalescer, ...]:
        return self.store_relayed, self.begin_send, self.record_accepted, self.redis
