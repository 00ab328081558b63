"""Contacts: a phone's SMS preference and do-not-disturb, per community."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import Dnd, Preference


@dataclass(frozen=True, slots=True)
class Contact:
    """A phone a community has heard from or texted, or the platform recorded (list_contacts.sql)."""

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
    name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # merge fields
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Contact:
        return cls(row["phone"], Preference(row["preference"]), row["preference_changed_at"],
                   row["preference_keyword"], row["preference_source"],
                   None if row["dnd"] is None else Dnd(row["dnd"]), row["dnd_reason"], row["dnd_at"],
                   row["first_inbound_at"], Preference(row["marketing_preference"]), row["name"],
                   json.loads(row["fields"]), tuple(row["tags"]),
                   row["created_at"], row["updated_at"])


@dataclass(frozen=True, slots=True)
class PreferenceChange:
    before: Preference
    changed: bool


@dataclass(frozen=True, slots=True)
class DndSet:
    community_id: int
    phone: str
    dnd: Dnd  # a permanent DND stays permanent


@dataclass(frozen=True, slots=True)
class Upserted:
    """What a batch of contact changes did, by phone (upsert_contacts.sql): the phones not named were unchanged."""

    created: frozenset[str]
    updated: frozenset[str]
    refused: frozenset[str]  # an opt-in over the contact's own STOP
    lost: frozenset[str]  # created by another statement meanwhile: run these again


async def list_contacts(db: Executor, *, community_id: int, preference: Preference | None, after: str,
                        limit: int, tag: str | None = None) -> list[Contact]:
    """A page of contacts by phone, after the phone given ("" from the start); preference and tag None for all."""
    rows = await db.fetch(QUERIES.list_contacts, community_id, preference, after, limit, tag)
    return [Contact.of(row) for row in rows]


async def find_contact(db: Executor, *, community_id: int, phone: str) -> Contact | None:
    row = await db.fetchrow(QUERIES.find_contact, community_id, phone)
    return None if row is None else Contact.of(row)


async def contact_field_names(db: Executor, *, community_id: int, preference: Preference | None,
                              tag: str | None) -> list[str]:
    """Every merge field name the contacts (of that preference and tag, None for all) have, sorted."""
    return list(await db.fetchval(QUERIES.contact_field_names, community_id, preference, tag))


async def upsert_contacts(db: Executor, *, community_id: int, phones: Sequence[str], names: Sequence[str | None],
                          fields: Sequence[Mapping[str, str | None] | None], tags: Sequence[Sequence[str] | None],
                          preferences: Sequence[str | None], marketing: Sequence[str | None],
                          replace_fields: bool) -> Upserted:
    """Create or change contacts, one per phone (each phone once): None leaves a part as it is; a name "" removes
    it; a field set to None is removed (replace_fields: the given fields are all it keeps). An opt-in (or a marketing
    one) of a contact whose opt-out came from their keyword changes nothing of that contact (refused)."""
    row = await db.fetchrow(QUERIES.upsert_contacts, community_id, list(phones), list(names),
                            [None if f is None else json.dumps(f) for f in fields],
                            [None if t is None else json.dumps(list(t)) for t in tags], list(preferences),
                            replace_fields, list(marketing))
    return Upserted(frozenset(row["created"]), frozenset(row["updated"]), frozenset(row["refused"]),
                    frozenset(row["lost"]))


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
