"""An inbound SMS: find its conversation, store it with what it causes, and queue the replies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Mapping

import asyncpg
import structlog

from gateway.carriers import InboundMessage
from gateway.compliance import keywords
from gateway.errors import InvalidInput
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.conversations import Conversations, write_routes
from gateway.messaging import whatsapp
from gateway.messaging.whatsapp import WhatsApp
from gateway.media import rules as media_rules
from gateway.ops.logs import clip
from gateway.ops.metrics import Metrics
from gateway.relay import fanout
from gateway.relay import rules as relay
from gateway.relay import segments
from gateway.relay.phones import can_receive_text, mask, to_e164
from gateway.routing.keys import RouteLookup, RouteSource
from gateway.routing.table import RouteTable
from gateway.storage import communities, contacts, events
from gateway.storage import conversations as conversation_storage
from gateway.storage import groups as group_storage
from gateway.storage import messages as storage
from gateway.storage.batching import Batched
from gateway.storage.conversations import Conversation
from gateway.storage.messages import Message, StoredOutbound, StoredRelay, StoreRelayed
from gateway.vocabulary import Channel, CodeOver, EventType, InboundOutcome, MessageKind, MessageStatus, Priority

log = structlog.get_logger(__name__)

# Handles STOP, START or HELP (compliance.handle_keyword): (the text, sender, proxy, keyword kind, the word as
# written) -> the outcome.
KeywordHandler = Callable[[InboundMessage, str, str, str, str], Awaitable[str]]
# Opens a conversation for a text from someone with none on the number, when the number is a member's or a team's
# (gateway/messaging/strangers.py): (the receiver, the text, sender, proxy) -> the outcome; None: nothing opened
# (the out-of-session URL or the auto-reply take it); LOOK_AGAIN: another text opened one meanwhile.
StrangerHandler = Callable[..., Awaitable[str | None]]
LOOK_AGAIN = "look_again"


@dataclass(frozen=True)
class Receiver:
    """What handling an inbound text uses; built once in app.py."""

    db: asyncpg.Pool
    routes: RouteTable
    store_relayed: Batched[StoreRelayed]
    dispatcher: Dispatcher
    metrics: Metrics
    unrouted_reply: str  # the auto-reply to a text that belongs to no conversation (config relay.unrouted_reply)
    keywords: KeywordHandler
    # Set when a text stored here waits for a community's intercept or out-of-session URL: wakes this process's
    # callback loop (gateway/platform/callbacks.py) without waiting for its next look.
    callbacks_due: asyncio.Event = field(default_factory=asyncio.Event)
    strangers: StrangerHandler | None = None
    # Set when a text stored here has attachments to fetch: wakes this process's fetcher (gateway/media/fetching.py).
    media_due: asyncio.Event = field(default_factory=asyncio.Event)
    whatsapp: WhatsApp | None = None  # opens a WhatsApp sender's 24-hour window (never called for SMS)


def normalise(number: str) -> str:
    """Carriers send E.164; a short code or alphanumeric sender is kept as it came."""
    try:
        return to_e164(number, field="number")
    except InvalidInput:
        return number


async def receive(receiver: Receiver, sms: InboundMessage) -> str:
    """Store the message and queue what it causes; returns the outcome for metrics and logs (an InboundOutcome,
    or for a keyword what compliance.handle_keyword returns).

    Every outcome is one SQL statement, so a message is stored whole or not at all, and a carrier retry
    of the same sid changes nothing ("duplicate").
    """
    sender, proxy = normalise(sms.from_number), normalise(sms.to_number)
    structlog.contextvars.bind_contextvars(carrier_sid=clip(sms.sid))
    if sms.channel == Channel.WHATSAPP and receiver.whatsapp is not None:
        await whatsapp.on_inbound(receiver.whatsapp, sender=sender, proxy=proxy)
    keyword = keywords.classify(sms.body) or keywords.classify_after_code(relay.after_code(sms.body))
    if keyword is not None and await _is_keyword(receiver, keyword.kind, sender, proxy):
        # STOP, START and HELP are answered by the gateway and never relayed to the other party.
        return await receiver.keywords(sms, sender, proxy, keyword.kind, keyword.word)
    for attempt in range(3):
        # A second look, after Redis named a closed conversation or a stranger's was opened meanwhile, asks Postgres
        # only.
        lookup = await receiver.routes.lookup(proxy, sender, fresh=attempt > 0)
        decision = await _decide(receiver, lookup, sender, proxy, sms.body)
        if isinstance(decision, relay.Forward):
            outcome = await _relay(receiver, sms, sender, proxy, decision)
            if outcome is not None:
                return outcome
            # Redis named a conversation Postgres has closed: drop that entry and look again.
            await receiver.routes.forget(proxy, sender, decision.entry.conversation_id)
        elif isinstance(decision, relay.Ended):
            text = relay.ended_body(decision.code, decision.entries, decision.left)
            return await _reply(receiver, sms, sender, proxy, text, MessageKind.HELP)
        elif isinstance(decision, relay.UnknownCode):
            return await _reply(receiver, sms, sender, proxy, relay.help_body(decision.code, decision.entries),
                                MessageKind.HELP)
        else:
            opened = receiver.strangers and await receiver.strangers(receiver, sms, sender, proxy)
            if opened != LOOK_AGAIN:
                return opened or await _reply(receiver, sms, sender, proxy, receiver.unrouted_reply,
                                              MessageKind.AUTO_REPLY)
    return await _reply(receiver, sms, sender, proxy, receiver.unrouted_reply, MessageKind.AUTO_REPLY)


async def _decide(receiver: Receiver, lookup: RouteLookup, sender: str, proxy: str, body: str) -> relay.Decision:
    """relay.decide, with Postgres asked on the rare path where a leading code matched no open entry: Redis may
    not have a conversation just opened yet, and only Postgres knows the sender's ended codes."""
    decision = relay.decide(lookup.entries, lookup.last_relayed, body)
    code = relay.leading_code(body)
    if code is None or isinstance(decision, relay.Forward):
        return decision
    if lookup.source != RouteSource.POSTGRES:
        lookup = await receiver.routes.lookup(proxy, sender, fresh=True)
    over = await conversation_storage.find_ended_code_for_sender(receiver.db, proxy=proxy, sender=sender, code=code)
    return relay.decide(lookup.entries, lookup.last_relayed, body, (code,) if over == CodeOver.ENDED else (),
                        (code,) if over == CodeOver.LEFT else ())


async def _is_keyword(receiver: Receiver, kind: str, sender: str, proxy: str) -> bool:
    """STOP and HELP always are (carriers require it). "Yes" or "Start" in the middle of a conversation is an
    answer to the other party; an opt-in word acts as one only for a phone that opted out (or is on DND), or
    one that has no conversation on this number."""
    if kind != "opt_in":
        return True
    if await contacts.is_opted_out_by_number(receiver.db, proxy=proxy, phone=sender):
        return True
    return not (await receiver.routes.lookup(proxy, sender)).entries


async def _relay(receiver: Receiver, sms: InboundMessage, sender: str, proxy: str,
                 decision: relay.Forward) -> InboundOutcome | None:
    """Store the message with its relayed copies, each recipient's parts in turn (none when it has no text: "#K3"
    alone; a picture alone relays a caption). None when the conversation was closed meanwhile (the route was
    stale): nothing stored."""
    entry = decision.entry
    # A picture alone relays a word saying so: its copies then carry the picture (gateway/media).
    copies = await relayed_copies(receiver, proxy, entry, media_rules.caption(decision.body, len(sms.media_urls)),
                                  sender)
    stored = await storage.store_relayed(receiver.store_relayed, relay_params(entry, sms, sender, proxy, copies))
    if not stored.conversation_open:
        return None
    return await relayed(receiver, sms, sender, proxy, entry, copies, stored)


def relay_params(entry: relay.RouteEntry, sms: InboundMessage, sender: str, proxy: str,
                 copies: list[tuple[str, list[str]]]) -> StoreRelayed:
    """store_relayed_message.sql's parameters for this text and its copies."""
    recipients = [phone for phone, parts in copies for _ in parts]
    parts = [part for _, phone_parts in copies for part in phone_parts]
    # What of the media is refused is told once it is fetched (gateway/media/fetching.py), not here.
    return StoreRelayed(entry.conversation_id, sender, proxy, sms.body, list(sms.media_urls), sms.sid, recipients,
                        parts, segments.count(sms.body), [segments.count(part) for part in parts], sms.channel.value)


async def relayed(receiver: Receiver, sms: InboundMessage, sender: str, proxy: str, entry: relay.RouteEntry,
                  copies: list[tuple[str, list[str]]], stored: StoredRelay) -> InboundOutcome:
    """Queue what store_relayed_message.sql stored for a text (its copies), or leave the copies held for the
    intercept or for their media; the outcome."""
    recipients = [phone for phone, parts in copies for _ in parts]
    structlog.contextvars.bind_contextvars(conversation_id=entry.conversation_id)
    if stored.inbound_id is None:
        log.info("inbound_duplicate_ignored")
        return InboundOutcome.DUPLICATE
    structlog.contextvars.bind_contextvars(message_id=stored.inbound_id)
    if not recipients:
        log.info("message_not_relayed", reason="media_only" if sms.media_urls else "empty")
        return InboundOutcome.NOT_RELAYED
    if stored.intercept_id is not None:
        return _intercepting(receiver, stored.relayed, stored.intercept_id)
    if sms.media_urls:
        return _awaiting_media(receiver, len(sms.media_urls), len(recipients))
    queued = await _queue(receiver, stored, proxy, entry.conversation_id)
    if set(recipients) == {sender}:
        return InboundOutcome.HELP_SENT  # claim style: another member has it; the sender was told who
    if not queued:
        return InboundOutcome.BLOCKED
    receiver.metrics.relayed.inc()
    log.info("message_relayed", relayed_message_id=stored.relayed[0].id, parts=len(recipients),
             to=mask(entry.recipient) if len(copies) == 1 else f"{len(copies)} recipients")
    return InboundOutcome.RELAYED


def _awaiting_media(receiver: Receiver, attachments: int, parts: int) -> InboundOutcome:
    """The copies are held until the media is fetched, then queued from there (gateway/media/fetching.py)."""
    receiver.media_due.set()
    log.info("message_awaiting_media", attachments=attachments, parts=parts)
    return InboundOutcome.AWAITING_MEDIA


async def _queue(receiver: Receiver, stored: StoredRelay, proxy: str, conversation_id: int) -> bool:
    """Queue the copies stored; whether any was queued (not blocked)."""
    queued = False
    # In id order, one after the other: the queue keeps a number's messages in the order they were queued.
    for message, recipient in zip(stored.relayed, stored.relayed_to):
        queued = await receiver.dispatcher.dispatch(message, Priority.RELAY, proxy,
                                                    relays=(recipient, conversation_id)) or queued
    return queued


def _intercepting(receiver: Receiver, relayed: tuple[StoredOutbound, ...], intercept_id: int) -> InboundOutcome:
    """The parts wait, held, for the community's intercept URL; those blocked already (opted out, DND, test
    mode) are counted as blocked now, as the dispatcher counts them on the usual path."""
    for message in relayed:
        if message.status == MessageStatus.BLOCKED:
            receiver.metrics.blocked.labels(message.status_reason or "unknown").inc()
    receiver.callbacks_due.set()
    log.info("message_intercepting", intercept_id=intercept_id, parts=len(relayed))
    return InboundOutcome.INTERCEPTING


async def relayed_parts(receiver: Receiver, proxy: str, entry: relay.RouteEntry, body: str) -> list[str]:
    """What the recipient gets for this text from the sender of entry (relay.relayed_parts: the code prefix when
    the recipient has several conversations here, cut to fit with the sender identification)."""
    recipient_open = await receiver.routes.open_count(proxy, entry.recipient)
    return relay.relayed_parts(body, code=entry.code, sender_name=entry.sender_name, recipient_open=recipient_open,
                               identification=await _identification(receiver, proxy, body, entry))


async def relayed_copies(receiver: Receiver | Conversations, proxy: str, entry: relay.RouteEntry, body: str,
                         sender: str) -> list[tuple[str, list[str]]]:
    """(recipient, parts) for each recipient of this text: a pair's other party exactly as before (the hot path:
    one open count), or every other active participant of a conversation of several, each with its label
    (fanout.copies; their open counts in one round trip)."""
    if not entry.recipients:
        return [(entry.recipient, await relayed_parts(receiver, proxy, entry, body))]
    took = False
    if fanout.needs_claim(entry):
        entry, took = await _claim(receiver, entry, sender)
    phones = [to.phone for to in entry.recipients] + [sender]
    open_counts = dict(zip(phones, await receiver.routes.open_counts(proxy, phones)))
    identification = await _identification(receiver, proxy, body, entry, fanout.longest_label(entry))
    return fanout.copies(entry, body, open_counts, identification, sender, took)


async def _claim(receiver: Receiver | Conversations, entry: relay.RouteEntry,
                 sender: str) -> tuple[relay.RouteEntry, bool]:
    """The member's text in a claim-style conversation nobody has taken (as its route says): take it, if first.
    Returns the entry with who has it now, and whether this sender took it (then everyone's routes say so)."""
    claimer = None
    for _ in range(2):  # a second look when another member took it in a transaction not seen the first time
        claimer = await group_storage.claim_conversation(receiver.db, conversation_id=entry.conversation_id,
                                                         phone=sender)
        if claimer is not None:
            break
    took = claimer == sender
    if took:
        await write_routes(receiver.db, receiver.routes, entry.conversation_id)
        log.info("conversation_claimed", conversation_id=entry.conversation_id, member=mask(sender))
    return replace(entry, claimed_by=claimer or ""), took


def entry_for(conversation: Conversation, sender: str) -> relay.RouteEntry:
    """The conversation as seen by sender, one of its participants (active or not: an intercepted text of one
    who left since still goes to the others)."""
    people = [relay.Recipient(p.phone, p.name, p.role) for p in conversation.participants
              if p.active or p.phone == sender]
    me = next(p for p in people if p.phone == sender)
    return fanout.entry_for(conversation.id, conversation.code, conversation.shape, me,
                            [p for p in people if p.phone != sender], conversation.team_style,
                            conversation.claimed_by)


async def relay_stored(receiver: Receiver, message: Message, conversation: Conversation, body: str,
                       finish: Callable[[asyncpg.Connection], Awaitable[bool]],
                       noted: Mapping[str, str] | None = None) -> list[StoredOutbound] | None:
    """Relay an inbound text stored earlier (intercepted and rewritten, or out of session) into conversation, as
    body, by the same rules as a text relayed on arrival; finish(conn) runs first in the same transaction and
    says whether this process is the one to relay it (False: another finished it; nothing stored). Each part is
    a message.relayed or message.blocked event, as on arrival (store_relayed_message.sql), with noted added to
    its data. Returns the parts stored (queued or blocked), or None."""
    entry = entry_for(conversation, message.from_number)
    proxy = conversation.proxy_number
    copies = [(phone, part) for phone, parts in await relayed_copies(receiver, proxy, entry, body, message.from_number)
              for part in parts]
    async with receiver.db.acquire() as conn, conn.transaction():
        if not await finish(conn):
            return None
        stored = [await storage.insert_outbound_message(
            conn, community_id=conversation.community_id, conversation_id=conversation.id,
            # A part to the sender is our answer (claim style: another member has it), not a relay.
            kind=MessageKind.HELP if phone == message.from_number else MessageKind.RELAY,
            priority=Priority.RELAY, from_number=proxy, to_number=phone, body=part,
            segments=segments.count(part)) for phone, part in copies]
        for (phone, text), part in zip(copies, stored):
            if phone != message.from_number:
                await relayed_event(conn, conversation, message.id, proxy, phone, text, part, noted or {})
    queued = [await receiver.dispatcher.dispatch(part, Priority.RELAY, proxy, relays=(phone, conversation.id))
              for part, (phone, _) in zip(stored, copies)]
    if any(queued):
        receiver.metrics.relayed.inc()
    log.info("stored_message_relayed", message_id=message.id, conversation_id=conversation.id, parts=len(copies))
    return stored


async def relayed_event(conn: asyncpg.Connection, conversation: Conversation, inbound_id: int | None, proxy: str,
                        recipient: str, text: str, part: StoredOutbound, noted: Mapping[str, str]) -> None:
    """A relayed part's event, in the caller's transaction: message.relayed (queued) or message.blocked, with the
    data store_relayed_message.sql gives a part relayed on arrival, and noted (inbound_id None: written through the
    API, gateway/messaging/group_writes.py)."""
    kind = EventType.MESSAGE_BLOCKED if part.status == MessageStatus.BLOCKED else EventType.MESSAGE_RELAYED
    await events.insert_event(conn, community_id=conversation.community_id, event=kind, data={
        "community_id": conversation.community_id, "conversation_id": conversation.id, "message_id": part.id,
        "inbound_message_id": inbound_id, "from": proxy, "to": recipient, "body": text, "status": part.status,
        "reason": part.status_reason, **noted})


async def _identification(receiver: Receiver | Conversations, proxy: str, body: str, entry: relay.RouteEntry,
                          label: str | None = None) -> tuple[int, int]:
    """What the sender identification may add at send time (begin_send.sql), looked up only for a text long
    enough that the longest identification the settings allow could push it over the limit."""
    longest = (relay.LONGEST_IDENTIFICATION, 1)
    if segments.length(body) <= relay.relay_room(code=entry.code, sender_name=entry.sender_name,
                                                 identification=longest, label=label):
        return longest
    found = await communities.find_sender_identification(receiver.db, proxy=proxy)
    return relay.identification_cost(found.template, found.sender_name) if found else (0, 1)


async def _reply(receiver: Receiver, sms: InboundMessage, sender: str, proxy: str, text: str,
                 kind: MessageKind) -> InboundOutcome:
    """Store a message that is not relayed, with our reply to it: the help text or the auto-reply."""
    # A help text answers someone in a conversation: relay priority. An auto-reply can wait behind them.
    priority = Priority.RELAY if kind == MessageKind.HELP else Priority.BULK
    if not can_receive_text(sender):
        text = ""  # a short code or an alphanumeric sender ID cannot be answered: store, send nothing
    stored = await storage.store_inbound_with_reply(
        receiver.db, sender=sender, proxy=proxy, body=sms.body, media_urls=list(sms.media_urls), carrier_sid=sms.sid,
        segments=segments.count(sms.body), reply=text, reply_kind=kind, reply_priority=priority,
        reply_segments=segments.count(text))
    if stored.inbound_id is None:
        log.info("inbound_duplicate_ignored")
        return InboundOutcome.DUPLICATE
    structlog.contextvars.bind_contextvars(message_id=stored.inbound_id)
    if stored.callback_id is not None:
        receiver.callbacks_due.set()
        log.info("message_out_of_session", sender=mask(sender), callback_id=stored.callback_id)
        return InboundOutcome.OUT_OF_SESSION
    if stored.reply is not None:
        await receiver.dispatcher.dispatch(stored.reply, priority, proxy)
    help_sent = kind == MessageKind.HELP
    log.info("help_reply_queued" if help_sent else "message_unrouted", sender=mask(sender),
             reply_message_id=stored.reply.id if stored.reply else None)
    return InboundOutcome.HELP_SENT if help_sent else InboundOutcome.UNROUTED
