"""Pictures on the way out: at send time, a copy that carries its text's pictures (media_from) gets them as MMS
URLs (the gateway's own, signed and expiring) where MMS goes, else a link in the SMS to a signed page showing
them (gateway/media/serving.py). Only a message with media_from set asks Postgres anything more."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from gateway.carriers import Carrier
from gateway.config import MediaSettings
from gateway.media import rules, signing
from gateway.storage import media as storage


@dataclass(frozen=True)
class Outgoing:
    db: asyncpg.Pool
    key: bytes  # signing.media_key
    public_url: str
    settings: MediaSettings

    async def attach(self, message_id: int, media_from: int | None, to_number: str, body: str,
                     carrier: Carrier, mms: bool = True) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """(the text as it goes out, the MMS media URLs, their media types): unchanged and none for a message
        without pictures; the text with a link to its page where MMS cannot go (or mms is False: a WhatsApp text).
        The types are for carriers that name each attachment's kind (Vonage sends one MMS per picture by type).
        The caller counts the link (gateway_media_links_sent_total) when the text goes to the carrier: the limits
        may hold it first."""
        if media_from is None:
            return body, (), ()
        items = await storage.list_to_send(self.db, message_id=message_id)
        if not items:
            return body, (), ()  # every picture was refused, or this is a later part of a long text
        if mms and rules.takes_mms(to_number, carrier.sends_mms):
            return body, tuple(signing.sign(self.key, self.public_url, signing.FILE, media_id,
                                            self.settings.url_hours * 3600) for media_id, _ in items), \
                tuple(content_type for _, content_type in items)
        link = signing.sign(self.key, self.public_url, signing.PAGE, message_id, self.settings.link_days * 86400)
        return rules.with_link(body, link), (), ()
