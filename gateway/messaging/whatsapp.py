"""WhatsApp participants: their 24-hour customer-service window, opened by each message they send; the community's
re-engagement template sent when a text to them finds it closed (the text waits, held whatsapp_window, until they
answer); and what a send to them costs. What the carrier may send is decided at send time (begin_send.sql), from
Postgres, so every process agrees and a window that closed while a text was queued is seen.

Nothing here runs for an SMS participant: an SMS inbound never calls on_inbound, and begin_send's join finds no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import asyncpg
import structlog

from gateway.carriers import Carrier, Carriers, OutboundSms
from gateway.carriers.base import Template
from gateway.config import WhatsAppSettings
from gateway.messaging.dispatch import Dispatcher
from gateway.messaging.statuses import CarrierErrors
from gateway.ops.metrics import Metrics
from gateway.relay.phones import mask
from gateway.storage import messages as message_storage
from gateway.storage import whatsapp as storage
from gateway.storage.messages import SendingMessage
from gateway.vocabulary import CancelReason, Channel, FailureClass, HoldReason, MessageKind, Priority

log = structlog.get_logger(__name__)
# messages.status_reason of a template canceled by begin_send.sql: by the time it would go, the participant had
# written (the window is open) or was back on SMS.
TEMPLATE_UNNEEDED = CancelReason.WHATSAPP_TEMPLATE_UNNEEDED


@dataclass(frozen=True)
class WhatsApp:
    """What the WhatsApp rules use; built once in app.py."""

    db: asyncpg.Pool
    dispatcher: Dispatcher
    metrics: Metrics
    settings: WhatsAppSettings


async def on_inbound(whatsapp: WhatsApp, *, sender: str, proxy: str) -> None:
    """A WhatsApp message from sender to our number proxy: the window opens (or renews), and the texts that waited
    for it go back to the queue, in order, before the message itself is relayed."""
    released = await storage.open_window(whatsapp.db, proxy=proxy, phone=sender)
    whatsapp.metrics.whatsapp_windows.inc()
    for message in released:
        await whatsapp.dispatcher.queue(message.id, message.priority, message.from_number, message.segments)
    log.info("whatsapp_window_opened", sender=mask(sender), released=len(released))


async def recorded(whatsapp: WhatsApp, *, community_id: int, phone: str, channel: Channel, opted_in: bool) -> None:
    """The platform recorded phone's channel (and opt-in): the texts held for what changed are decided again
    (queued): back on SMS, every text held for WhatsApp's rules; opted in, those held for the opt-in."""
    reasons = ([HoldReason.WHATSAPP_WINDOW, HoldReason.WHATSAPP_OPT_IN] if channel == Channel.SMS
               else [HoldReason.WHATSAPP_OPT_IN] if opted_in else [])
    if not reasons:
        return
    released = await storage.release_held(whatsapp.db, community_id=community_id, phone=phone, reasons=reasons)
    for message in released:
        await whatsapp.dispatcher.queue(message.id, message.priority, message.from_number, message.segments)
    if released:
        log.info("whatsapp_held_released", phone=mask(phone), channel=channel.value, released=len(released))


async def reengage(whatsapp: WhatsApp, message: SendingMessage | storage.HeldCopy) -> None:
    """message was held because the recipient's window is closed: send the community's template once (the first
    process to claim it; again only after they wrote and the window closed once more). Without a template set, the
    text waits all the same and the log says why."""
    if message.community_id is None:
        return
    template = await storage.claim_template(whatsapp.db, proxy=message.from_number, phone=message.to_number,
                                            community_id=message.community_id)
    if template is None:
        if not await window_opened(whatsapp, message):
            log.info("whatsapp_template_not_sent", to=mask(message.to_number), reason="already_sent_or_none_set")
        return
    preview = template.get("preview") or f"[template {template['template_id']}]"
    stored = await message_storage.insert_outbound_message(
        whatsapp.db, community_id=message.community_id, conversation_id=message.conversation_id,
        kind=MessageKind.WHATSAPP_TEMPLATE, priority=Priority.RELAY, from_number=message.from_number,
        to_number=message.to_number, body=preview, segments=1)
    await whatsapp.dispatcher.dispatch(stored, Priority.RELAY, message.from_number)
    log.info("whatsapp_template_queued", to=mask(message.to_number), template_message_id=stored.id)


async def template_set(whatsapp: WhatsApp, *, community_id: int) -> None:
    """The community set its template: those whose texts were held for their window while it had none get it now
    (once per closed window, as ever)."""
    for held in await storage.window_waiting(whatsapp.db, community_id=community_id):
        await reengage(whatsapp, held)


async def window_opened(whatsapp: WhatsApp, message: SendingMessage | storage.HeldCopy) -> bool:
    """Whether the recipient's window turned out open after a text to them was held for it (their answer came as it
    was held, and its release missed it), or their template was canceled as unneeded: the held texts go (True)."""
    released = await storage.release_if_open(whatsapp.db, proxy=message.from_number, phone=message.to_number)
    for held in released:
        await whatsapp.dispatcher.queue(held.id, held.priority, held.from_number, held.segments)
    if released:
        log.info("whatsapp_held_released", phone=mask(message.to_number), reason="window_open", released=len(released))
    return bool(released)


def carrier_errors(whatsapp: WhatsApp, recorded: CarrierErrors) -> CarrierErrors:
    """What a failed status does (recorded: DND), and for a text WhatsApp failed as outside the window after the
    carrier took it (its status callback names the code): a copy held for the answer, and the template."""
    async def on_error(message_id: int, code: str | None, carrier: Carrier) -> None:
        await recorded(message_id, code, carrier)
        failure = carrier.failure(code)
        if failure is None or failure.failure_class != FailureClass.OUTSIDE_WINDOW:
            return
        copy = await storage.hold_copy(whatsapp.db, message_id=message_id)
        if copy is not None:
            whatsapp.metrics.held.labels(HoldReason.WHATSAPP_WINDOW).inc()
            log.info("whatsapp_text_held_after_failure", failed_message_id=message_id, held_message_id=copy.id)
            await reengage(whatsapp, copy)

    return on_error


async def window_closed(whatsapp: WhatsApp, message: SendingMessage) -> None:
    """The carrier refused free text as outside the window (FailureClass.OUTSIDE_WINDOW): believe it until they write."""
    await storage.close_window(whatsapp.db, proxy=message.from_number, phone=message.to_number)


async def outbound(whatsapp: WhatsApp, message: SendingMessage, body: str,
                   media: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> OutboundSms:
    """The OutboundSms for a message to a WhatsApp participant: the template's id and variables for a template; its
    picture (media: URLs and types, gateway/media/outgoing.py) as WhatsApp media."""
    template = None
    if message.kind == MessageKind.WHATSAPP_TEMPLATE and message.community_id is not None:
        found = await storage.find_template(whatsapp.db, community_id=message.community_id)
        if found is not None:
            template = Template(found["template_id"], found.get("variables") or {}, body)
    return OutboundSms(message.id, message.from_number, message.to_number, body, media[0], channel=Channel.WHATSAPP,
                       template=template, media_types=media[1])


def units(whatsapp: WhatsApp | None, message: SendingMessage) -> SendingMessage:
    """A WhatsApp message is one unit, never segments (it is priced per message)."""
    return message._replace(segments=1) if message.whatsapp else message


def offered(carrier: Carrier) -> bool:
    return carrier.whatsapp


def template_problem(carriers: Carriers, number_carriers: Sequence[str | None], template_id: str) -> str | None:
    """What is wrong with a community's template id for the carriers its numbers go through (each knows its format:
    a Content SID, WhatsApp's template name), or None."""
    for name in sorted({found or carriers.default.name for found in number_carriers}):
        carrier = carriers.find(name)
        if carrier is not None and carrier.whatsapp and (problem := carrier.template_problem(template_id)):
            return f"{problem} (for the numbers on {name})"
    return None
