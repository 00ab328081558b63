"""The settings of the channels beside SMS: pictures (MMS) and WhatsApp; and of contacts' CSV import. Read and validated by gateway/config.py,
which imports them from here; no environment is read here."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config_values import ConfigError


@dataclass(frozen=True)
class MediaSettings:
    """Pictures (MMS): the limits of what is relayed (defaults: Twilio's MMS limits), the background fetch, the
    signed URLs' lives and the retention (README "Pictures (MMS)")."""

    content_types: str = ("image/*,video/mp4,video/3gpp,video/quicktime,audio/mpeg,audio/mp4,audio/amr,"
                          "audio/ogg,text/vcard,text/x-vcard,application/pdf")  # comma-separated; "type/*" for all
    # Hosts (and their subdomains) media is fetched from, comma-separated; "": each carrier's own (media_hosts).
    fetch_hosts: str = ""
    max_file_bytes: int = 5_000_000
    max_message_bytes: int = 5_000_000
    fetch_timeout: float = 20.0
    fetch_attempts: int = 5
    retry_base: float = 2.0  # seconds before the second try; doubled after each
    poll_interval: float = 1.0
    url_hours: float = 72.0  # life of the signed URL a carrier fetches an MMS's picture from
    link_days: float = 7.0  # life of the signed page linked in the SMS to a recipient MMS cannot reach
    retention_days: int = 30  # stored media is deleted this many days after its conversation ended


@dataclass(frozen=True)
class WhatsAppSettings:
    """README "WhatsApp". A WhatsApp message is one message, never segments, counted apart from SMS (its own limits:
    limits.whatsapp_daily_limit and limits.whatsapp_monthly_limit). Its media limits are WhatsApp's (Meta's
    "Supported media types" of the Cloud API: images jpeg and png 5 MB, stickers webp, video mp4 and 3gpp 16 MB,
    audio 16 MB, documents 100 MB), held to media_max_bytes for every file: an attachment is held in memory while
    it is fetched and kept in Postgres."""

    # The largest WhatsApp attachment the gateway takes (WhatsApp's 16 MB for video and audio; its documents may be
    # up to 100 MB, which the gateway does not keep), and a WhatsApp message's attachments together.
    media_max_bytes: int = 16 * 1024 * 1024
    image_max_bytes: int = 5 * 1024 * 1024  # an image (WhatsApp's 5 MB)
    # The types taken from and sent to WhatsApp (comma-separated; "type/*" for all of a kind).
    content_types: str = ("image/jpeg,image/png,image/webp,video/mp4,video/3gpp,audio/aac,audio/amr,audio/mpeg,"
                          "audio/mp4,audio/ogg,application/pdf")


@dataclass(frozen=True)
class ContactsSettings:
    """README "Contacts": the CSV import, read as a stream (never the whole file in memory)."""

    import_max_bytes: int = 200 * 1024 * 1024  # a larger CSV body is refused with 413 (a million rows fit)
    import_timeout: float = 900.0  # seconds a whole import may take, body and storing; slower: 408


@dataclass(frozen=True)
class BroadcastSettings:
    """Broadcasts (README "Broadcasts"): every gateway process takes pages of recipients from running broadcasts."""

    page_size: int = 200  # recipients rendered and stored per transaction (one statement per page)
    poll_interval: float = 1.0  # seconds between looks for due broadcasts and pending recipients
    lookups: int = 8  # line-type lookups a page runs at once

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 5000:
            raise ConfigError(f"broadcasts.page_size: must be 1-5000, got {self.page_size}")
        if self.lookups < 1 or self.poll_interval <= 0:
            raise ConfigError("broadcasts.lookups: at least 1; broadcasts.poll_interval: more than 0")
