"""Communities (tenants): their settings, numbers, allow list, contacts, limits and compliance state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Mapping

import asyncpg
import structlog

from gateway.compliance import limits, quiet_hours
from gateway.config import LimitsSettings
from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.relay.phones import mask
from gateway.storage import communities as rows, contacts as contact_rows, conversations, teams
from gateway.storage.communities import AllowedNumber, Community
from gateway.storage.contacts import Contact
from gateway.storage.db import Executor
from gateway.routing.table import RouteTable
from gateway.storage.usage import Usage
from gateway.vocabulary import CommunityMode, NumberRemoval, Preference, UsageUnit

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Overview:
    """A community as the API shows it: its row, with today's limit and usage worked out."""

    community: Community
    daily_limit: int  # segments allowed today (its level's)
    daily_levels: list[int]  # its own, or the configured ones
    daily_ceiling: int
    used_today: int  # segments
    used_month: int
    resets_at: datetime | None  # when the next day starts (None: a time zone Python cannot load)
    # MMS and WhatsApp messages: (daily limit, monthly limit) that apply, and what each used.
    unit_limits: dict[UsageUnit, tuple[int, int]] = field(default_factory=dict)
    unit_used: dict[UsageUnit, Usage] = field(default_factory=dict)


async def create(pool: asyncpg.Pool, name: str, settings: Mapping[str, Any], numbers: Mapping[str, str | None]) -> int:
    """A community with the table's defaults, then the given settings; its numbers (number -> the carrier it is
    on, None: the gateway's default carrier) must be nobody's yet (Conflict). Returns its id."""
    _check_quiet_hours(settings, None)
    async with pool.acquire() as conn, conn.transaction():
        community_id = await rows.insert_community(conn, name=name)
        await rows.update_community(conn, community_id=community_id, settings=settings)
        for number, carrier in numbers.items():
            if not await rows.add_number(conn, community_id=community_id, phone=number, carrier=carrier):
                raise Conflict("number_taken", f"{number} already belongs to a community")
    log.info("community_created", community_id=community_id, mode=settings.get("mode", CommunityMode.TEST),
             numbers=len(numbers))
    return community_id


async def find(db: Executor, community_id: int) -> Community:
    """The community; NotFound when there is none."""
    community = await rows.find_community(db, community_id=community_id)
    if community is None:
        raise NotFound("community_not_found", f"no community {community_id}")
    return community


async def overview(counters: limits.Counters, config: LimitsSettings, community_id: int) -> Overview:
    """The community with today's and this month's usage; NotFound when there is none."""
    community = await find(counters.pool, community_id)
    levels = community.daily_limit_levels or config.daily_levels
    ceiling = community.daily_limit_ceiling or config.daily_ceiling
    used = await counters.used(community)
    sms = used[UsageUnit.SMS_SEGMENT]
    resets_at = limits.next_reset(community.timezone, None, community.current_day, community.day_started_at)
    return Overview(community, limits.daily_limit(community.daily_level, levels, ceiling), levels, ceiling,
                    sms.day, sms.month, resets_at, unit_limits(community, config), used)


def unit_limits(community: Community, config: LimitsSettings) -> dict[UsageUnit, tuple[int, int]]:
    """The MMS and WhatsApp limits (daily, monthly) that apply to the community: its own, else the gateway's."""
    def own(mine: int | None, default: int) -> int:
        return default if mine is None else mine
    return {UsageUnit.MMS: (own(community.mms_daily_limit, config.mms_daily_limit),
                            own(community.mms_monthly_limit, config.mms_monthly_limit)),
            UsageUnit.WHATSAPP: (own(community.whatsapp_daily_limit, config.whatsapp_daily_limit),
                                 own(community.whatsapp_monthly_limit, config.whatsapp_monthly_limit))}


async def update(counters: limits.Counters, config: LimitsSettings, community_id: int,
                 settings: Mapping[str, Any]) -> Overview:
    """Apply the settings named (validated by the API); the community as it is now. NotFound for none."""
    before = await find(counters.pool, community_id)
    _check_quiet_hours(settings, before)
    try:
        await rows.update_community(counters.pool, community_id=community_id, settings=settings)
    except asyncpg.CheckViolationError:
        # Another change of the window came in between: the two together would make no window.
        raise InvalidInput("invalid_field", "quiet_hours_start: must be before quiet_hours_end") from None
    if settings.get("mode") not in (None, before.mode):
        log.info("community_mode_changed", community_id=community_id, old_mode=before.mode, new_mode=settings["mode"])
    return await overview(counters, config, community_id)


def _check_quiet_hours(settings: Mapping[str, Any], before: Community | None) -> None:
    """The quiet-hours window the settings leave (those named, else as it was, else the defaults) must be one:
    start before end, within the TCPA's hours; InvalidInput otherwise, before anything is stored."""
    if "quiet_hours_start" not in settings and "quiet_hours_end" not in settings:
        return
    start = settings.get("quiet_hours_start") or (before.quiet_hours_start if before else quiet_hours.DEFAULT.start)
    end = settings.get("quiet_hours_end") or (before.quiet_hours_end if before else quiet_hours.DEFAULT.end)
    quiet_hours.check_window(*(time.fromisoformat(v) if isinstance(v, str) else v for v in (start, end)))


async def allowed(db: Executor, community_id: int) -> list[AllowedNumber]:
    """The allow list, by phone; NotFound for no such community."""
    await find(db, community_id)
    return await rows.list_allowed_numbers(db, community_id=community_id)


async def allow(pool: asyncpg.Pool, community_id: int, phones: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for phone in phones:
            await rows.allow_number(conn, community_id=community_id, phone=phone)
    log.info("allow_list_extended", community_id=community_id, numbers=[mask(p) for p in phones])


async def disallow(db: Executor, community_id: int, phone: str) -> None:
    """NotFound when the phone is not on the allow list."""
    if not await rows.disallow_number(db, community_id=community_id, phone=phone):
        raise NotFound("not_on_allow_list", f"{phone} is not on the allow list")
    log.info("allow_list_reduced", community_id=community_id, number=mask(phone))


async def contacts(db: Executor, community_id: int, preference: Preference | None, after: str,
                   limit: int) -> list[Contact]:
    """A page of contacts by phone (after: the last phone of the page before); NotFound for no community."""
    await find(db, community_id)
    return await contact_rows.list_contacts(db, community_id=community_id, preference=preference, after=after,
                                            limit=limit)


async def add_number(pool: asyncpg.Pool, community_id: int, phone: str, carrier: str | None) -> None:
    """Give the community one more number (carrier None: the gateway's default). NotFound for no community;
    Conflict (number_taken) when a community has it already. Under the community's lock, as conversation starts
    are, so a start sees the numbers before or after, never half."""
    async with pool.acquire() as conn, conn.transaction():
        if await rows.lock_community(conn, community_id=community_id) is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        await rows.lock_phones_for_numbers(conn, phones=[phone])
        if in_use := await conversations.count_open_with_participant_phone(conn, phone=phone):
            # A start refuses a participant on one of our numbers (participant_is_proxy); so does adding one.
            raise Conflict("number_in_use", f"{in_use} open conversation(s) have {phone} as a participant",
                           open_conversations=in_use)
        if await teams.count_member_roles_of_phone(conn, phone=phone):
            raise Conflict("number_in_use", f"{phone} is a team member or a dedicated number's member",
                           open_conversations=0)
        if not await rows.add_number(conn, community_id=community_id, phone=phone, carrier=carrier):
            raise Conflict("number_taken", f"{phone} already belongs to a community")
    log.info("number_added", community_id=community_id, number=mask(phone), carrier=carrier)


@dataclass(frozen=True, slots=True)
class Removed:
    """What removing a number did: the conversations it closed and the unsent messages it canceled."""

    closed: list[int]
    canceled: int


async def remove_number(pool: asyncpg.Pool, routes: RouteTable, community_id: int, phone: str,
                        close_conversations: bool) -> Removed:
    """Take a number from the community (README, "Numbers"). Open conversations on it refuse the removal
    (Conflict number_in_use) unless close_conversations, which closes them (reason number_removed); either way
    what waits to go from it is canceled. The last number stays (Conflict last_number): a community without one
    cannot start conversations or send codes. NotFound (community_not_found, number_not_found).

    Postgres first, in one transaction under the community's lock; then the closed conversations' routes leave
    Redis (a failure there bumps the route generation, so every process stops trusting Redis until rebuilt)."""
    async with pool.acquire() as conn, conn.transaction():
        if await rows.lock_community(conn, community_id=community_id) is None:
            raise NotFound("community_not_found", f"no community {community_id}")
        numbers = {usage.phone: usage.open for usage in
                   await rows.number_usage(conn, community_id=community_id, participant_ids=[])}
        if phone not in numbers:
            raise NotFound("number_not_found", f"{phone} is not a number of community {community_id}")
        if len(numbers) == 1:
            raise Conflict("last_number", "a community keeps at least one number; add another first")
        if numbers[phone] and not close_conversations:
            raise Conflict("number_in_use", f"{numbers[phone]} open conversation(s) use {phone}; close them, or "
                                            "pass ?close_conversations=true", open_conversations=numbers[phone])
        closed = await rows.close_conversations_on_number(conn, phone=phone, reason=NumberRemoval.NUMBER_REMOVED)
        canceled = await rows.cancel_unsent_from_number(conn, phone=phone, reason=NumberRemoval.NUMBER_REMOVED)
        await rows.delete_number(conn, community_id=community_id, phone=phone)
    for conversation in closed:
        await routes.remove(conversation)
    log.info("number_removed", community_id=community_id, number=mask(phone), closed=len(closed), canceled=canceled)
    return Removed(sorted(c.id for c in closed), canceled)
