"""Contacts: a phone's SMS preference and do-not-disturb, per community."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import Dnd, Preference


@dataclass(frozen=True, slots=True)
class Contact:
    """A phone a community has heard from or texted (list_contacts.sql)."""

    phone: str
    preference: Preference
    preference_changed_at: datetime | None
    preference_keyword: str | None
    preference_source: str | None  # the community number the keyword was texted to
    dnd: Dnd | None
    dnd_reason: str | None
    dnd_at: datetime | None
    first_inbound_at: datetime | None
    marketing_preference: Preference = Preference.UNKNOWN  # kept apart where the community has a marketing number


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    before: Preference
    changed: bool


@dataclass(frozen=True, slots=True)
class DndSet:
    community_id: int
    phone: str
    dnd: Dnd  # a permanent DND stays permanent


async def list_contacts(db: Executor, *, community_id: int, preference: Preference | None, after: str,
                        limit: int) -> list[Contact]:
    """A page of contacts by phone, after the phone given ("" from the start); preference None for all."""
    rows = await db.fetch(QUERIES.list_contacts, community_id, preference, after, limit)
    return [Contact(row["phone"], Preference(row["preference"]), row["preference_changed_at"],
                    row["preference_keyword"], row["preference_source"],
                    None if row["dnd"] is None else Dnd(row["dnd"]), row["dnd_reason"], row["dnd_at"],
                    row["first_inbound_at"], Preference(row["marketing_preference"])) for row in rows]


async def set_preference(db: Executor, *, community_id: int, phone: str, preference: Preference, number: str,
                         keyword: str) -> PreferenceChange:
    """Record a preference texted as keyword to number (opting in also lifts a permanent DND)."""
    row = await db.fetchrow(QUERIES.set_preference, community_id, phone, preference, number, keyword)
    return PreferenceChange(Preference(row["before"]), row["changed"])


async def set_marketing_preference(db: Executor, *, community_id: int, phone: str, preference: Preference,
                                   number: str, keyword: str) -> PreferenceChange:
    """Record a marketing preference texted as keyword to a marketing number (the SMS preference stays)."""
    row = await db.fetchrow(QUERIES.set_marketing_preference, community_id, phone, preference, number, keyword)
    return PreferenceChange(Preference(row["before"]), row["changed"])


async def record_dnd(db: Executor, *, message_id: int, error_codes: list[str], failures_needed: int, days: int,
                     dnd: Dnd, reason: str) -> DndSet | None:
    """Put the failed message's recipient on DND when failures_needed of its messages failed with one of
    error_codes within days; None when it is not (yet)."""
    row = await db.fetchrow(QUERIES.record_dnd, message_id, error_codes, failures_needed, days, dnd, reason)
    return None if row is None else DndSet(row["community_id"], row["phone"], Dnd(row["dnd"]))


async def lift_dnd(db: Executor, *, community_id: int, phone: str) -> bool:
    """Lift a temporary DND; False when there was none to lift (none at all, or a permanent one)."""
    return await db.fetchval(QUERIES.lift_dnd, community_id, phone) is not None


async def is_opted_out_by_number(db: Executor, *, proxy: str, phone: str) -> bool:
    """Whether the phone opted out of, or is on DND with, the community owning this number."""
    return await db.fetchval(QUERIES.is_opted_out_by_number, proxy, phone)


async def find_dnd(db: Executor, *, community_id: int, phone: str) -> Dnd | None:
    dnd = await db.fetchval(QUERIES.find_dnd, community_id, phone)
    return None if dnd is None else Dnd(dnd)
