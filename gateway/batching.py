"""Group commit: callers of the same statement at the same moment share one round trip and one commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from gateway.db import QUERIES
from gateway.metrics import Metrics

log = structlog.get_logger(__name__)


class Batched:
    """One statement, run for every caller waiting on it in one go.

    asyncpg's fetchmany sends all the callers' arguments in one round trip, and Postgres runs them in one
    implicit transaction: one commit for the batch, and all of it or none of it. Each caller still gets its
    answer only once that commit is done, so a webhook is answered 200 only after its message is durable.
    The statement must return exactly one row per run. One loop flushes at a time: while a batch is in
    flight the next one gathers, so batches grow with the load and a lone caller waits for no one.
    """

    def __init__(self, name: str, query: str, pool: asyncpg.Pool, metrics: Metrics, max_size: int) -> None:
        self.name = name
        self.query = query
        self.pool = pool
        self.metrics = metrics
        self.max_size = max_size
        self._pending: list[tuple[tuple, asyncio.Future]] = []
        self._wake = asyncio.Event()

    @property
    def waiting(self) -> int:
        """Callers whose run has not been sent yet."""
        return len(self._pending)

    async def fetchrow(self, *args: Any) -> asyncpg.Record:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((args, future))
        self._wake.set()
        return await future

    async def run(self) -> None:
        """Flush for as long as the task runs; a caller left waiting at shutdown gets an error, not a hang."""
        batch: list[tuple[tuple, asyncio.Future]] = []
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    batch, self._pending = self._pending[:self.max_size], self._pending[self.max_size:]
                    await self._flush([(args, future) for args, future in batch if not future.done()])
                    batch = []
        finally:
            for _, future in batch + self._pending:
                if not future.done():
                    future.set_exception(ConnectionError(f"the {self.name} batch stopped"))
            self._pending = []

    async def _flush(self, batch: list[tuple[tuple, asyncio.Future]]) -> None:
        if not batch:
            return
        self.metrics.batch_size.labels(self.name).observe(len(batch))
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


def _settle(future: asyncio.Future, row: Any = None, exception: BaseException | None = None) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(row)


@dataclass
class Statements:
    """The statements on the per-message path, each batched."""

    store_relayed: Batched
    begin_send: Batched
    record_accepted: Batched

    @classmethod
    def create(cls, pool: asyncpg.Pool, metrics: Metrics, max_size: int) -> Statements:
        return cls(*(Batched(name, getattr(QUERIES, query), pool, metrics, max_size) for name, query in (
            ("store_relayed", "store_relayed_message"), ("begin_send", "begin_send"),
            ("record_accepted", "record_send_accepted"))))

    def all(self) -> tuple[Batched, ...]:
        return self.store_relayed, self.begin_send, self.record_accepted
