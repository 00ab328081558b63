"""Pictures' rules as pure functions (no I/O): what a text with media relays, what is allowed, what the sender is
told of what was refused, and how a link replaces an MMS where one cannot go. Table-tested in
tests/test_media_rules.py."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple, Sequence
from urllib.parse import urlsplit

import filetype
import phonenumbers

from gateway.config_channels import MediaSettings, WhatsAppSettings
from gateway.relay import segments
from gateway.vocabulary import Channel, MediaRefusal

# Where MMS goes: US and Canada (in the +1 plan, not all of it). Elsewhere the recipient gets a link in an SMS.
MMS_COUNTRY_PREFIX = "+1"
MMS_REGIONS = frozenset({"US", "CA"})


class Limits(NamedTuple):
    """A channel's limits: MMS (media.*) or WhatsApp (whatsapp.*)."""

    content_types: tuple[str, ...]  # "image/jpeg", or "image/*" for every image type
    max_file_bytes: int
    max_message_bytes: int
    max_image_bytes: int | None = None  # an image's own, lower limit (WhatsApp's); None: max_file_bytes


def channel_limits(media: MediaSettings, whatsapp: WhatsAppSettings) -> dict[Channel, Limits]:
    """Each channel's limits: MMS's (media.*) and WhatsApp's (whatsapp.*, a message holding up to its largest file)."""
    return {Channel.SMS: Limits(parse_types(media.content_types), media.max_file_bytes, media.max_message_bytes),
            Channel.WHATSAPP: Limits(parse_types(whatsapp.content_types), whatsapp.media_max_bytes,
                                     whatsapp.media_max_bytes, whatsapp.image_max_bytes)}


# The kinds WhatsApp shows with a caption (the text): a picture to a WhatsApp participant goes as WhatsApp media only
# when it is one of these; audio (no caption) and documents go as the link.
WHATSAPP_MEDIA_KINDS = ("image", "video")


def parse_types(setting: str) -> tuple[str, ...]:
    """media.content_types, comma-separated, as lower-case types without parameters."""
    return tuple(t.strip().lower() for t in setting.split(",") if t.strip())


def may_fetch(url: str, hosts: tuple[str, ...]) -> bool:
    """Whether an inbound media URL is on one of media.fetch_hosts (or a subdomain), over HTTP(S): the carrier's
    webhook is signed, but the gateway asks nothing of a host it was not told to (no fetch of internal addresses
    through a URL in a payload)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # an unclosed IPv6 bracket: a carrier's bad URL fails its fetch, it does not crash it
        return False
    return parts.scheme in ("http", "https") and any(host == h or host.endswith("." + h) for h in hosts)


def url_host(url: str) -> str:
    """The host of a URL for a log line, lower case; "" when there is none or urlsplit refuses the URL."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def public_address(address: str) -> bool:
    """Whether an address a redirect's host resolves to is on the public internet: not loopback, private,
    link-local (cloud metadata), shared, reserved or multicast, an IPv4 address mapped into IPv6 judged as itself.
    A redirect from a carrier's media host may lead elsewhere only to such an address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def caption(body: str, count: int) -> str:
    """What a text with count attachments relays: its text, or for a picture alone a word saying what it is (the
    carriers refuse an empty body, and a recipient who gets only a link must know what it is)."""
    if body.strip() or count == 0:
        return body
    return "(picture)" if count == 1 else f"({count} pictures)"


# A media type as RFC 6838 names one (type/subtype, each a restricted name of at most 127 characters).
MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters; "" when absent or not a media type
    (a file store's header may hold anything: a byte that is not UTF-8, markup, kilobytes), so that it is refused
    as a type not allowed and never stored, served or told to the sender as it came."""
    kind = (header or "").split(";", 1)[0].strip().lower()
    return kind if MEDIA_TYPE.fullmatch(kind) else ""


def refusal(content_type: str, size: int, stored_so_far: int, limits: Limits) -> MediaRefusal | None:
    """Why one attachment (of content_type, size bytes; stored_so_far: the bytes its message's other attachments
    kept already) is not relayed, or None when it is."""
    major = content_type.split("/", 1)[0]
    if content_type not in limits.content_types and f"{major}/*" not in limits.content_types:
        return MediaRefusal.TYPE_NOT_ALLOWED
    if size > file_limit(content_type, limits):
        return MediaRefusal.TOO_LARGE
    if stored_so_far + size > limits.max_message_bytes:
        return MediaRefusal.MESSAGE_TOO_LARGE
    return None


def file_limit(content_type: str, limits: Limits) -> int:
    """The largest file of this type the limits allow."""
    if limits.max_image_bytes is not None and content_type.startswith("image/"):
        return min(limits.max_image_bytes, limits.max_file_bytes)
    return limits.max_file_bytes


def fits(items: Sequence[tuple[str, int]], limits: Limits) -> bool:
    """Whether pictures (content type, size), together, are within a channel's limits: each allowed and small
    enough, and all of them within the message's limit. What does not fit goes as the link instead."""
    total = 0
    for content_type, size in items:
        if refusal(content_type, size, total, limits) is not None:
            return False
        total += size
    return True


def as_whatsapp_media(items: Sequence[tuple[str, int]], carrier_sends: bool, limits: Limits) -> bool:
    """Whether a WhatsApp participant gets the pictures as WhatsApp media (else the link): a carrier that sends it,
    one picture (a WhatsApp message holds one), an image or a video (shown with the text as its caption), within
    WhatsApp's limits."""
    return (carrier_sends and len(items) == 1 and items[0][0].partition("/")[0] in WHATSAPP_MEDIA_KINDS
            and fits(items, limits))


# Types whose files always begin with a signature the magic-byte check knows: bytes without it are not one of these.
SIGNED_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
SNIFF_BYTES = 8192  # the signatures are in a file's first bytes (an MP4's ftyp box, a JPEG's SOI and APPn)


def _family(content_type: str) -> str:
    """What a type is for the magic-byte check: an image, audio or video (one family: an MP4 may be either), a PDF,
    or something else (text, vCards: no signature to check)."""
    major = content_type.partition("/")[0]
    return "av" if major in ("audio", "video") else major if major == "image" else content_type


def bytes_disagree(content_type: str, content: bytes) -> bool:
    """Whether a file's bytes are not the type it came as (the carrier's file store's Content-Type, an upload's
    content_type): an "image/jpeg" that is an HTML page, a "video/mp4" that is a PDF. A type with a known signature
    (SIGNED_TYPES) must show one of its family; any other image, audio or video type must not show another
    family's. Bytes the check does not know (an unusual codec, a vCard) pass: it refuses only what it can tell."""
    found = filetype.guess_mime(content[:SNIFF_BYTES])
    if found is None:
        return content_type in SIGNED_TYPES
    declared = _family(content_type)
    return declared in ("image", "av", "application/pdf") and _family(found) != declared


class Refused(NamedTuple):
    position: int  # 1-based, in the sender's message
    refusal: MediaRefusal
    content_type: str | None
    size: int | None


def _megabytes(size: int) -> str:
    """A size as the notice says it: "5.2 MB", or "9 KB" under a megabyte."""
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{max(size // 1000, 1)} KB"


def _why(item: Refused, limits: Limits) -> str:
    if item.refusal == MediaRefusal.TYPE_NOT_ALLOWED:
        return f"{item.content_type or 'its type'} can't be sent"
    if item.refusal == MediaRefusal.TOO_LARGE:  # size None: too large to say (a Content-Length of gigabytes)
        size = _megabytes(item.size) if item.size else "it"
        return f"{size} is over the {_megabytes(file_limit(item.content_type or '', limits))} limit"
    if item.refusal == MediaRefusal.MESSAGE_TOO_LARGE:
        return f"the message's pictures are over {_megabytes(limits.max_message_bytes)} together"
    return "it could not be received"


def refusal_notice(refused: Sequence[Refused], total: int, limits: Limits) -> str:
    """The one notice telling the sender what was not relayed and why (no URL): "" when nothing was refused."""
    if not refused:
        return ""
    reasons = "; ".join(f"{'#' + str(item.position) + ' ' if total > 1 else ''}{_why(item, limits)}"
                        for item in sorted(refused))
    verb = "wasn't" if len(refused) == 1 else "weren't"
    what = f"Your picture {verb}" if total == 1 else f"{len(refused)} of your {total} pictures {verb}"
    return f"{what} relayed: {reasons}."


def takes_mms(to_number: str, carrier_sends_mms: bool) -> bool:
    """Whether a recipient gets pictures as an MMS (else as a link in an SMS): a US or Canadian number, not any +1
    (Jamaica, the Bahamas and the rest of the +1 plan are outside, where MMS does not go)."""
    if not (carrier_sends_mms and to_number.startswith(MMS_COUNTRY_PREFIX)):
        return False
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(to_number)) in MMS_REGIONS
    except phonenumbers.NumberParseException:
        return False


def with_link(body: str, link: str) -> str:
    """The text with the link to its pictures after it, the text cut (with an ellipsis) so that both fit the
    carrier's limit."""
    tail = "\n" + link
    room = segments.MAX_BODY - segments.length(tail)
    if segments.length(body) > room:
        body = body[:max(room - 1, 0)].rstrip() + "…"
        while segments.length(body) > room:  # a character outside the BMP counts two
            body = body[:-2] + "…"
    return body + tail
