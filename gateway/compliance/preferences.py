"""Keywords and SMS preference, and do-not-disturb after carrier errors (sender identification is in begin_send)."""

from __future__ import annotations

import structlog

from gateway.platform import events as hooks
from gateway.relay import segments
from gateway.carriers import Carrier, Failure, InboundSms
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import Conflict, NotFound
from gateway.relay.phones import can_receive_text, mask
from gateway.vocabulary import Dnd, FailureClass

log = structlog.get_logger(__name__)

# Classes of carrier failure that say the phone cannot take our texts for now: enough of them put it on DND.
TEMPORARY_DND_CLASSES = frozenset({FailureClass.UNREACHABLE, FailureClass.LANDLINE, FailureClass.INVALID_NUMBER})
PREFERENCES = {"opt_out": "opted_out", "opt_in": "opted_in"}


def keyword_reply(kind: str, changed: bool, community, before: str = "unknown") -> str | None:
    """What a keyword gets back: one confirmation when the preference changed; help every time."""
    sender = community["sender_name"]
    if kind == "help":
        return community["help_text"] or (f"{sender}: texts to this number reach the person you are talking "
                                          f"with. Reply STOP to opt out, START to opt back in.")
    if not changed:
        return None
    if kind == "opt_out":
        return f"You're unsubscribed from {sender}. No more messages will be sent. Reply START to resubscribe."
    again = "resubscribed" if before == "opted_out" else "subscribed"
    return f"You're {again} to {sender}. Reply STOP to opt out."


async def handle_keyword(ctx: Context, sms: InboundSms, sender: str, proxy: str, kind: str, word: str) -> str:
    """Store the keyword, change the preference for the whole community, and queue the confirmation."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        community = await conn.fetchrow(QUERIES.find_number_community, proxy)
        inbound_id = await conn.fetchval(QUERIES.store_keyword_message, sender, proxy, sms.body,
                                         list(sms.media_urls), sms.sid, community["id"] if community else None,
                                         segments.count(sms.body))
        if inbound_id is None:
            return "duplicate"
        if community is None:
            return "unrouted"
        changed, before = False, "unknown"
        if kind in PREFERENCES:
            row = await conn.fetchrow(QUERIES.set_preference, community["id"], sender, PREFERENCES[kind], proxy, word)
            changed, before = row["changed"], row["before"]
            if changed:
                await hooks.enqueue(conn, community["id"], community["opt_out_webhook_url"], "preference_changed", {
                    "community_id": community["id"], "phone": sender, "preference": PREFERENCES[kind],
                    "previous": row["before"], "keyword": word, "number": proxy})
        text = keyword_reply(kind, changed, community, before)
        reply = None
        # A short code or an alphanumeric sender ID cannot take a text: the keyword is stored, nothing sent.
        if text is not None and can_receive_text(sender):
            reply = await conn.fetchrow(QUERIES.insert_outbound_message, community["id"], None, "keyword_reply",
                                        "urgent", proxy, sender, text, segments.count(text))
    structlog.contextvars.bind_contextvars(message_id=inbound_id)
    if changed:
        ctx.metrics.preference_changes.labels(PREFERENCES[kind]).inc()
        log.info("preference_changed", community_id=community["id"], phone=mask(sender),
                 preference=PREFERENCES[kind], keyword=word)
    if reply is not None:
        await ctx.dispatch(reply, "urgent", proxy)
    return f"keyword_{kind}"


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


async def record_carrier_error(ctx: Context, message_id: int, error_code: str | None, carrier: Carrier) -> None:
    """A failure the carrier maps to opted_out puts the recipient on permanent DND; temporary_dnd_failures of the
    temporary DND classes (counted over that carrier's codes of those classes) on temporary DND."""
    config = ctx.config.compliance
    dnd = dnd_for(carrier.failure(error_code))
    if dnd is None:
        return
    needed, days = (1, 36500) if dnd == Dnd.PERMANENT else (config.temporary_dnd_failures, config.temporary_dnd_days)
    codes = carrier.codes_where(lambda failure: dnd_for(failure) == dnd)
    row = await ctx.pool.fetchrow(QUERIES.record_dnd, message_id, codes, needed, days, dnd, error_code)
    if row is not None:
        ctx.metrics.dnd.labels(row["dnd"]).inc()
        log.info("phone_put_on_dnd", community_id=row["community_id"], phone=mask(row["phone"]), dnd=row["dnd"],
                 error_code=error_code)


async def lift_dnd(ctx: Context, community_id: int, phone: str) -> None:
    if await ctx.pool.fetchval(QUERIES.lift_dnd, community_id, phone) is not None:
        log.info("dnd_lifted", community_id=community_id, phone=mask(phone))
        return
    current = await ctx.pool.fetchval(QUERIES.find_dnd, community_id, phone)
    if current == "permanent":
        raise Conflict("dnd_permanent", "a permanent DND is lifted only by the person texting START")
    raise NotFound("not_on_dnd", f"{phone} is not on DND")
