"""Messages: storing inbound texts with what they cause, the send's steps, statuses, and reading messages.

One function per statement of sql/queries/; the order of a statement's $n parameters lives only here. The three
statements on the per-message path run batched (storage/batching.py): their parameters are NamedTuples in $n
order, so a batch sorts by field name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Mapping, NamedTuple

from gateway.storage.batching import Batched
from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import USAGE_SHARDS, Direction, MessageKind, MessageStatus, Priority, UsageUnit


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message (a row of messages); status_reason says why it is blocked or held."""

    id: int
    community_id: int | None
    conversation_id: int | None
    direction: Direction
    kind: MessageKind
    priority: Priority
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...]
    carrier_sid: str | None
    status: MessageStatus
    status_reason: str | None
    error_code: str | None
    error_message: str | None
    attempts: int
    segments: int
    created_at: datetime
    updated_at: datetime
    held_until: datetime | None = None  # held for quiet hours: when it goes back to the queue (release_at)
    # What an outbound message counts as in limits and metrics (decided when it is sent): None for an inbound one.
    usage_unit: UsageUnit | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Message:
        """From a row of `SELECT * FROM messages` (columns added later are left out)."""
        unit = row.get("usage_unit") if row["direction"] == Direction.OUTBOUND else None
        return cls(row["id"], row["community_id"], row["conversation_id"], Direction(row["direction"]),
                   MessageKind(row["kind"]), Priority(row["priority"]), row["from_number"], row["to_number"],
                   row["body"], tuple(row["media_urls"]), row["carrier_sid"], MessageStatus(row["status"]),
                   row["status_reason"], row["error_code"], row["error_message"], row["attempts"], row["segments"],
                   row["created_at"], row["updated_at"],
                   row.get("release_at") if row["status"] == MessageStatus.HELD else None,
                   UsageUnit(unit) if unit else None)


class StoredOutbound(NamedTuple):
    """An outbound message just stored: queued, or blocked with the reason (outbound_block)."""

    id: int
    status: MessageStatus
    status_reason: str | None
    segments: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> StoredOutbound:
        """From a row with id, status, status_reason and segments (insert_outbound_message.sql's)."""
        return cls(row["id"], MessageStatus(row["status"]), row["status_reason"], row["segments"])


class MessageEvent(NamedTuple):
    status: MessageStatus
    error_code: str | None
    created_at: datetime


async def find_message(db: Executor, *, message_id: int) -> Message | None:
    row = await db.fetchrow(QUERIES.find_message, message_id)
    return None if row is None else Message.of(row)


async def find_message_direction_by_sid(db: Executor, *, sid: str) -> Direction | None:
    """The direction of the message with this carrier sid; None when no message has it."""
    direction = await db.fetchval(QUERIES.find_message_direction_by_sid, sid)
    return None if direction is None else Direction(direction)


async def list_conversation_messages(db: Executor, *, conversation_id: int, after: int, limit: int) -> list[Message]:
    """A conversation's messages with ids above `after`, oldest first, at most `limit`."""
    rows = await db.fetch(QUERIES.list_conversation_messages, conversation_id, after, limit)
    return [Message.of(row) for row in rows]


async def list_message_events(db: Executor, *, message_id: int) -> list[MessageEvent]:
    """A message's history, oldest first."""
    rows = await db.fetch(QUERIES.list_message_events, message_id)
    return [MessageEvent(MessageStatus(r["status"]), r["error_code"], r["created_at"]) for r in rows]


async def insert_outbound_message(db: Executor, *, community_id: int | None, conversation_id: int | None,
                                  kind: MessageKind, priority: Priority, from_number: str, to_number: str, body: str,
                                  segments: int) -> StoredOutbound:
    """Store a message we write (notification, relay from the web site, keyword reply, verification code):
    queued, or blocked with the reason when the recipient must not get it (outbound_block), with its
    first event."""
    row = await db.fetchrow(QUERIES.insert_outbound_message, community_id, conversation_id, kind, priority,
                            from_number, to_number, body, segments)
    return StoredOutbound.of(row)


# --- Inbound -------------------------------------------------------------------------------------------------

class StoreRelayed(NamedTuple):
    """store_relayed_message.sql's parameters, in $n order (batched: Statements.store_relayed)."""

    conversation_id: int
    sender: str
    proxy: str
    body: str
    media_urls: list[str]
    carrier_sid: str
    recipients: list[str]  # each part's recipient, beside parts
    parts: list[str]  # the relayed texts, in order (a conversation of several: each recipient's in turn)
    segments: int  # the inbound body's
    part_segments: list[int]
    channel: str = "sms"  # the one it came on: its attachments' limits (gateway/media/fetching.py)


class StoredRelay(NamedTuple):
    """conversation_open False: the conversation was closed meanwhile, nothing stored. inbound_id None: a
    carrier retry of a sid stored already. relayed: the parts, in order.
    intercept_id: the callback offering the text to the community's intercept URL (its parts are held until
    it answers); None when the community has none."""

    conversation_open: bool
    inbound_id: int | None
    relayed: tuple[StoredOutbound, ...]
    intercept_id: int | None = None
    relayed_to: tuple[str, ...] = ()  # each relayed part's recipient (one who left a group meanwhile has none)


async def store_relayed(batch: Batched[StoreRelayed], params: StoreRelayed) -> StoredRelay:
    """The inbound message, its relayed parts (queued, blocked or held) and their events, in one statement."""
    return _stored_relay(await batch.fetchrow(params))


async def store_relayed_in(conn: Executor, params: StoreRelayed) -> StoredRelay:
    """store_relayed, in the caller's transaction (a stranger's text with the conversation it opens,
    gateway/messaging/strangers.py)."""
    return _stored_relay(await conn.fetchrow(QUERIES.store_relayed_message, *params))


def _stored_relay(row) -> StoredRelay:
    relayed = tuple(StoredOutbound(*message) for message in zip(
        row["outbound_ids"], map(MessageStatus, row["outbound_statuses"]), row["outbound_reasons"],
        row["outbound_segments"]))
    return StoredRelay(row["conversation_id"] is not None, row["inbound_id"], relayed, row["intercept_id"],
                       tuple(row["outbound_recipients"]))


@dataclass(frozen=True, slots=True)
class StoredReply:
    """inbound_id None: a carrier retry. reply None: no reply due (none asked, or the auto-reply went today).
    callback_id: the callback telling the community's out-of-session URL of the text (no auto-reply then)."""

    inbound_id: int | None
    reply: StoredOutbound | None
    callback_id: int | None = None


async def store_keyword_message(db: Executor, *, sender: str, number: str, body: str, media_urls: list[str],
                                carrier_sid: str, community_id: int | None, segments: int) -> int | None:
    """Store an inbound keyword (never relayed); its id, or None when the carrier sent it before (a retry)."""
    return await db.fetchval(QUERIES.store_keyword_message, sender, number, body, media_urls, carrier_sid,
                             community_id, segments)


async def store_inbound_with_reply(db: Executor, *, sender: str, proxy: str, body: str, media_urls: list[str],
                                   carrier_sid: str, segments: int, reply: str, reply_kind: MessageKind,
                                   reply_priority: Priority, reply_segments: int) -> StoredReply:
    """An inbound message that is not relayed, with our reply ('' for none): a help reply every time, an
    auto-reply at most once per sender, number and UTC day."""
    row = await db.fetchrow(QUERIES.store_inbound_with_reply, sender, proxy, body, media_urls, carrier_sid, reply,
                            reply_kind, reply_priority, segments, reply_segments)
    stored = None if row["reply_id"] is None else StoredOutbound(
        row["reply_id"], MessageStatus(row["reply_status"]), row["reply_reason"], reply_segments)
    return StoredReply(row["inbound_id"], stored, row["callback_id"])


# --- Sending -------------------------------------------------------------------------------------------------

class BeginSend(NamedTuple):
    """begin_send.sql's parameters, in $n order (batched: Statements.begin_send)."""

    message_id: int
    daily_levels: list[int]  # the configured daily levels, for a community without its own
    daily_ceiling: int
    served: list[str]  # the carriers this gateway serves: a message from a number on another is held
    default_carrier: str  # the carrier of the numbers that name none
    live_try_seconds: float  # a try begun this recently may still be with the carrier (carrier.send_timeout)


# The rows built for every message relayed are NamedTuples: a third of the cost of a frozen dataclass.
class SendingMessage(NamedTuple):
    """A message claimed for sending (status submitting), or stopped at the claim (blocked, held), with its
    community's limits. identified: the sender identification was added to the body just now."""

    id: int
    community_id: int | None
    conversation_id: int | None
    kind: MessageKind
    from_number: str
    to_number: str
    body: str
    attempts: int  # this one included
    segments: int
    limit_override: bool
    status: MessageStatus
    status_reason: str | None
    identified: bool
    timezone: str | None
    current_day: date | None
    daily_level: int | None
    levels: list[int]
    ceiling: int
    monthly_limit: int | None
    carrier: str | None  # the sending number's carrier; None: the gateway's default
    media_from: int | None = None  # the inbound text whose pictures this message carries (gateway/media)
    whatsapp: bool = False  # the recipient is on WhatsApp with this number (whatsapp_contacts)
    # The community's own MMS and WhatsApp limits (messages; None: the gateway's): (mms day, mms month, whatsapp
    # day, whatsapp month).
    unit_limits: tuple[int | None, ...] = (None, None, None, None)
    category: str | None = None  # a template send's TemplateCategory (None: not a template send)
    # The community's quiet-hours window (local start, end), None when it keeps none (gateway/compliance/quiet_hours).
    quiet_hours: tuple[time, time] | None = None
    plain_body: str | None = None  # the body before the identification begin_send added just now (None: none)



async def begin_send(batch: Batched[BeginSend], params: BeginSend) -> SendingMessage | None:
    """Claim a queued message for a try, asking the gates again; None when it is not to be sent (sent, failed or
    canceled meanwhile, or no such outbound message)."""
    row = await batch.fetchrow(params)
    if row["id"] is None:
        return None
    return SendingMessage(row["id"], row["community_id"], row["conversation_id"], MessageKind(row["kind"]),
                          row["from_number"], row["to_number"], row["body"], row["attempts"], row["segments"],
                          row["limit_override"], MessageStatus(row["status"]), row["status_reason"],
                          row["identified"], row["timezone"], row["current_day"], row["daily_level"],
                          row["levels"], row["ceiling"], row["monthly_limit"], row["carrier"], row["media_from"],
                          bool(row["whatsapp"]), (row["mms_daily_limit"], row["mms_monthly_limit"],
                                                  row["whatsapp_daily_limit"], row["whatsapp_monthly_limit"]),
                          row["category"], (row["quiet_hours_start"], row["quiet_hours_end"]) if row["quiet_hours"]
                          else None, row["plain_body"])


async def hold_message(db: Executor, *, message_id: int, reason: str, segments: int) -> None:
    """Over a limit at send time: held with the reason; the try does not count."""
    await db.execute(QUERIES.hold_message, message_id, reason, segments)


async def set_message_usage_unit(db: Executor, *, message_id: int, unit: UsageUnit) -> None:
    """The unit a send reserves in, written before it reserves (only when not SMS: see set_message_usage_unit.sql)."""
    await db.execute(QUERIES.set_message_usage_unit, message_id, unit.value)


async def set_message_segments(db: Executor, *, message_id: int, segments: int) -> None:
    await db.execute(QUERIES.set_message_segments, message_id, segments)


async def requeue_message(db: Executor, *, message_id: int, reason: str) -> None:
    """Back to queued after a try the carrier asked to repeat later."""
    await db.execute(QUERIES.requeue_message, message_id, reason)


async def fail_message(db: Executor, *, message_id: int, code: str, reason: str, tried: bool = True) -> None:
    """Failed for good: refused by the carrier, or out of tries. tried False: the carrier never saw this try
    (attempts go back)."""
    await db.execute(QUERIES.fail_message, message_id, code, reason, tried)


class RecordAccepted(NamedTuple):
    """record_send_accepted.sql's parameters, in $n order (batched: Statements.record_accepted)."""

    message_id: int
    sid: str
    day: date | None  # the community's local day and month the segments count in (None: not counted)
    month: date | None
    segments: int
    community_id: int | None
    shards: int = USAGE_SHARDS  # the segments go to counter shard message_id % shards
    unit: str = UsageUnit.SMS_SEGMENT.value  # what they count as: an MMS or a WhatsApp message is one

    @property
    def shard(self) -> int:
        return self.message_id % self.shards


class EarlyStatus(NamedTuple):
    status: str
    error_code: str | None
    carrier: str | None  # the carrier that posted it (None: kept before migration 0013)


async def record_send_accepted(batch: Batched[RecordAccepted], params: RecordAccepted) -> list[EarlyStatus]:
    """Record the carrier's sid, "accepted" and the usage (once); returns the status callbacks that arrived for
    the sid before it was recorded, oldest first."""
    row = await batch.fetchrow(params)
    return [EarlyStatus(*early)
            for early in zip(row["early_statuses"], row["early_error_codes"], row["early_carriers"])]


class AppliedStatus(NamedTuple):
    id: int
    forward: bool  # False: older than the status the message has, or the message's status is final
    status: MessageStatus | None  # the message's status now (None when not on_carrier: not read)
    on_carrier: bool = True  # False: the message went out through another carrier; nothing applied


async def apply_message_status(db: Executor, *, message_id: int | None, sid: str, status: str,
                               error_code: str | None, carrier: str | None = None,
                               default_carrier: str | None = None) -> AppliedStatus | None:
    """Move an outbound message (by our id, or else by sid) forward to a status; None when there is no such
    message. carrier: the carrier the callback came from; a message whose number is on another one (a number
    naming none is on default_carrier) is left as it is, on_carrier False. None: not checked. Raises
    asyncpg.UniqueViolationError when the message has another sid than this one's owner."""
    row = await db.fetchrow(QUERIES.apply_message_status, message_id, sid, status, error_code, carrier,
                            default_carrier)
    if row is None:
        return None
    if not row["on_carrier"]:
        return AppliedStatus(row["id"], False, None, False)
    return AppliedStatus(row["id"], row["forward"], MessageStatus(row["status"]), True)


class AdoptedStatus(NamedTuple):
    id: int
    message_id: int
    sid: str
    status: str
    error_code: str | None
    carrier: str | None  # the carrier that posted it (None: kept before migration 0013)


async def adopt_early_statuses(db: Executor, *, limit: int) -> list[AdoptedStatus]:
    """Kept callbacks whose sid a recorded send now has (the race adopt_early_statuses.sql explains), with their
    message, oldest first; deleted, so each is handed to one caller once."""
    rows = await db.fetch(QUERIES.adopt_early_statuses, limit)
    return sorted((AdoptedStatus(row["id"], row["message_id"], row["carrier_sid"], row["status"], row["error_code"],
                                 row["carrier"]) for row in rows), key=lambda adopted: adopted.id)


async def store_early_status(db: Executor, *, sid: str, status: str, error_code: str | None,
                             carrier: str) -> None:
    """Keep a callback for a sid not recorded yet; record_send_accepted hands it back."""
    await db.execute(QUERIES.store_early_status, sid, status, error_code, carrier)


class UnsentMessage(NamedTuple):
    id: int
    priority: Priority
    from_number: str
    segments: int


async def find_unsent_messages(db: Executor, *, queued_for: float, submitting_for: float,
                               limit: int) -> list[UnsentMessage]:
    """Messages queued longer than queued_for seconds, or submitting longer than submitting_for (their send
    never answered), oldest first."""
    rows = await db.fetch(QUERIES.find_unsent_messages, queued_for, submitting_for, limit)
    return [UnsentMessage(r["id"], Priority(r["priority"]), r["from_number"], r["segments"]) for r in rows]


async def delete_old_early_statuses(db: Executor) -> None:
    await db.execute(QUERIES.delete_old_early_statuses)


async def delete_old_auto_replies(db: Executor) -> None:
    await db.execute(QUERIES.delete_old_auto_replies)
