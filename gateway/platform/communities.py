"""Communities (tenants): their settings, numbers, allow list, contacts, limits and compliance state."""

from __future__ import annotations

import json
from typing import Any, Mapping

import asyncpg
import structlog

from gateway.compliance import limits
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, NotFound
from gateway.relay.phones import mask

log = structlog.get_logger(__name__)


async def create(ctx: Context, name: str, settings: Mapping[str, Any], numbers: list[str],
                 carriers: Mapping[str, str | None] | None = None) -> int:
    """A community with the table's defaults, then the given settings; its numbers must be nobody's yet.
    carriers: number -> the carrier it is on (absent or None: the gateway's default carrier)."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        community_id = await conn.fetchval(QUERIES.insert_community, name)
        await conn.execute(QUERIES.update_community, community_id, json.dumps(settings))
        for number in numbers:
            try:
                async with conn.transaction():
                    await conn.execute(QUERIES.insert_community_number, number, community_id,
                                       (carriers or {}).get(number))
            except asyncpg.UniqueViolationError:
                raise Conflict("number_taken", f"{number} already belongs to a community") from None
    log.info("community_created", community_id=community_id, mode=settings.get("mode", "test"), numbers=len(numbers))
    return community_id


async def get(ctx: Context, community_id: int) -> dict:
    """The community as the API shows it, with today's and this month's usage."""
    row = await ctx.pool.fetchrow(QUERIES.find_community, community_id)
    if row is None:
        raise NotFound("community_not_found", f"no community {community_id}")
    community = dict(row)
    config = ctx.config.limits
    levels = community["daily_limit_levels"] or config.daily_levels
    ceiling = community["daily_limit_ceiling"] or config.daily_ceiling
    used_today, used_month = await limits.used(ctx, community)
    resets_at = limits.next_reset(community["timezone"], None, community.pop("current_day"),
                                  community.pop("day_started_at"))
    community["daily"] = {"level": community["daily_level"],
                          "limit": limits.daily_limit(community["daily_level"], levels, ceiling),
                          "used": used_today, "resets_at": resets_at, "levels": levels, "ceiling": ceiling}
    community["monthly"] = {"limit": community["monthly_limit"], "used": used_month}
    community["compliance"] = {"state": community.pop("compliance_state"),
                               "changed_at": community.pop("compliance_changed_at"),
                               "error_rate": community.pop("error_rate"),
                               "opt_out_rate": community.pop("opt_out_rate"),
                               "checked_at": community.pop("rates_checked_at")}
    return community


async def update(ctx: Context, community_id: int, settings: Mapping[str, Any]) -> dict:
    before = await get(ctx, community_id)
    await ctx.pool.fetchval(QUERIES.update_community, community_id, json.dumps(settings))
    if settings.get("mode") not in (None, before["mode"]):
        log.info("community_mode_changed", community_id=community_id, old_mode=before["mode"], new_mode=settings["mode"])
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


async def contacts(ctx: Context, community_id: int, preference: str | None, after: str,
                   limit: int) -> list[asyncpg.Record]:
    await get(ctx, community_id)
    return await ctx.pool.fetch(QUERIES.list_contacts, community_id, preference, after, limit)
