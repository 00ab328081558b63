"""Handing one message to its carrier (gateway/messaging/sending.py's last step): its pictures attached as MMS URLs
or a link, then the carrier's send, timed (gateway_carrier_send_seconds)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gateway.carriers import Carrier, OutboundSms, SendResult
from gateway.messaging import whatsapp
from gateway.storage.messages import SendingMessage

if TYPE_CHECKING:
    from gateway.messaging.sending import Sender


async def attach(sender: Sender, message: SendingMessage, body: str,
                  carrier: Carrier) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """body (the text as it goes out) with the pictures it carries: as MMS URLs, WhatsApp media, or a link in the
    text (gateway/media/outgoing.py)."""
    on_whatsapp = message.whatsapp and sender.whatsapp is not None
    return await sender.media.attach(message.id, message.media_from, message.to_number, body, carrier,
                                     whatsapp=on_whatsapp)


async def deliver(sender: Sender, message: SendingMessage, body: str, media: tuple[tuple[str, ...], tuple[str, ...]],
                   carrier: Carrier, linked: bool = False) -> SendResult:
    """body and its MMS URLs and their media types (attach), handed to the carrier; linked: the body carries the
    link to its pictures (counted here, as it goes, not when attach made it: a limit may have held it)."""
    if linked:
        sender.metrics.media_links.inc()
    callback = carrier.callback_url(sender.public_url, message.id)
    outbound = await whatsapp.outbound(sender.whatsapp, message, body, media) if message.whatsapp and sender.whatsapp \
        else OutboundSms(message.id, message.from_number, message.to_number, body, media[0], media_types=media[1])
    started, result = time.perf_counter(), "error"
    try:
        answer = await carrier.send(outbound, callback)
        result = type(answer).__name__.lower()
        return answer
    finally:
        sender.metrics.carrier_send.labels(carrier.name, result).observe(time.perf_counter() - started)
