"""Communities (tenants): their settings, their pool of numbers and today's sending count."""

from __future__ import annotations

import asyncpg
import structlog
from redis.exceptions import RedisError

from gateway.context import Context
from gateway.db import QUERIES
from gateway.errors import Conflict, NotFound
from gateway.sending import daily_key

log = structlog.get_logger(__name__)


async def create(ctx: Context, name: str, mode: str, numbers: list[str], inactivity_days: int) -> int:
    async with ctx.pool.acquire() as conn, conn.transaction():
        community_id = await conn.fetchval(QUERIES.insert_community, name, mode, inactivity_days)
        for number in numbers:
            try:
                async with conn.transaction():
                    await conn.execute(QUERIES.insert_community_number, number, community_id)
            except asyncpg.UniqueViolationError:
                raise Conflict("number_taken", f"{number} already belongs to a community") from None
    log.info("community_created", community_id=community_id, mode=mode, numbers=len(numbers))
    return community_id


async def get(ctx: Context, community_id: int) -> dict:
    row = await ctx.pool.fetchrow(QUERIES.find_community, community_id)
    if row is None:
        raise NotFound("community_not_found", f"no community {community_id}")
    community = dict(row)
    community["sent_today"] = await _sent_today(ctx, community_id)
    return community


async def update(ctx: Context, community_id: int, *, name: str | None, mode: str | None,
                 inactivity_days: int | None) -> dict:
    before = await get(ctx, community_id)
    await ctx.pool.fetchval(QUERIES.update_community, community_id, name, mode, inactivity_days)
    if mode is not None and mode != before["mode"]:
        log.info("community_mode_changed", community_id=community_id, old_mode=before["mode"], new_mode=mode)
    return await get(ctx, community_id)


async def _sent_today(ctx: Context, community_id: int) -> int | None:
    try:
        return int(await ctx.redis.get(daily_key(community_id)) or 0)
    except RedisError:
        return None
