"""Communities (tenants): their settings, their pool of numbers, their allow list and today's sending count."""

from __future__ import annotations

from dataclasses import dataclass, fields

import asyncpg
import structlog
from redis.exceptions import RedisError

from gateway.context import Context
from gateway.db import QUERIES
from gateway.errors import Conflict, NotFound
from gateway.phones import mask
from gateway.sending import daily_key

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settings:
    """What a community can set; None leaves a setting as it is (PATCH) or takes the default (POST)."""

    name: str | None = None
    mode: str | None = None
    inactivity_days: int | None = None
    countries: list[str] | None = None
    default_region: str | None = None
    require_verification: bool | None = None
    unknown_line_type: str | None = None

    def values(self) -> list:
        return [getattr(self, f.name) for f in fields(self)]


DEFAULTS = Settings(mode="test", inactivity_days=30, countries=["US", "CA"], default_region="US",
                    require_verification=True, unknown_line_type="accept")


async def create(ctx: Context, settings: Settings, numbers: list[str]) -> int:
    values = [given if given is not None else default for given, default in zip(settings.values(), DEFAULTS.values())]
    async with ctx.pool.acquire() as conn, conn.transaction():
        community_id = await conn.fetchval(QUERIES.insert_community, *values)
        for number in numbers:
            try:
                async with conn.transaction():
                    await conn.execute(QUERIES.insert_community_number, number, community_id)
            except asyncpg.UniqueViolationError:
                raise Conflict("number_taken", f"{number} already belongs to a community") from None
    log.info("community_created", community_id=community_id, mode=values[1], numbers=len(numbers))
    return community_id


async def get(ctx: Context, community_id: int) -> dict:
    row = await ctx.pool.fetchrow(QUERIES.find_community, community_id)
    if row is None:
        raise NotFound("community_not_found", f"no community {community_id}")
    community = dict(row)
    community["sent_today"] = await _sent_today(ctx, community_id)
    return community


async def update(ctx: Context, community_id: int, settings: Settings) -> dict:
    before = await get(ctx, community_id)
    await ctx.pool.fetchval(QUERIES.update_community, community_id, *settings.values())
    if settings.mode is not None and settings.mode != before["mode"]:
        log.info("community_mode_changed", community_id=community_id, old_mode=before["mode"], new_mode=settings.mode)
    return await get(ctx, community_id)


async def allowed(ctx: Context, community_id: int) -> list[asyncpg.Record]:
    await get(ctx, community_id)
    return await ctx.pool.fetch(QUERIES.list_allowed_numbers, community_id)


async def allow(ctx: Context, community_id: int, phones: list[str]) -> None:
    async with ctx.pool.acquire() as conn, conn.transaction():
        for phone in phones:
            await conn.execute(QUERIES.allow_number, community_id, phone)
    log.info("allow_list_extended", community_id=community_id, numbers=[mask(p) for p in phones])


async def disallow(ctx: Context, community_id: int, phone: str) -> None:
    if await ctx.pool.fetchval(QUERIES.disallow_number, community_id, phone) is None:
        raise NotFound("not_on_allow_list", f"{phone} is not on the allow list")
    log.info("allow_list_reduced", community_id=community_id, number=mask(phone))


async def _sent_today(ctx: Context, community_id: int) -> int | None:
    try:
        return int(await ctx.redis.get(daily_key(community_id)) or 0)
    except RedisError:
        return None
