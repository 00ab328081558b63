"""The rules of template sends (triggered sends and broadcasts): who may get one, from which number, with which
values, and how a message's status reads in the outcome log. Pure functions over plain data (no I/O), like
gateway/relay/rules.py; tests/test_broadcast_rules.py has their tables. README "Triggered sends", "Broadcasts".
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from gateway.errors import InvalidInput
from gateway.vocabulary import (HoldReason, MessageKind, MessageStatus, Preference, Priority, SkipReason,
                                TemplateCategory, TemplateOutcome)

# How far ahead a broadcast may be scheduled: a year is any campaign; more is a typo (2062 for 2026).
MOST_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class SendingNumber:
    """One of a community's numbers as a template send sees it (list_sending_numbers.sql)."""

    phone: str
    category: TemplateCategory | None  # None: it serves every category
    member: str | None = None  # a dedicated number's member: never sends a template (a reply would reach them)
    team_id: int | None = None  # a team's inbox: likewise


def sender_pool(numbers: list[SendingNumber], category: TemplateCategory) -> list[str]:
    """The numbers a template of this category may go from, sorted: the community's numbers of that category, else
    those with none; never a dedicated or a team's number (see gateway/relay/assignment.py eligible). Empty: none
    may (the send is refused, the recipient skipped as no_number)."""
    free = [n for n in numbers if n.member is None and n.team_id is None]
    own = [n.phone for n in free if n.category == category]
    return sorted(own or [n.phone for n in free if n.category is None])


def choose_sender(pool: list[str], phone: str) -> str | None:
    """The same number of the pool for the same phone every time, so a contact's texts come from one number:
    replies and STOP land where they belong. Rendezvous hashing (the number whose stable hash with the phone is
    highest; CRC-32, not Python's salted hash()): a number added to the pool takes only its share of the phones,
    and one removed moves only its own."""
    if not pool:
        return None
    return max(pool, key=lambda number: (zlib.crc32(f"{phone}|{number}".encode()), number))


def merge_values(name: str | None, fields: Mapping[str, str], data: Mapping[str, str]) -> dict[str, str]:
    """A recipient's merge values: the contact's name as {name}, its fields, then the send's data over both.
    first_name and last_name are only what the fields (or data) give: a name is not split into them."""
    values = {"name": name} if name else {}
    return values | {k: str(v) for k, v in fields.items()} | {k: str(v) for k, v in data.items()}


def audience_skip(category: TemplateCategory, preference: Preference) -> SkipReason | None:
    """Why the governing preference (contact_preference_for) stops a send: marketing needs an opt-in (unknown, as
    for a phone with no contact, is not one); transactional only an opt-out stops."""
    if preference == Preference.OPTED_OUT:
        return SkipReason.OPTED_OUT
    if category == TemplateCategory.MARKETING and preference != Preference.OPTED_IN:
        return SkipReason.NOT_OPTED_IN
    return None


# The number validator's refusal codes (gateway/verification/numbers.py check) as a broadcast's skip reasons.
PHONE_SKIPS = {"invalid_number": SkipReason.INVALID_NUMBER, "unsupported_country": SkipReason.COUNTRY_NOT_SUPPORTED}


def phone_skip(code: str) -> SkipReason:
    """A refused phone's skip reason: every line-type refusal (landline, toll_free..., unknown_line_type) is
    not_mobile."""
    return PHONE_SKIPS.get(code, SkipReason.NOT_MOBILE)


def priority(kind: MessageKind, category: TemplateCategory) -> Priority:
    """A triggered transactional text ("reward approved") goes in the relay lane, beside conversations; marketing and
    every broadcast copy in the bulk lane behind them."""
    if kind == MessageKind.TRIGGERED and category == TemplateCategory.TRANSACTIONAL:
        return Priority.RELAY
    return Priority.BULK


_OUTCOMES = {
    MessageStatus.QUEUED: TemplateOutcome.PROCESSING, MessageStatus.SUBMITTING: TemplateOutcome.PROCESSING,
    MessageStatus.ACCEPTED: TemplateOutcome.COMPLETED, MessageStatus.SENDING: TemplateOutcome.COMPLETED,
    MessageStatus.SENT: TemplateOutcome.COMPLETED, MessageStatus.DELIVERED: TemplateOutcome.DELIVERED,
    MessageStatus.READ: TemplateOutcome.DELIVERED, MessageStatus.UNDELIVERED: TemplateOutcome.FAILED,
    MessageStatus.FAILED: TemplateOutcome.FAILED, MessageStatus.CANCELED: TemplateOutcome.CANCELED,
    MessageStatus.BLOCKED: TemplateOutcome.BLOCKED, MessageStatus.HELD: TemplateOutcome.HELD,
}
RATE_LIMITS = frozenset({HoldReason.DAILY_LIMIT, HoldReason.MONTHLY_LIMIT})


def outcome(status: MessageStatus, reason: str | None) -> TemplateOutcome:
    """A template message's status in the outcome log's words (Ambassador's processing, completed, delivered,
    rate-limited, and ours for the rest): held at a limit is rate_limited."""
    if status == MessageStatus.HELD and reason in RATE_LIMITS:
        return TemplateOutcome.RATE_LIMITED
    return _OUTCOMES.get(status, TemplateOutcome.PROCESSING)


# A broadcast's messages counted by status, in groups that show progress: every status falls in exactly one.
STATUS_GROUPS = ("queued", "sent", "delivered", "failed", "held", "blocked", "canceled")
_GROUP = {MessageStatus.QUEUED: "queued", MessageStatus.SUBMITTING: "queued", MessageStatus.ACCEPTED: "sent",
          MessageStatus.SENDING: "sent", MessageStatus.SENT: "sent", MessageStatus.DELIVERED: "delivered",
          MessageStatus.READ: "delivered", MessageStatus.UNDELIVERED: "failed", MessageStatus.FAILED: "failed",
          MessageStatus.HELD: "held", MessageStatus.BLOCKED: "blocked", MessageStatus.CANCELED: "canceled"}


def status_group(status: MessageStatus) -> str:
    return _GROUP.get(status, "queued")


def send_time(value: str | None, tz: str, now: datetime) -> datetime:
    """When a broadcast starts: now when absent; an ISO 8601 time with an offset is that instant, a naive one is
    read in the community's time zone tz. InvalidInput when unreadable or more than MOST_AHEAD ahead (a time in
    the past starts at once)."""
    if value is None:
        return now
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("invalid_field", "send_at: expected an ISO 8601 time such as 2026-12-01T10:00 (the "
                                            "community's time zone) or 2026-12-01T10:00:00-08:00") from None
    if moment.tzinfo is None:
        # fold=0: an ambiguous local time (the hour clocks go back) is its first occurrence.
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    moment = moment.astimezone(timezone.utc)
    if moment > now + MOST_AHEAD:
        raise InvalidInput("invalid_field", f"send_at: at most {MOST_AHEAD.days} days ahead")
    return max(moment, now)
