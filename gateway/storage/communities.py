"""Communities: their settings, numbers, allow list and compliance state (one function per statement)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Mapping, NamedTuple, Sequence

import asyncpg

from gateway.routing.keys import OpenConversation
from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import CommunityMode, ComplianceState, InterceptPolicy, UnknownLineType


@dataclass(frozen=True, slots=True)
class Community:
    """A community with its settings, numbers and open conversations (find_community.sql)."""

    id: int
    name: str
    mode: CommunityMode
    inactivity_days: int
    countries: list[str]  # ISO codes of the countries it may text
    default_region: str  # how national formats are read
    require_verification: bool
    unknown_line_type: UnknownLineType
    sender_name: str | None
    sender_id_template: str
    help_text: str | None
    opt_out_webhook_url: str | None
    alert_webhook_url: str | None
    event_url: str | None  # where its events go (the older two URLs take some types too: event_targets)
    event_types: list[str] | None  # the event types it takes; None: all
    timezone: str  # IANA name
    current_day: date | None  # the local day its sends count on (set by the daily reset)
    day_started_at: datetime | None  # the local midnight that began current_day
    daily_limit_levels: list[int] | None  # None: the configured levels
    daily_limit_ceiling: int | None  # None: the configured ceiling
    daily_level: int  # 1-based: which of the levels applies today
    monthly_limit: int | None  # segments; None: no monthly limit
    compliance_state: ComplianceState
    compliance_changed_at: datetime | None
    error_rate: float | None
    opt_out_rate: float | None
    rates_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    intercept_url: str | None  # offered each text before it is relayed (gateway/platform/intercepts.py)
    intercept_policy: InterceptPolicy  # when the intercept URL gives no useful answer
    out_of_session_url: str | None  # told of texts that belong to no conversation, instead of the auto-reply
    numbers: list[str]  # E.164, sorted
    number_carriers: list[str | None]  # each number's carrier, in the same order; None: the gateway's default
    open_conversations: int
    dedicated_numbers_shared: bool = False  # other members may start conversations from a dedicated number
    mms_daily_limit: int | None = None  # MMS messages; None: the gateway's (LimitsSettings)
    mms_monthly_limit: int | None = None
    whatsapp_daily_limit: int | None = None  # WhatsApp messages; None: the gateway's
    whatsapp_monthly_limit: int | None = None
    quiet_hours: bool = True  # marketing and bulk texts wait for the recipient's window (README "Quiet hours")
    quiet_hours_start: time = time(8)  # the window, in the recipient's local time
    quiet_hours_end: time = time(21)

    @classmethod
    def of(cls, row: asyncpg.Record) -> Community:
        values = dict(row)
        values.update(mode=CommunityMode(row["mode"]), unknown_line_type=UnknownLineType(row["unknown_line_type"]),
                      compliance_state=ComplianceState(row["compliance_state"]),
                      intercept_policy=InterceptPolicy(row["intercept_policy"]))
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NumberOwner:
    """The community that owns a number, with what its keyword replies need (find_number_community.sql)."""

    id: int
    name: str
    sender_name: str  # the community's name when it set none
    help_text: str | None
    opt_out_webhook_url: str | None
    category: str | None = None  # the number's: a keyword to a marketing number changes the marketing preference


class LockedCommunity(NamedTuple):
    id: int
    name: str
    require_verification: bool


class SenderIdentification(NamedTuple):
    template: str  # the community's sender_id_template
    sender_name: str  # its sender name, or else its name


@dataclass(frozen=True, slots=True)
class AllowedNumber:
    phone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NumberUsage:
    """One of a community's numbers: its open conversations, and whether a given participant has one there."""

    phone: str
    open: int
    busy: bool
    member: str | None = None  # a dedicated number's member phone (migration 0022)
    team_id: int | None = None  # the team it is assigned to
    category: str | None = None  # 'transactional' or 'marketing': kept off new conversations and codes (0029)


@dataclass(frozen=True, slots=True)
class CommunityRates:
    """A community's outbound traffic over the last 24 hours (community_rates.sql)."""

    community_id: int
    compliance_state: ComplianceState
    sent: int  # messages that reached the carrier
    errors: int  # of those, failed or undelivered
    recipients: int  # distinct phones
    opt_outs: int


@dataclass(frozen=True, slots=True)
class ComplianceChange:
    before: ComplianceState
    alert_webhook_url: str | None


@dataclass(frozen=True, slots=True)
class CommunityCompliance:
    """A community's compliance state and the rates the monitor last measured (0-1; 0 before any)."""

    community_id: int
    state: ComplianceState
    error_rate: float
    opt_out_rate: float


async def insert_community(db: Executor, *, name: str) -> int:
    """A community with the table's defaults; returns its id."""
    return await db.fetchval(QUERIES.insert_community, name)


async def update_community(db: Executor, *, community_id: int, settings: Mapping[str, Any]) -> bool:
    """Apply the settings named (validated by the API; None clears a nullable one); False when no such
    community."""
    return await db.fetchval(QUERIES.update_community, community_id, json.dumps(settings)) is not None


async def add_number(conn: asyncpg.Connection, *, community_id: int, phone: str, carrier: str | None = None) -> bool:
    """Give the community a number on a carrier (None: the gateway's default), in the caller's transaction; False
    when another community has it."""
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction survives a refusal
            await conn.execute(QUERIES.insert_community_number, phone, community_id, carrier)
    except asyncpg.UniqueViolationError:
        return False
    return True


class NumberCarrier(NamedTuple):
    carrier: str | None  # None: the gateway's default carrier


async def find_number_carrier(db: Executor, *, phone: str) -> NumberCarrier | None:
    """The carrier one of our numbers is on; None when the number is nobody's."""
    row = await db.fetchrow(QUERIES.find_number_carrier, phone)
    return None if row is None else NumberCarrier(row["carrier"])


async def find_community(db: Executor, *, community_id: int) -> Community | None:
    row = await db.fetchrow(QUERIES.find_community, community_id)
    return None if row is None else Community.of(row)


async def find_number_owner(db: Executor, *, phone: str) -> NumberOwner | None:
    row = await db.fetchrow(QUERIES.find_number_community, phone)
    return None if row is None else NumberOwner(row["id"], row["name"], row["sender_name"], row["help_text"],
                                                 row["opt_out_webhook_url"], row["category"])


async def gateway_numbers_among(db: Executor, *, phones: Sequence[str]) -> set[str]:
    """Those of the phones that are one of the gateway's own numbers (any community's)."""
    return {row["phone"] for row in await db.fetch(QUERIES.list_gateway_numbers_among, list(phones))}


async def lock_community(db: Executor, *, community_id: int) -> LockedCommunity | None:
    """Lock the community's row for the caller's transaction (conversation creation, one at a time); None when
    there is no such community."""
    row = await db.fetchrow(QUERIES.lock_community, community_id)
    return None if row is None else LockedCommunity(row["id"], row["name"], row["require_verification"])


async def lock_phones_for_numbers(db: Executor, *, phones: list[str]) -> None:
    """Hold each phone for the caller's transaction, against a concurrent number add or conversation start
    that would make it both one of our numbers and a participant. Take it after the community's lock."""
    await db.execute(QUERIES.lock_phones_for_numbers, phones)


async def find_sender_identification(db: Executor, *, proxy: str) -> SenderIdentification | None:
    """What begin_send.sql wraps a first text in, for the community owning this number; None: no community."""
    row = await db.fetchrow(QUERIES.find_sender_identification, proxy)
    return None if row is None else SenderIdentification(row["sender_id_template"], row["sender_name"])


async def number_usage(db: Executor, *, community_id: int, participant_ids: list[int]) -> list[NumberUsage]:
    """Each of the community's numbers (pool_usage.sql): its open conversations, and busy when one of
    participant_ids has an open conversation on it (conversation creation and code sends choose by it)."""
    rows = await db.fetch(QUERIES.pool_usage, community_id, participant_ids)
    return [NumberUsage(row["phone"], row["open"], row["busy"], row["member_phone"], row["team_id"], row["category"])
            for row in rows]


async def list_allowed_numbers(db: Executor, *, community_id: int) -> list[AllowedNumber]:
    """The allow list (test mode), by phone."""
    return [AllowedNumber(row["phone"], row["created_at"])
            for row in await db.fetch(QUERIES.list_allowed_numbers, community_id)]


async def allow_number(db: Executor, *, community_id: int, phone: str) -> None:
    """Add a phone to the allow list (already there: nothing changes)."""
    await db.execute(QUERIES.allow_number, community_id, phone)


async def disallow_number(db: Executor, *, community_id: int, phone: str) -> bool:
    """Take a phone off the allow list; False when it was not on it."""
    return await db.fetchval(QUERIES.disallow_number, community_id, phone) is not None


async def community_rates(db: Executor) -> list[CommunityRates]:
    """Every community that sent in the last 24 hours (not before a lifted restriction)."""
    return [CommunityRates(row["id"], ComplianceState(row["compliance_state"]), row["sent"], row["errors"],
                           row["recipients"], row["opt_outs"])
            for row in await db.fetch(QUERIES.community_rates)]


async def set_compliance_state(db: Executor, *, community_id: int, state: ComplianceState, error_rate: float,
                               opt_out_rate: float, measured_in: ComplianceState) -> ComplianceChange | None:
    """Store the measured rates and the state they call for; the state before (None: no such community, or its
    state is no longer measured_in, the one the rates were read with: a lift came meanwhile)."""
    row = await db.fetchrow(QUERIES.set_compliance_state, community_id, state, error_rate, opt_out_rate, measured_in)
    return None if row is None else ComplianceChange(ComplianceState(row["before"]), row["alert_webhook_url"])


async def community_compliance(db: Executor) -> list[CommunityCompliance]:
    """Every community ever measured or not ok, by id (community_compliance.sql)."""
    return [CommunityCompliance(row["id"], ComplianceState(row["compliance_state"]), row["error_rate"],
                                row["opt_out_rate"]) for row in await db.fetch(QUERIES.community_compliance)]


async def lift_restriction(db: Executor, *, community_id: int) -> bool:
    """Back to ok, rates counted afresh from now; False when the community was not restricted."""
    return await db.fetchval(QUERIES.lift_restriction, community_id) is not None


async def community_exists(db: Executor, *, community_id: int) -> bool:
    return await db.fetchval(QUERIES.find_community, community_id) is not None


class Owner(NamedTuple):
    community_id: int | None  # None: a message to a number that is nobody's


async def find_owning_community(db: Executor, *, kind: str, row_id: int) -> Owner | None:
    """The community of a conversation, message or verification (kind: one of those words); None when there is
    no such row."""
    row = await db.fetchrow(QUERIES.find_owning_community, kind, row_id)
    return None if row is None else Owner(row["community_id"])


async def close_conversations_on_number(db: Executor, *, phone: str, reason: str) -> list[OpenConversation]:
    """Close every open conversation on the number; what the routing table must forget of each."""
    return [OpenConversation(**dict(row)) for row in await db.fetch(QUERIES.close_conversations_on_number, phone,
                                                                    reason)]


async def cancel_unsent_from_number(db: Executor, *, phone: str, reason: str) -> int:
    """Cancel queued and held messages from the number; how many."""
    return await db.fetchval(QUERIES.cancel_unsent_from_number, phone, reason)


async def delete_number(db: Executor, *, community_id: int, phone: str) -> bool:
    """False when the number is not the community's."""
    return await db.fetchval(QUERIES.delete_community_number, phone, community_id) is not None
