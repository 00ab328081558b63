"""The settings of the channels beside SMS: pictures (MMS) and WhatsApp. Read and validated by gateway/config.py,
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
    limits.whatsapp_daily_limit and limits.whatsapp_monthly_limit)."""

    # The media issue's hook: the largest WhatsApp attachment (WhatsApp's documented 16 MB for files; images
    # 5 MB), read by the media package once it relays media; unused until then.
    media_max_bytes: int = 16 * 1024 * 1024


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
