"""Telnyx: its settings ([telnyx] / TELNYX_*), its wire format (JSON events signed with Ed25519), its Messaging
API v2, its messaging error codes and its Number Lookup.

Built from Telnyx's public documentation:
  https://developers.telnyx.com/api-reference/messages/send-a-message        (POST /v2/messages)
  https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks    (events, URL hierarchy, signatures)
  https://developers.telnyx.com/api-reference/callbacks/inbound-message       (message.received payload)
  https://developers.telnyx.com/docs/messaging/messages/message-detail-records (to[].status, errors[])
  https://developers.telnyx.com/docs/messaging/messages/error-codes           (40xxx delivery errors)
  https://developers.telnyx.com/docs/messaging/messages/advanced-opt-in-out   (40300, blocked after STOP)
  https://developers.telnyx.com/development/api-fundamentals/api-errors       (10xxx API errors)
  https://developers.telnyx.com/api-reference/number-lookup/lookup-phone-number-data (GET /v2/number_lookup)
  WhatsApp (POST /v2/messages/whatsapp; payload.type WHATSAPP in the same webhooks): _telnyx_whatsapp.py

Two webhook paths, not one. Telnyx posts a message's events to the webhook_url given with that message, else to
the messaging profile's URL. Every send from here names our status path (with ?message_id=), so the profile's
URL, our inbound path, only ever carries message.received for us (each send also says use_profile_webhooks:
false, so Telnyx does not fall back to the profile's URL with our statuses); events of messages sent some other
way (the portal, another program on the profile) arrive there too and are not ours: answered 200, ignored.
A message.received at the status path means the profile points at the wrong path: it is refused with 400 so
that Telnyx's webhook log shows it, instead of the text being dropped silently.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.carriers import _telnyx_whatsapp as wa
from gateway.carriers._http import lookup_json, read_json, send_request, with_plus
from gateway.carriers.base import (Accepted, Carrier, Failure, InboundMessage, LineAnswer, LookupFailed, NotANumber,
                                   OTHER_FAILURE, OutboundSms, RawRequest, Rejected, SendResult, StatusUpdate,
                                   whatsapp_template_name_problem)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed
from gateway.vocabulary import Channel, FailureClass, MessageStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settings:
    """[telnyx] in the config file; TELNYX_<SETTING> in the environment."""

    api_key: str = ""  # Bearer key of the Messaging API and Number Lookup
    public_key: str = ""  # base64 Ed25519 key (Mission Control portal, Keys & Credentials): checks webhooks
    api_base: str = "https://api.telnyx.com"
    messaging_profile_id: str = ""  # optional: sent with each message when set
    timestamp_tolerance: float = 300.0  # seconds a webhook's telnyx-timestamp may be off our clock, either way
    whatsapp_locale: str = "en_US"  # the language WhatsApp templates are sent in (the approved template's)


def check(settings: Settings, config: Config) -> None:
    """With telnyx as a carrier: the API key and a readable public key are required; the API base is a URL."""
    if not settings.api_key:
        raise ConfigError(f"{carrier_setting('telnyx', 'api_key')}: required when telnyx is a carrier")
    if not settings.public_key:
        raise ConfigError(f"{carrier_setting('telnyx', 'public_key')}: required when telnyx is a carrier")
    if public_key(settings.public_key) is None:
        raise ConfigError(f"{carrier_setting('telnyx', 'public_key')}: expected the base64 Ed25519 public key "
                          "shown in the Mission Control portal")
    if settings.timestamp_tolerance <= 0:
        raise ConfigError(f"{carrier_setting('telnyx', 'timestamp_tolerance')}: must be more than 0 seconds")
    check_url(carrier_setting("telnyx", "api_base"), settings.api_base, ("http", "https"))


def check_lookup(settings: Settings, config: Config) -> None:
    """With LINE_TYPE_LOOKUP=telnyx (telnyx need not be a carrier): the API key and the API base."""
    if not settings.api_key:
        raise ConfigError("lookup.name (LINE_TYPE_LOOKUP): telnyx needs TELNYX_API_KEY")
    check_url(carrier_setting("telnyx", "api_base"), settings.api_base, ("http", "https"))


def public_key(text: str) -> Ed25519PublicKey | None:
    """The portal's base64 key (32 raw bytes); None when it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        return None


# to[].status -> ours. "delivery_unconfirmed" is final: the message left, no receipt came back. An inbound
# message's own statuses ("received", "webhook_delivered") are not ours to apply.
STATUSES = {
    "queued": MessageStatus.ACCEPTED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivery_unconfirmed": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "sending_failed": MessageStatus.FAILED,
    "delivery_failed": MessageStatus.UNDELIVERED,
    "expired": MessageStatus.UNDELIVERED,
    "read": MessageStatus.READ,  # WhatsApp's read receipt
}
INBOUND_EVENT = "message.received"
STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})
MAX_BODY = 6400  # a bound against absurd bodies, above any concatenated text a phone sends
MAX_MEDIA = 10

# Telnyx's messaging error codes -> what they mean. Only codes whose meaning is sure are listed; any other is
# OTHER_FAILURE. Left out on purpose: 40004 (rejected, reason unknown), 40006 (the recipient's carrier is down:
# no fault of the phone's, so no DND), 40008 (the docs' general-purpose "undeliverable": the phone or the
# content, no telling), 40009 (the body), 40003/40013 (our own sender refused).
ERROR_CODES: Mapping[str, Failure] = {
    "40300": Failure(FailureClass.OPTED_OUT, True),  # blocked: the recipient sent STOP to this profile
    "40001": Failure(FailureClass.LANDLINE, False),  # not routable: a landline or non-routable wireless number
    "40012": Failure(FailureClass.INVALID_NUMBER, False),  # the recipient's carrier refused the destination
    "40002": Failure(FailureClass.FILTERED, False),  # a carrier's spam filter, temporary
    "40015": Failure(FailureClass.FILTERED, False),  # Telnyx's own spam filter
    "40011": Failure(FailureClass.RATE_LIMITED, False),  # upstream throughput exceeded
    "10011": Failure(FailureClass.RATE_LIMITED, False),  # API: too many requests
    "10002": Failure(FailureClass.INVALID_NUMBER, True),  # API: invalid phone number
    "10016": Failure(FailureClass.INVALID_NUMBER, True),  # API: a number not in +E.164
    **wa.WHATSAPP_ERROR_CODES,
}


def signed_payload(timestamp: str, body: bytes) -> bytes:
    """What Telnyx signs: the telnyx-timestamp header, "|", the raw body."""
    return timestamp.encode("ascii") + b"|" + body


def read_event(request: RawRequest) -> dict[str, Any]:
    """The event's `data` object, decoded once per request. Raises 415 for a body that is not JSON in UTF-8
    (Telnyx posts application/json), Malformed for one that cannot be read or has no event in it."""
    if "event" not in request.decoded:
        request.decoded["event"] = _decode_event(request)
    return request.decoded["event"]


def _decode_event(request: RawRequest) -> dict[str, Any]:
    event = read_json(request)
    data = event.get("data") if isinstance(event, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("event_type"), str) \
            or not isinstance(data.get("payload"), dict):
        raise Malformed("invalid_body", "expected {\"data\": {\"event_type\", \"payload\"}}")
    return data


def _text(value: Any, name: str, *, limit: int = 64, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Malformed("invalid_field" if value is not None else "missing_field", f"{name}: expected a string")
    if len(value) > limit:
        raise Malformed("invalid_field", f"{name}: longer than {limit} characters")
    if "\x00" in value:
        raise Malformed("invalid_field", f"{name}: contains a NUL character")
    if required and not value:
        raise Malformed("invalid_field", f"{name}: must not be empty")
    return value


def _number(value: Any, name: str) -> str:
    """A party's phone_number, with "+" before a number given in digits only."""
    return with_plus(_text(value.get("phone_number") if isinstance(value, dict) else None, f"{name}.phone_number"))


def _first(payload: dict, name: str) -> dict:
    parties = payload.get(name)
    if not isinstance(parties, list) or not parties or not isinstance(parties[0], dict):
        raise Malformed("missing_field", f"payload.{name}: expected a list of at least one recipient")
    return parties[0]


def _media(payload: dict) -> tuple[str, ...]:
    media = payload.get("media") or []
    if not isinstance(media, list) or len(media) > MAX_MEDIA:
        raise Malformed("invalid_field", f"payload.media: expected a list of at most {MAX_MEDIA}")
    return tuple(_text(item.get("url") if isinstance(item, dict) else None, f"payload.media[{i}].url", limit=2048)
                 for i, item in enumerate(media))


def _content(payload: dict) -> tuple[str, tuple[str, ...], Channel]:
    """The text, the media URLs and the channel of an inbound message (WhatsApp's read from its message object)."""
    if not wa.is_whatsapp(payload):
        body = payload.get("text")
        body = body.replace("\x00", "") if isinstance(body, str) else body
        return _text(body, "payload.text", limit=MAX_BODY, required=False), _media(payload), Channel.SMS
    body, links = wa.inbound_content(payload)
    body = body.replace("\x00", "") if isinstance(body, str) else body
    if len(links) > MAX_MEDIA:
        raise Malformed("invalid_field", f"payload.media: expected a list of at most {MAX_MEDIA}")
    return (_text(body, "payload.body", limit=MAX_BODY, required=False),
            tuple(_text(link, f"payload.body.media[{i}]", limit=2048) for i, link in enumerate(links)),
            Channel.WHATSAPP)


def _error_code(payload: dict) -> str | None:
    errors = payload.get("errors") or []
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return None
    code = errors[0].get("code")
    return str(code)[:32] if isinstance(code, (str, int)) and str(code) else None


class TelnyxWire(Carrier):
    """Verifying and parsing Telnyx's webhooks (no I/O): the part the tests drive with payload files."""

    name = "telnyx"
    inbound_path = "/webhooks/telnyx/sms"
    status_path = "/webhooks/telnyx/status"
    error_codes = ERROR_CODES

    def __init__(self, key: str, tolerance: float = 300.0) -> None:
        self.key = public_key(key)
        self.tolerance = tolerance

    def verify(self, request: RawRequest) -> bool:
        read_event(request)  # 415 / 400 before 403
        signature = request.headers.get("telnyx-signature-ed25519", "")
        timestamp = request.headers.get("telnyx-timestamp", "")
        # Unix seconds: ASCII digits, and few of them (int() refuses over 4,300 digits).
        if self.key is None or not signature.isascii() or not (timestamp.isascii() and timestamp.isdigit()) \
                or len(timestamp) > 12:
            return False
        if abs(time.time() - int(timestamp)) > self.tolerance:
            log.info("stale_webhook_refused", carrier=self.name, timestamp=int(timestamp))
            return False
        try:
            self.key.verify(base64.b64decode(signature, validate=True), signed_payload(timestamp, request.body))
        except (binascii.Error, ValueError, InvalidSignature):
            return False
        return True

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        event = read_event(request)
        if event["event_type"] != INBOUND_EVENT:
            log.info("webhook_event_ignored", carrier=self.name, event_type=event["event_type"][:64])
            return []
        payload = event["payload"]
        body, media, channel = _content(payload)
        return [InboundMessage(
            sid=_text(payload.get("id"), "payload.id"),
            from_number=_number(payload.get("from"), "payload.from"),
            to_number=_number(_first(payload, "to"), "payload.to[0]"),
            body=body, media_urls=media, channel=channel,
        )]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        event = read_event(request)
        if event["event_type"] == INBOUND_EVENT:
            raise Malformed("wrong_path", f"message.received: set the messaging profile's webhook URL to "
                                          f"{self.inbound_path}, not {self.status_path}")
        payload = event["payload"]
        if event["event_type"] not in STATUS_EVENTS or payload.get("direction") == "inbound":
            return []
        status = STATUSES.get(str(_first(payload, "to").get("status")))
        if status is None:
            return []
        return [StatusUpdate(_text(payload.get("id"), "payload.id"), status, _error_code(payload))]


class TelnyxCarrier(TelnyxWire):
    """Sends through POST {api_base}/v2/messages with a Bearer key (WhatsApp: /v2/messages/whatsapp); each message
    names our status path. Its inbound media URLs are public (no credentials) and expire on Telnyx's side: none is
    deleted."""

    sends_mms = True
    whatsapp = True  # its own endpoint and the same webhooks (gateway/carriers/_telnyx_whatsapp.py)
    sends_whatsapp_media = True  # whatsapp_message image or video {link, caption}
    template_problem = staticmethod(whatsapp_template_name_problem)  # WhatsApp's template name
    media_hosts = ("telnyx.com", "amazonaws.com")  # media_url: Telnyx's own, or a presigned file-store URL

    def __init__(self, settings: Settings, config: Config) -> None:
        super().__init__(settings.public_key, settings.timestamp_tolerance)
        self.url = f"{settings.api_base.rstrip('/')}/v2/messages"
        self.whatsapp_url = f"{self.url}/whatsapp"
        self.locale = settings.whatsapp_locale
        self.headers = {"Authorization": f"Bearer {settings.api_key}", "Accept": "application/json"}
        self.profile = settings.messaging_profile_id
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        if message.channel == Channel.WHATSAPP:
            return await send_request(self.resources.session, "POST", self.whatsapp_url, _result, json={
                "from": message.from_number, "to": message.to_number, "webhook_url": status_callback,
                "whatsapp_message": wa.message_object(message, self.locale)}, headers=self.headers,
                timeout=self.timeout)
        body = {"from": message.from_number, "to": message.to_number, "text": message.body,
                "webhook_url": status_callback, "use_profile_webhooks": False}
        if self.profile:
            body["messaging_profile_id"] = self.profile
        if message.media_urls:
            body["media_urls"] = list(message.media_urls)  # Telnyx sends an MMS when media_urls is given
        return await send_request(self.resources.session, "POST", self.url, _result, json=body, headers=self.headers,
                                  timeout=self.timeout)


def _result(status: int, payload: dict) -> SendResult:
    data = payload.get("data")
    if 200 <= status < 300 and isinstance(data, dict) and isinstance(data.get("id"), str) and data["id"]:
        return Accepted(data["id"])
    code = _error_code(payload) or str(status)
    errors = payload.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    words = [str(first[key]) for key in ("title", "detail") if first.get(key)]
    message = (": ".join(words) or f"carrier answered {status}")[:500]
    return Rejected(code, message, ERROR_CODES.get(code, OTHER_FAILURE))


# carrier.type (else portability.line_type) -> ours. "fixed line or mobile" says nothing sure: unknown.
LINE_TYPES = {
    "mobile": "mobile", "wireless": "mobile", "voip": "voip", "fixed line": "landline", "landline": "landline",
    "toll free": "toll_free", "premium rate": "premium", "shared cost": "shared_cost",
    "personal number": "personal", "pager": "pager", "uan": "uan", "voicemail": "voicemail",
}


class TelnyxLookup:
    """GET {api_base}/v2/number_lookup/{E.164}?type=carrier with the Bearer key."""

    name = "telnyx"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.base = settings.api_base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {settings.api_key}", "Accept": "application/json"}

    async def lookup(self, e164: str) -> LineAnswer:
        payload = await lookup_json(self.session, f"{self.base}/v2/number_lookup/{e164}", e164,
                                    params={"type": "carrier"}, headers=self.headers)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise LookupFailed("lookup answered no data object")
        if data.get("valid_number") is False:
            raise NotANumber(e164)
        return _line_answer(data)


def _line_answer(data: dict) -> LineAnswer:
    carrier = data.get("carrier") if isinstance(data.get("carrier"), dict) else {}
    portability = data.get("portability") if isinstance(data.get("portability"), dict) else {}
    kind = carrier.get("type") or portability.get("line_type")
    line_type = LINE_TYPES.get(str(kind).strip().lower(), "unknown")
    name = carrier.get("normalized_carrier") or carrier.get("name") or portability.get("spid_carrier_name")
    return LineAnswer(line_type, str(name)[:200] if name else None)


def create(settings: Settings, config: Config) -> TelnyxCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return TelnyxCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> TelnyxLookup:
    """LINE_TYPE_LOOKUP=telnyx: needs the telnyx API key, not the telnyx carrier."""
    return TelnyxLookup(settings, session)
