"""The carrier interface: what the core asks of every carrier, and the types they exchange.

A carrier owns its whole edge: the webhook paths it posts to, checking a request it signed (over the raw
bytes), parsing it into InboundMessage / StatusUpdate, the reply it expects, sending, the map of its error codes
onto FailureClass, background work it needs, extra routes, and a line-type lookup if it has one. The core
(gateway.messaging.receiving, gateway.messaging.sending) only ever sees the types below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping, NamedTuple, Protocol, Sequence
from urllib.parse import urlsplit

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from gateway.ops.metrics import Metrics
from gateway.vocabulary import Channel, FailureClass, MessageStatus


# --- What arrives -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RawRequest:
    """A webhook as it arrived, before anything was decoded.

    url: what the carrier signed: the public URL (config public_url) + the raw path and query, undecoded.
    headers: as received (case-insensitive mapping). body: the raw bytes, possibly empty.
    content_type/charset: the Content-Type header's media type ("" when absent) and charset (None when absent).
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    content_type: str = ""
    charset: str | None = None
    # What the carrier decoded of the body, kept for this request only, so that verify and parse decode it once.
    decoded: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A text (or MMS) a phone sent to one of our numbers. Numbers as the carrier gave them (the core parses them
    to E.164); body without NUL characters; media_urls: at most 10, as the carrier gave them."""

    sid: str
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...] = ()
    channel: Channel = Channel.SMS  # the carrier says: e.g. Twilio's "whatsapp:+E164" is (that number, whatsapp)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """What the carrier says became of a message we sent: its sid, our status for it, and its error code."""

    sid: str
    status: MessageStatus
    error_code: str | None


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """The HTTP answer a carrier expects once a webhook is durable (status 200 unless it says otherwise)."""

    status: int = 200
    content_type: str | None = None  # None: no body (aiohttp's default content type)
    body: bytes = b""


# --- What goes out ------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutboundSms:
    id: int  # our message id
    from_number: str  # E.164, one of our numbers on this carrier
    to_number: str  # E.164
    body: str  # at most 1,600 UTF-16 units, never empty
    # Pictures to send with it as an MMS: the gateway's signed URLs, which the carrier fetches (only to a carrier
    # whose sends_mms is true, and a recipient MMS reaches: gateway/media/rules.py takes_mms). On WhatsApp: one
    # image or video, as WhatsApp media with the body as its caption (only to a carrier whose sends_whatsapp_media).
    media_urls: tuple[str, ...] = ()
    channel: Channel = Channel.SMS  # whatsapp: only to a carrier whose `whatsapp` is true
    template: Template | None = None  # WhatsApp outside the window: this approved template instead of body
    media_types: tuple[str, ...] = ()  # each media URL's media type ("image/png"), in order, where the core knows it


@dataclass(frozen=True, slots=True)
class Template:
    """A community's approved WhatsApp template, carrier-neutral: the carrier's id for it (Twilio: a Content SID)
    and its variables; preview is what it says (kept as the message's body, shown by the sandbox)."""

    template_id: str
    variables: Mapping[str, str]
    preview: str


@dataclass(frozen=True, slots=True)
class Failure:
    """What a carrier error means: its class, and whether trying again later can help (permanent=False)."""

    failure_class: FailureClass
    permanent: bool


OTHER_FAILURE = Failure(FailureClass.OTHER, True)

# WhatsApp's own template names (Meta's rule, as Telnyx's template API states it: lower-case letters, digits and
# underscores), what carriers that pass WhatsApp's template object name a template by.
WHATSAPP_TEMPLATE_NAME = re.compile(r"[a-z0-9_]{1,512}")


def whatsapp_template_name_problem(template_id: str) -> str | None:
    """For carriers that name a template by WhatsApp's name: None when template_id can be one."""
    return None if WHATSAPP_TEMPLATE_NAME.fullmatch(template_id) else \
        "expected the template's name at WhatsApp: lower-case letters, digits and underscores"


@dataclass(frozen=True, slots=True)
class Accepted:
    sid: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    reason: str
    after: float | None = None  # seconds the carrier asked us to wait (Retry-After), if it said


@dataclass(frozen=True, slots=True)
class Rejected:
    code: str  # the carrier's error code (stored on the message, and the DND reason)
    message: str
    failure: Failure = OTHER_FAILURE  # what the code means: the same as carrier.failure(code)


SendResult = Accepted | RetryLater | Rejected


# --- Line types ---------------------------------------------------------------------------------------------

class LookupFailed(Exception):
    """The lookup service did not answer usefully; the number counts as "unknown" and is not cached."""


class NotANumber(Exception):
    """The lookup service says the number does not exist."""


@dataclass(frozen=True, slots=True)
class LineAnswer:
    line_type: str  # mobile, voip, personal, landline, toll_free, premium, shared_cost, uan, voicemail, pager, unknown
    carrier_name: str | None = None


class LineTypeLookup(Protocol):
    name: str  # stored with each answer (line_types.source)

    async def lookup(self, e164: str) -> LineAnswer:
        """The line type of an E.164 number. Raises LookupFailed (service away or odd answer), NotANumber."""
        ...


# --- The interface ------------------------------------------------------------------------------------------

Inbox = Callable[[InboundMessage], Awaitable[str]]  # the core's receive: stores the message, returns its outcome;
# raises NotPermitted (wrong_carrier) for a text to a number on another carrier
Task = Callable[[], Awaitable[None]]  # a loop run (and restarted after a crash) by the background tasks' owner

# The query parameter of our message id in a status callback URL. "mid" was its name before issue 10: callbacks
# for messages sent then still carry it.
MESSAGE_ID = "message_id"
OLD_MESSAGE_ID = "mid"


class Resources(NamedTuple):
    """What a carrier may use once the gateway has started (given to Carrier.open)."""

    session: aiohttp.ClientSession  # for its API and callbacks; send timeouts are the carrier's own
    redis: aioredis.Redis
    metrics: Metrics


class Carrier:
    """One carrier. Subclasses set name, inbound_path, status_path and error_codes, and implement verify,
    parse_inbound, parse_status and send; the rest has defaults.

    Life: built from the configuration alone (its module's create(settings, config), in create_app, so its
    routes can be registered), then open(resources) once the gateway's pools exist, before any send or webhook.
    """

    name: str = ""  # as in the configuration (carrier.name, carrier.also) and community_numbers.carrier
    inbound_path: str = ""  # where the carrier posts texts to our numbers, e.g. /webhooks/twilio/sms
    status_path: str = ""  # where it posts delivery statuses; callback_url adds ?message_id= for each send
    error_codes: Mapping[str, Failure] = {}  # the carrier's error codes -> what they mean; others: OTHER_FAILURE
    api_prefix: str | None = None  # where its extra routes() act for the operator: they need the API token, as /v1/
    webhook_methods: Sequence[str] = ("POST",)  # the HTTP methods its webhooks arrive by (some call with GET)
    sends_mms: bool = False  # whether send puts OutboundSms.media_urls in its wire format (else: a link in an SMS)
    # The hosts (and their subdomains) its inbound media URLs are on: the gateway fetches from nowhere else (unless
    # media.fetch_hosts says otherwise), so a URL in a payload never makes it ask an internal address.
    media_hosts: Sequence[str] = ()
    whatsapp: bool = False  # it parses WhatsApp senders and sends OutboundSms with channel whatsapp and templates
    # It sends a WhatsApp OutboundSms's media URL (one image or video, the text its caption) as WhatsApp media;
    # else a picture to a WhatsApp participant goes as the link to its page.
    sends_whatsapp_media: bool = False

    def callback_url(self, public_url: str, message_id: int) -> str:
        """Where this carrier posts the statuses of one message: public_url (config, no trailing slash) + its
        status path, with our id as ?message_id= (read back by the core's status handler)."""
        return f"{public_url}{self.status_path}?{MESSAGE_ID}={message_id}"

    async def open(self, resources: Resources) -> None:
        """Keep what it needs of the started gateway's resources. Raises nothing."""
        self.resources = resources

    def webhook_paths(self) -> Sequence[tuple[str, str]]:
        """(path, "inbound" | "status" | "both") for every webhook route; each path is registered for each of
        webhook_methods (POST alone unless the carrier says). "both": a path the carrier posts messages and
        statuses to alike (even in one request): the core runs parse_inbound and parse_status on each request,
        each returning the items of its kind, and answers with inbound_reply when the request held a message,
        else status_reply."""
        return [(self.inbound_path, "inbound"), (self.status_path, "status")]

    def verify(self, request: RawRequest) -> bool:
        """Whether the carrier signed this request (over its headers and raw body). Raises
        UnsupportedMedia (415) for a body it never sends that way, Malformed("invalid_body") for one it
        cannot read (both before the signature is checked, as the core answers 415/400 before 403)."""
        raise NotImplementedError

    def parse_inbound(self, request: RawRequest) -> Sequence[InboundMessage]:
        """The messages in a verified inbound webhook (Bandwidth-style carriers post several).
        Raises Malformed (400) for a missing or bad field."""
        raise NotImplementedError

    def parse_status(self, request: RawRequest) -> Sequence[StatusUpdate]:
        """The updates in a verified status webhook; empty when none is ours to apply (e.g. an inbound's own
        status). Raises Malformed (400) for a missing or bad field."""
        raise NotImplementedError

    def inbound_reply(self) -> WebhookReply:
        """The answer once the inbound messages are durable."""
        return WebhookReply()

    def status_reply(self) -> WebhookReply:
        """The answer to a status webhook, applied or ignored."""
        return WebhookReply()

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        """Hand one text to the carrier; status_callback is the full URL it should post statuses to (its
        callback_url for the message).
        Never raises for the carrier's answers or its network: RetryLater (try again), Rejected (never)."""
        raise NotImplementedError

    # Credentials its media URLs on its own API need (e.g. Basic auth), and that API's base URL.
    media_auth: Mapping[str, str] = {}
    media_api: str = ""

    def media_headers(self, url: str) -> Mapping[str, str]:
        """The headers fetching one of its inbound media URLs needs: media_auth, only on its own API's host
        (media_api's), so that a URL pointing elsewhere (a redirect's file store) never gets them."""
        return self.media_auth if self.media_api and urlsplit(url).netloc == urlsplit(self.media_api).netloc else {}

    async def delete_media(self, url: str) -> bool:
        """Delete the carrier's copy of an inbound attachment once the gateway keeps it, where its API allows;
        whether it is gone. Never raises. Default: the carrier has no such call (its own retention applies)."""
        return False

    def template_problem(self, template_id: str) -> str | None:
        """What is wrong with a WhatsApp template id for this carrier (its format: a Content SID, WhatsApp's template
        name), or None when it may be one. Default: anything the API took."""
        return None

    def failure(self, code: str | None) -> Failure | None:
        """What an error code means: None without a code, OTHER_FAILURE for a code not in the map."""
        if not code:
            return None
        return self.error_codes.get(code, OTHER_FAILURE)

    def codes_where(self, matches: Callable[[Failure], bool]) -> list[str]:
        """This carrier's codes whose meaning matches (e.g. every code that counts toward a temporary DND)."""
        return sorted(code for code, failure in self.error_codes.items() if matches(failure))

    def tasks(self) -> Mapping[str, Task]:
        """Background loops by name (e.g. the sandbox's callbacks); started with the gateway, stopped before it."""
        return {}

    def routes(self, inbox: Inbox) -> Sequence[web.RouteDef]:
        """Extra HTTP routes (e.g. the sandbox's phone); those under api_prefix (or /v1/) need the API token."""
        return []
