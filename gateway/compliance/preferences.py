"""Keywords and SMS preference, and do-not-disturb after carrier errors (sender identification is in begin_send)."""

from __future__ import annotations

import asyncpg
import structlog

from gateway.relay import segments
from gateway.carriers import Carrier, Failure, InboundMessage
from gateway.config import ComplianceSettings
from gateway.errors import Conflict, NotFound
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.metrics import Metrics
from gateway.relay.phones import can_receive_text, mask
from gateway.storage import communities as community_rows, contacts, messages
from gateway.storage.communities import NumberOwner
from gateway.storage.db import Executor
from gateway.vocabulary import Dnd, FailureClass, KeywordKind, MessageKind, Preference, Priority, TemplateCategory

log = structlog.get_logger(__name__)

# Classes of carrier failure that say the phone cannot take our texts for now: enough of them put it on DND.
TEMPORARY_DND_CLASSES = frozenset({FailureClass.UNREACHABLE, FailureClass.LANDLINE, FailureClass.INVALID_NUMBER})
PREFERENCES = {KeywordKind.OPT_OUT: Preference.OPTED_OUT, KeywordKind.OPT_IN: Preference.OPTED_IN}


def keyword_reply(kind: KeywordKind, changed: bool, community: NumberOwner,
                  before: Preference = Preference.UNKNOWN) -> str | None:
    """What a keyword gets back: one confirmation when the preference changed; help every time."""
    sender = community.sender_name
    if kind == KeywordKind.HELP:
        return community.help_text or (f"{sender}: texts to this number reach the person you are talking "
                                       f"with. Reply STOP to opt out, START to opt back in.")
    if not changed:
        return None
    if community.category == TemplateCategory.MARKETING:
        # A marketing number's STOP and START are about its marketing texts only (README "Separate numbers").
        if kind == KeywordKind.OPT_OUT:
            return f"You will get no more marketing texts from {sender}. Reply START to get them again."
        return f"You will get marketing texts from {sender}. Reply STOP to stop them."
    if kind == KeywordKind.OPT_OUT:
        return f"You're unsubscribed from {sender}. No more messages will be sent. Reply START to resubscribe."
    again = "resubscribed" if before == Preference.OPTED_OUT else "subscribed"
    return f"You're {again} to {sender}. Reply STOP to opt out."


async def handle_keyword(pool: asyncpg.Pool, dispatcher: Dispatcher, metrics: Metrics, sms: InboundMessage, sender: str,
                         proxy: str, kind: KeywordKind, word: str) -> str:
    """Store the keyword, change the preference for the whole community, and queue the confirmation.
    Returns the outcome: "duplicate", "unrouted" or "keyword_<kind>"."""
    async with pool.acquire() as conn, conn.transaction():
        community = await community_rows.find_number_owner(conn, phone=proxy)
        inbound_id = await messages.store_keyword_message(
            conn, sender=sender, number=proxy, body=sms.body, media_urls=list(sms.media_urls), carrier_sid=sms.sid,
            community_id=community.id if community else None, segments=segments.count(sms.body))
        if inbound_id is None:
            return "duplicate"
        if community is None:
            return "unrouted"
        change = await _set_preference(conn, community, sender, proxy, kind, word)
        text = keyword_reply(kind, change.changed, community, change.before)
        reply = None
        # A short code or an alphanumeric sender ID cannot take a text: the keyword is stored, nothing sent.
        if text is not None and can_receive_text(sender):
            reply = await messages.insert_outbound_message(
                conn, community_id=community.id, conversation_id=None, kind=MessageKind.KEYWORD_REPLY,
                priority=Priority.URGENT, from_number=proxy, to_number=sender, body=text, segments=segments.count(text))
    structlog.contextvars.bind_contextvars(message_id=inbound_id)
    if change.changed:
        metrics.preference_changes.labels(PREFERENCES[kind]).inc()
        log.info("preference_changed", community_id=community.id, phone=mask(sender),
                 preference=PREFERENCES[kind], keyword=word, category=community.category)
    if reply is not None:
        await dispatcher.dispatch(reply, Priority.URGENT, proxy)
    return f"keyword_{kind}"


async def _set_preference(conn: asyncpg.Connection, community: NumberOwner, sender: str, proxy: str,
                          kind: KeywordKind, word: str) -> contacts.PreferenceChange:
    """STOP and START change the preference (and store the event, in the same statement)."""
    if kind not in PREFERENCES:
        return contacts.PreferenceChange(Preference.UNKNOWN, False)
    preference = PREFERENCES[kind]
    # The same statement stores the contact.preference_changed event, where the community takes events.
    if community.category == TemplateCategory.MARKETING:
        return await contacts.set_marketing_preference(conn, community_id=community.id, phone=sender,
                                                       preference=preference, number=proxy, keyword=word)
    return await contacts.set_preference(conn, community_id=community.id, phone=sender, preference=preference,
                                         number=proxy, keyword=word)


def dnd_for(failure: Failure | None) -> Dnd | None:
    """The DND a carrier failure calls for: opted out at the carrier is permanent at once; a temporary failure
    that says the phone cannot take texts (unreachable, landline, invalid) counts toward a temporary DND."""
    if failure is None:
        return None
    if failure.failure_class == FailureClass.OPTED_OUT:
        return Dnd.PERMANENT
    if failure.failure_class in TEMPORARY_DND_CLASSES and not failure.permanent:
        return Dnd.TEMPORARY
    return None


async def record_carrier_error(db: Executor, metrics: Metrics, config: ComplianceSettings, message_id: int,
                               error_code: str | None, carrier: Carrier) -> None:
    """A failure the carrier maps to opted_out puts the recipient on permanent DND; temporary_dnd_failures of the
    temporary DND classes (counted over that carrier's codes of those classes) on temporary DND."""
    failure = carrier.failure(error_code)
    metrics.failures.labels(failure.failure_class if failure else FailureClass.OTHER).inc()
    dnd = dnd_for(failure)
    if dnd is None:
        return
    needed, days = (1, 36500) if dnd == Dnd.PERMANENT else (config.temporary_dnd_failures, config.temporary_dnd_days)
    codes = carrier.codes_where(lambda failure: dnd_for(failure) == dnd)
    row = await contacts.record_dnd(db, message_id=message_id, error_codes=codes, failures_needed=needed, days=days,
                                    dnd=dnd, reason=error_code)
    if row is not None:
        metrics.dnd.labels(row.dnd).inc()
        log.info("phone_put_on_dnd", community_id=row.community_id, phone=mask(row.phone), dnd=row.dnd,
                 error_code=error_code)


async def lift_dnd(db: Executor, community_id: int, phone: str) -> None:
    """An operator lifts a temporary DND. NotFound when the phone is not on DND; Conflict when it is permanent
    (only the person's START lifts that)."""
    if await contacts.lift_dnd(db, community_id=community_id, phone=phone):
        log.info("dnd_lifted", community_id=community_id, phone=mask(phone))
        return
    if await contacts.find_dnd(db, community_id=community_id, phone=phone) == Dnd.PERMANENT:
        raise Conflict("dnd_permanent", "a permanent DND is lifted only by the person texting START")
    raise NotFound("not_on_dnd", f"{phone} is not on DND")
