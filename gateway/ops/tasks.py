"""The background tasks' owner: starts each loop, restarts it after a crash, cancels and awaits it at shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Awaitable, Callable

import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway.ops.metrics import Metrics

log = structlog.get_logger(__name__)
# A server away (Redis, Postgres, the network): a fault the step waits out, not a bug; logged without a traceback,
# which would say nothing more each interval it lasts.
AWAY = (RedisError, OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)


def stop_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop.

    redis-py (8.1, on Python 3.11) sometimes swallows a cancellation that lands mid-command and returns
    normally; a loop that only relied on the CancelledError would then run forever and hang shutdown.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Supervisor:
    def __init__(self, metrics: Metrics, restart_delay: float, redis: aioredis.Redis | None = None) -> None:
        self.metrics = metrics
        self.restart_delay = restart_delay
        self.redis = redis
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._tasks: dict[str, asyncio.Task] = {}

    def loop(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """A long-running coroutine (a drainer): restarted after restart_delay whenever it crashes."""
        # Its failure and restart series exist at 0 from the start: rate alerts work before the first failure.
        self.metrics.task_failures.labels(name)
        self.metrics.task_restarts.labels(name)
        self._tasks[name] = asyncio.create_task(self._keep_running(name, run), name=name)

    def every(self, name: str, interval: float, step: Callable[[], Awaitable[object]], once: bool = False,
              lease: str | None = None) -> None:
        """A periodic step: a failing step is logged and counted, and the next one runs on time.

        once=True: across all gateway processes sharing this Redis, one runs the step each period; with lease,
        one among those that name the same lease (default: the task's name).
        """

        async def run() -> None:
            while True:
                try:
                    if not once or await self._lease(lease or name, interval):
                        await step()
                except AWAY as exc:
                    self.metrics.task_failures.labels(name).inc()
                    log.warning("task_step_failed", task=name, error=type(exc).__name__)
                except Exception:
                    self.metrics.task_failures.labels(name).inc()
                    log.exception("task_step_failed", task=name)
                stop_if_cancelled()
                await asyncio.sleep(interval)

        self.loop(name, run)

    async def _keep_running(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await run()
                log.warning("task_returned", task=name)
            except Exception:
                self.metrics.task_failures.labels(name).inc()
                log.exception("task_crashed", task=name)
            stop_if_cancelled()
            self.metrics.task_restarts.labels(name).inc()
            await asyncio.sleep(self.restart_delay)
            log.info("task_restarted", task=name)

    async def _lease(self, name: str, interval: float) -> bool:
        """Hold gw:lease:{name} for most of a period; without Redis every process runs the step (each step
        is safe to run twice: row locks with SKIP LOCKED, or idempotent)."""
        try:
            return bool(await self.redis.set(f"gw:lease:{name}", self.owner, nx=True, px=max(1, int(interval * 900))))
        except RedisError:
            return True

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
