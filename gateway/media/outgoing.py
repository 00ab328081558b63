"""Pictures on the way out: at send time, a copy that carries its text's pictures (media_from) gets them as MMS
URLs (the gateway's own, signed and expiring) where MMS goes and they are within MMS's limits, as WhatsApp media to
a WhatsApp participant (one image or video within WhatsApp's), else a link in the text to a signed page showing
them (gateway/media/serving.py). Only a message with media_from set asks Postgres anything more."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from gateway.carriers import Carrier
from gateway.config import MediaSettings, WhatsAppSettings
from gateway.media import rules, signing
from gateway.storage import media as storage
from gateway.vocabulary import Channel


@dataclass(frozen=True)
class Outgoing:
    db: asyncpg.Pool
    key: bytes  # signing.media_key
    public_url: str
    settings: MediaSettings
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    limits: dict[Channel, rules.Limits] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", rules.channel_limits(self.settings, self.whatsapp))

    async def attach(self, message_id: int, media_from: int | None, to_number: str, body: str,
                     carrier: Carrier, whatsapp: bool = False) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """(the text as it goes out, the media URLs, their media types): unchanged and none for a message without
        pictures. Where MMS goes and the pictures are within MMS's limits, MMS URLs; to a WhatsApp participant, one
        picture within WhatsApp's (rules.as_whatsapp_media) as WhatsApp media; else the text with a link to their
        page. The types are for carriers that name each attachment's kind (Vonage sends one MMS per picture by type).
        The caller counts the link (gateway_media_links_sent_total) when the text goes to the carrier: the limits
        may hold it first."""
        if media_from is None:
            return body, (), ()
        items = await storage.list_to_send(self.db, message_id=message_id)
        if not items:
            return body, (), ()  # every picture was refused, or this is a later part of a long text
        kinds = [(item.content_type, item.size) for item in items]
        if rules.as_whatsapp_media(kinds, carrier.sends_whatsapp_media, self.limits[Channel.WHATSAPP]) if whatsapp \
                else rules.takes_mms(to_number, carrier.sends_mms) and rules.fits(kinds, self.limits[Channel.SMS]):
            return body, tuple(signing.sign(self.key, self.public_url, signing.FILE, item.id,
                                            self.settings.url_hours * 3600) for item in items), \
                tuple(item.content_type for item in items)
        link = signing.sign(self.key, self.public_url, signing.PAGE, message_id, self.settings.link_days * 86400)
        return rules.with_link(body, link), (), ()
