"""The one way to ask Redis something that Postgres can also answer: try Redis, and when it is away, count it,
log it and say so, so the caller answers from Postgres (or defers) instead of failing."""

from __future__ import annotations

import enum
from typing import Awaitable, Callable, Literal, TypeVar

import structlog
from redis.exceptions import RedisError

from gateway.ops.metrics import Metrics

log = structlog.get_logger(__name__)
T = TypeVar("T")


class Away(enum.Enum):
    """Redis did not answer (a value no Redis call returns, unlike None)."""

    AWAY = "away"


AWAY = Away.AWAY


async def from_redis(metrics: Metrics, operation: str, call: Awaitable[T], *,
                     on_away: Callable[[RedisError], None] | None = None, **context: object) -> T | Literal[Away.AWAY]:
    """await call; on a RedisError (down, timed out, failed over, read-only) count
    gateway_redis_fallbacks_total{operation}, log redis_call_failed with context (never a full phone number:
    mask it first), run on_away(error) and return AWAY. Anything but a RedisError propagates."""
    try:
        return await call
    except RedisError as exc:
        metrics.redis_fallbacks.labels(operation).inc()
        log.warning("redis_call_failed", operation=operation, error=type(exc).__name__, **context)
        if on_away is not None:
            on_away(exc)
        return AWAY
