"""An inbound SMS: find its conversation, store it with what it causes, and queue the replies."""

from __future__ import annotations

import structlog

from gateway.compliance import preferences as compliance
from gateway.compliance import keywords
from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.carriers import InboundSms
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.errors import InvalidInput
from gateway.ops.logs import clip
from gateway.relay.phones import can_receive_text, mask, to_e164

log = structlog.get_logger(__name__)

MEDIA_NOTICE = ("Pictures and other media can't be relayed yet: only the text of your messages reaches the "
                "person you're talking with.")


def _normalise(number: str) -> str:
    """Carriers send E.164; a short code or alphanumeric sender is kept as it came."""
    try:
        return to_e164(number, field="number")
    except InvalidInput:
        return number


async def receive(ctx: Context, sms: InboundSms) -> str:
    """Store the message and queue what it causes; returns the outcome for metrics and logs.

    Every outcome is one SQL statement, so a message is stored whole or not at all, and a carrier retry
    of the same sid changes nothing ("duplicate").
    """
    sender, proxy = _normalise(sms.from_number), _normalise(sms.to_number)
    structlog.contextvars.bind_contextvars(carrier_sid=clip(sms.sid))
    keyword = keywords.classify(sms.body)
    if keyword is not None and await _is_keyword(ctx, keyword[0], sender, proxy):
        # STOP, START and HELP are answered by the gateway and never relayed to the other party.
        return await compliance.handle_keyword(ctx.pool, ctx.dispatcher, ctx.metrics, sms, sender, proxy, *keyword)
    for attempt in range(2):
        # A second look, after Redis named a closed conversation, asks Postgres only.
        lookup = await ctx.routes.lookup(proxy, sender, fresh=attempt > 0)
        decision = await _decide(ctx, lookup, sender, proxy, sms.body)
        if isinstance(decision, relay.Relay):
            outcome = await _relay(ctx, sms, sender, proxy, decision)
            if outcome != "stale_route":
                return outcome
            # Redis named a conversation Postgres has closed: drop that entry and look again.
            await ctx.routes.forget(proxy, sender, decision.entry.conversation_id)
        elif isinstance(decision, relay.Ended):
            return await _reply(ctx, sms, sender, proxy, relay.ended_body(decision.code, decision.entries), "help")
        elif isinstance(decision, relay.UnknownCode):
            return await _reply(ctx, sms, sender, proxy, relay.help_body(decision.code, decision.entries), "help")
        else:
            break
    return await _reply(ctx, sms, sender, proxy, ctx.config.relay.unrouted_reply, "auto_reply")


async def _decide(ctx: Context, lookup, sender: str, proxy: str, body: str) -> relay.Decision:
    """relay.decide, with Postgres asked on the rare path where a leading code matched no open entry: Redis may
    not have a conversation just opened yet, and only Postgres knows the sender's ended codes."""
    decision = relay.decide(lookup.entries, lookup.last_relayed, body)
    code = relay.leading_code(body)
    if code is None or isinstance(decision, relay.Relay):
        return decision
    if lookup.source != "postgres":
        lookup = await ctx.routes.lookup(proxy, sender, fresh=True)
    ended = await ctx.pool.fetchval(QUERIES.is_ended_code_for_sender, proxy, sender, code)
    return relay.decide(lookup.entries, lookup.last_relayed, body, (code,) if ended else ())


async def _is_keyword(ctx: Context, kind: str, sender: str, proxy: str) -> bool:
    """STOP and HELP always are (carriers require it). "Yes" or "Start" in the middle of a conversation is an
    answer to the other party; an opt-in word acts as one only for a phone that opted out (or is on DND), or
    one that has no conversation on this number."""
    if kind != "opt_in":
        return True
    if await ctx.pool.fetchval(QUERIES.is_opted_out_by_number, proxy, sender):
        return True
    return not (await ctx.routes.lookup(proxy, sender)).entries


async def _relay(ctx: Context, sms: InboundSms, sender: str, proxy: str, decision: relay.Relay) -> str:
    """Store the message with its relayed parts (none when it has no text: a picture alone, "#K3" alone)."""
    entry = decision.entry
    recipient_open = await ctx.routes.open_count(proxy, entry.recipient)
    parts = relay.relayed_parts(decision.body, code=entry.code, sender_name=entry.sender_name,
                                recipient_open=recipient_open,
                                identification=await _identification(ctx, proxy, decision.body, entry))
    costs = [segments.count(part) for part in parts]
    # Media is not relayed yet (a later issue): the sender learns it once a day rather than never.
    notice = MEDIA_NOTICE if sms.media_urls else ""
    row = await ctx.statements.store_relayed.fetchrow(entry.conversation_id, sender, proxy, sms.body,
                                                      list(sms.media_urls), sms.sid, entry.recipient, parts,
                                                      segments.count(sms.body), costs, notice,
                                                      segments.count(notice))
    if row["conversation_id"] is None:
        return "stale_route"
    structlog.contextvars.bind_contextvars(conversation_id=entry.conversation_id)
    if row["inbound_id"] is None:
        log.info("inbound_duplicate_ignored")
        return "duplicate"
    structlog.contextvars.bind_contextvars(message_id=row["inbound_id"])
    if row["notice_id"] is not None:
        await ctx.dispatch({"id": row["notice_id"], "status": row["notice_status"],
                            "status_reason": row["notice_reason"], "segments": segments.count(notice)}, "relay", proxy)
    if not parts:
        log.info("message_not_relayed", reason="media_only" if sms.media_urls else "empty")
        return "not_relayed"
    queued = False
    # In id order, one after the other: the queue keeps a number's messages in the order they were queued.
    for message in zip(row["outbound_ids"], row["outbound_statuses"], row["outbound_reasons"], costs):
        relayed = dict(zip(("id", "status", "status_reason", "segments"), message))
        queued = await ctx.dispatch(relayed, "relay", proxy, relays=(entry.recipient, entry.conversation_id)) \
            or queued
    if not queued:
        return "blocked"
    ctx.metrics.relayed.inc()
    log.info("message_relayed", relayed_message_id=row["outbound_ids"][0], parts=len(parts), to=mask(entry.recipient))
    return "relayed"


async def _identification(ctx: Context, proxy: str, body: str, entry: relay.RouteEntry) -> tuple[int, int]:
    """What the sender identification may add at send time (begin_send.sql), looked up only for a text long
    enough that the longest identification the settings allow could push it over the limit."""
    longest = (relay.LONGEST_IDENTIFICATION, 1)
    if segments.length(body) <= relay.relay_room(code=entry.code, sender_name=entry.sender_name,
                                                 identification=longest):
        return longest
    row = await ctx.pool.fetchrow(QUERIES.find_sender_identification, proxy)
    return relay.identification_cost(row["sender_id_template"], row["sender_name"]) if row else (0, 1)


async def _reply(ctx: Context, sms: InboundSms, sender: str, proxy: str, text: str, kind: str) -> str:
    """Store a message that is not relayed, with our reply to it: the help text or the auto-reply."""
    # A help text answers someone in a conversation: relay priority. An auto-reply can wait behind them.
    priority = "relay" if kind == "help" else "bulk"
    if not can_receive_text(sender):
        text = ""  # a short code or an alphanumeric sender ID cannot be answered: store, send nothing
    cost = segments.count(text)
    row = await ctx.pool.fetchrow(QUERIES.store_inbound_with_reply, sender, proxy, sms.body, list(sms.media_urls),
                                  sms.sid, text, kind, priority, segments.count(sms.body), cost)
    if row["inbound_id"] is None:
        log.info("inbound_duplicate_ignored")
        return "duplicate"
    structlog.contextvars.bind_contextvars(message_id=row["inbound_id"])
    if row["reply_id"] is not None:
        reply = {"id": row["reply_id"], "status": row["reply_status"], "status_reason": row["reply_reason"],
                 "segments": cost}
        await ctx.dispatch(reply, priority, proxy)
    outcome = "help_sent" if kind == "help" else "unrouted"
    log.info("help_reply_queued" if kind == "help" else "message_unrouted", sender=mask(sender),
             reply_message_id=row["reply_id"])
    return outcome

