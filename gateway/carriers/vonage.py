"""Vonage, through its Messages API (v1): its settings ([vonage] / VONAGE_*), its signed JSON webhooks, sending
with Basic authentication, its error codes, and Number Insight Standard as a line-type lookup.

Built from Vonage's public documentation:
  https://developer.vonage.com/en/api/messages (the Messages API v1: POST /v1/messages, its webhooks)
  https://developer.vonage.com/en/messages/concepts/signed-webhooks (JWT HS256 with the signature secret,
      payload_hash = SHA-256 of the body)
  https://developer.vonage.com/en/messages/concepts/messages-status-callbacks (submitted, delivered, read,
      rejected, undeliverable, with an error object)
  https://developer.vonage.com/en/api-errors/messages (the Messages API's error codes, 1000 to 1370)
  https://developer.vonage.com/en/api-errors (RFC 7807 problem answers)
  https://developer.vonage.com/en/getting-started/concepts/authentication (Basic: api_key and api_secret)
  https://developer.vonage.com/en/number-insight/code-snippets/number-insight-standard (GET /ni/standard/json,
      Basic authentication)
  https://developer.vonage.com/en/api/number-insight (status 0 success, 3 invalid number; current_carrier with
      name and network_type)

WhatsApp and MMS (sending, and the application JWT for secure inbound media): gateway/carriers/_vonage_channels.py.

Not supported: JWT (application) authentication for sending. Vonage sunsets Number Insight on 4 February 2027 (its
successor, Identity Insights, is not supported here).
"""

from __future__ import annotations

import hashlib
import hmac
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import aiohttp
import jwt
import structlog

from gateway.carriers import _vonage_channels as channels
from gateway.carriers._http import basic_auth, lookup_json, read_json, send_request, text_field, with_plus
from gateway.carriers.base import (Accepted, Carrier, Failure, InboundMessage, LineAnswer, LookupFailed, NotANumber,
                                   OTHER_FAILURE, OutboundSms, RawRequest, Rejected, SendResult, StatusUpdate,
                                   whatsapp_template_name_problem)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed
from gateway.vocabulary import Channel, FailureClass, MessageStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settings:
    """[vonage] in the config file; VONAGE_<SETTING> in the environment."""

    api_key: str = ""  # with api_secret: Basic authentication on the Messages API and Number Insight
    api_secret: str = ""
    signature_secret: str = ""  # checks the JWT (HS256) in each webhook's Authorization header
    api_base: str = "https://api.nexmo.com"  # the Messages API and Number Insight (LINE_TYPE_LOOKUP=vonage)
    timestamp_tolerance: int = 300  # seconds a webhook's JWT (its iat) stays valid, either side of our clock
    # The Vonage application's id and the file of its private key (PEM): with both, inbound media is fetched with the
    # application's JWT, which "Secure Inbound Media" requires; without, without credentials (its standard URLs).
    application_id: str = ""
    private_key_file: str = ""
    whatsapp_locale: str = "en_US"  # the language code WhatsApp templates are sent in (the approved template's)


def check(settings: Settings, config: Config) -> None:
    """With vonage as a carrier: the credentials and the signature secret are required."""
    for setting in ("api_key", "api_secret", "signature_secret"):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('vonage', setting)}: required when vonage is a carrier")
    check_url(carrier_setting("vonage", "api_base"), settings.api_base, ("http", "https"))
    if bool(settings.application_id) != bool(settings.private_key_file):
        raise ConfigError(f"{carrier_setting('vonage', 'private_key_file')}: goes with application_id")
    if settings.private_key_file:
        private_key(settings)
    if settings.timestamp_tolerance <= 0:
        raise ConfigError(f"{carrier_setting('vonage', 'timestamp_tolerance')}: a number of seconds above 0")


def private_key(settings: Settings) -> str:
    """The application's private key (PEM), read from its file; ConfigError when it cannot be read as one."""
    try:
        text = Path(settings.private_key_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{carrier_setting('vonage', 'private_key_file')}: cannot be read "
                          f"({type(exc).__name__})") from None
    if "PRIVATE KEY-----" not in text:
        raise ConfigError(f"{carrier_setting('vonage', 'private_key_file')}: not a PEM private key")
    return text


def check_lookup(settings: Settings, config: Config) -> None:
    """With LINE_TYPE_LOOKUP=vonage (vonage need not be a carrier): the API key and secret, and the API base."""
    for setting in ("api_key", "api_secret"):
        if not getattr(settings, setting):
            raise ConfigError(f"lookup.name (LINE_TYPE_LOOKUP): vonage needs {carrier_setting('vonage', setting)}")
    check_url(carrier_setting("vonage", "api_base"), settings.api_base, ("http", "https"))


# The status webhook's status -> ours. "submitted": Vonage handed the SMS to the network; "rejected": Vonage or
# the network refused it, or its time to live ran out (after "submitted" for a failed delivery receipt);
# "undeliverable": Vonage could not reach the network at all.
STATUSES = {
    "submitted": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "rejected": MessageStatus.UNDELIVERED,
    "undeliverable": MessageStatus.FAILED,
}
MAX_BODY = 1600  # as the other carriers: ten segments
# An MMS's (or a WhatsApp message's) message_type, each {"url": ...}; WhatsApp's sticker has no caption.
MEDIA_TYPES = ("image", "audio", "video", "file", "vcard", "sticker")
CHANNELS = {"sms": Channel.SMS, "mms": Channel.SMS, "whatsapp": Channel.WHATSAPP}

# Vonage's Messages API codes (https://developer.vonage.com/en/api-errors/messages) -> what they mean. Only codes
# whose meaning is sure are listed; any other is OTHER_FAILURE. Delivery failures a status webhook reports are
# temporary (permanent=False), as Twilio's 3000x are, so they count toward a temporary DND.
ERROR_CODES: Mapping[str, Failure] = {
    "1000": Failure(FailureClass.RATE_LIMITED, False),  # throttled: over the account's submission capacity
    "1241": Failure(FailureClass.RATE_LIMITED, False),  # too many send requests to phone numbers
    "1170": Failure(FailureClass.INVALID_NUMBER, True),  # the "to" number is missing or invalid
    "1180": Failure(FailureClass.UNREACHABLE, False),  # absent subscriber, temporary (off, out of coverage)
    "1190": Failure(FailureClass.INVALID_NUMBER, False),  # absent subscriber, permanent: no longer active
    "1210": Failure(FailureClass.FILTERED, False),  # anti-spam rejection by the carrier
    "1220": Failure(FailureClass.UNREACHABLE, False),  # handset busy
    "1240": Failure(FailureClass.OPTED_OUT, True),  # illegal number: the phone texted STOP to this sender
    "1260": Failure(FailureClass.UNREACHABLE, False),  # destination unreachable
    "1270": Failure(FailureClass.FILTERED, False),  # blocked by the carrier for an age restriction
    "1280": Failure(FailureClass.UNREACHABLE, False),  # blocked by the carrier: the plan has no SMS, suspended
    "throttled": Failure(FailureClass.RATE_LIMITED, False),  # a 429's problem type
    **channels.WHATSAPP_ERROR_CODES,
}


def payload_hash(body: bytes) -> str:
    """The payload_hash claim: the hex SHA-256 of the raw body."""
    return hashlib.sha256(body).hexdigest()


def read_object(request: RawRequest) -> dict[str, Any]:
    """The webhook's JSON object, decoded once per request. 415 for a body that is not JSON in UTF-8 (Vonage
    posts application/json), 400 invalid_body for bytes that are not a JSON object."""
    payload = read_json(request)
    if not isinstance(payload, dict):
        raise Malformed("invalid_body", "the body is not a JSON object")
    return payload


def error_code(error: object) -> str | None:
    """The Messages API code of a status webhook's error: its title (1000...), else the fragment of its type
    URL (https://developer.vonage.com/api-errors/messages#1000); None without an error."""
    if not isinstance(error, dict):
        return None
    title = error.get("title")
    if isinstance(title, int) and not isinstance(title, bool):
        return str(title)
    if isinstance(title, str) and title.isascii() and title.isdigit():
        return title[:16]
    kind = error.get("type")
    if isinstance(kind, str) and "#" in kind:
        return kind.rsplit("#", 1)[1][:32] or None
    return None


class VonageCarrier(Carrier):
    """Sends through the Messages API; Vonage posts to /webhooks/vonage/inbound and /webhooks/vonage/status."""

    name = "vonage"
    inbound_path = "/webhooks/vonage/inbound"
    status_path = "/webhooks/vonage/status"
    error_codes = ERROR_CODES
    # Inbound media (api*.nexmo.com/v3/media/...). MMS: one message per picture (_vonage_channels.payloads).
    media_hosts = ("nexmo.com", "vonage.com")
    sends_mms = True
    whatsapp = True  # channel whatsapp in the same Messages API, from a number enabled for WhatsApp at Vonage
    sends_whatsapp_media = True  # message_type image or video on channel whatsapp, the text its caption
    template_problem = staticmethod(whatsapp_template_name_problem)  # WhatsApp's template name

    def __init__(self, settings: Settings, config: Config) -> None:
        self.signature_secret = settings.signature_secret
        self.tolerance = settings.timestamp_tolerance
        self.url = f"{settings.api_base.rstrip('/')}/v1/messages"
        self.headers = basic_auth(settings.api_key, settings.api_secret)
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)
        self.application = (settings.application_id, private_key(settings)) if settings.application_id else None
        self.api_host = urlsplit(settings.api_base).netloc
        self.locale = settings.whatsapp_locale

    def media_headers(self, url: str) -> Mapping[str, str]:
        """The application's JWT, fresh, for its media on Vonage's hosts (or the API base's), when configured."""
        host = urlsplit(url).hostname or ""
        ours = urlsplit(url).netloc == self.api_host or any(host == name or host.endswith("." + name)
                                                               for name in self.media_hosts)
        if self.application is None or not ours:
            return {}
        return {"Authorization": "Bearer " + channels.application_jwt(*self.application)}

    # --- Webhooks ---------------------------------------------------------------------------------------------

    def verify(self, request: RawRequest) -> bool:
        """Authorization: Bearer <JWT>, HS256 with the signature secret, issued (iat) within the tolerance of
        now, whose payload_hash is the SHA-256 of the raw body."""
        read_object(request)  # 415 / 400 before 403
        claims = self.claims(request.headers.get("Authorization", ""))
        if claims is None:
            return False
        if not self.fresh(claims.get("iat")):
            log.info("webhook_signature_stale", carrier=self.name)
            return False
        given = claims.get("payload_hash")
        if not isinstance(given, str) or not given.isascii():
            return False
        return hmac.compare_digest(given.lower().encode(), payload_hash(request.body).encode())

    def fresh(self, issued: object) -> bool:
        """Whether iat (seconds since the epoch) is within the tolerance of now, either side."""
        if not isinstance(issued, (int, float)) or isinstance(issued, bool):
            return False
        try:
            return abs(time.time() - issued) <= self.tolerance  # NaN compares False: stale
        except OverflowError:  # an integer too large for a float
            return False

    def claims(self, authorization: str) -> dict[str, Any] | None:
        """The JWT's claims when its signature is the signature secret's; None otherwise."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token or not token.isascii() or not self.signature_secret:
            return None
        try:
            with warnings.catch_warnings():  # a secret shorter than 32 bytes is Vonage's to choose, not a fault
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                claims = jwt.decode(token.strip(), self.signature_secret, algorithms=["HS256"],
                                    options={"require": ["iat"], "verify_iat": False, "verify_exp": True})
        except jwt.PyJWTError:
            return None
        return claims if isinstance(claims, dict) else None

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        payload = read_object(request)
        channel = CHANNELS.get(text_field(payload, "channel", required=False) or "sms")
        if channel is None:
            raise Malformed("invalid_field", "channel: only sms, mms and whatsapp are relayed")
        kind = text_field(payload, "message_type", required=False) or "text"
        text, media = _content(payload, kind)
        return [InboundMessage(sid=text_field(payload, "message_uuid"),
                               from_number=with_plus(text_field(payload, "from")),
                               to_number=with_plus(text_field(payload, "to")), body=text, media_urls=media,
                               channel=channel)]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        """[] for a status that is not one of ours to apply (a status name Vonage may add later)."""
        payload = read_object(request)
        status = STATUSES.get(text_field(payload, "status"))
        if status is None:
            return []
        return [StatusUpdate(text_field(payload, "message_uuid"), status, error_code(payload.get("error")))]

    # --- Sending ----------------------------------------------------------------------------------------------

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        """One request, or for an MMS of several pictures one per picture: the first one's answer is the send's
        (its message_uuid the sid; each part's statuses move the message forward, never back). A later part
        refused is logged and not retried: the first already went, and trying the whole again would repeat it."""
        common = {"to": message.to_number.lstrip("+"), "from": message.from_number.lstrip("+"),
                  "client_ref": str(message.id), "webhook_url": status_callback, "webhook_version": "v1"}
        first, *rest = channels.payloads(message, self.locale)
        result = await self._post(first | common)
        for n, part in enumerate(rest, 2):
            if not isinstance(result, Accepted):
                break
            if not isinstance(later := await self._post(part | common), Accepted):
                log.warning("mms_part_not_sent", part=n, parts=len(rest) + 1, reason=type(later).__name__)
        return result

    async def _post(self, body: dict) -> SendResult:
        return await send_request(self.resources.session, "POST", self.url, _result, json=body, headers=self.headers,
                                  timeout=self.timeout)


def _content(payload: Mapping[str, Any], kind: str) -> tuple[str, tuple[str, ...]]:
    """The text (without NUL: Postgres cannot store it, and refusing would lose the message) and media URLs of
    an inbound message of message_type kind."""
    if kind == "text":
        return _without_nul(payload, "text"), ()
    if kind == "button" and isinstance(payload.get("button"), dict):  # WhatsApp: a template's quick-reply button
        return _without_nul(payload["button"], "text"), ()
    if kind not in MEDIA_TYPES:
        raise Malformed("invalid_field", f"message_type: {kind[:32]!r} is not relayed")
    media = payload.get(kind)
    if not isinstance(media, dict):
        raise Malformed("missing_field", f"{kind}: required")
    return _without_nul(media, "caption"), (text_field(media, "url", limit=2048),)


def _without_nul(fields: Mapping[str, Any], name: str) -> str:
    """An optional text field with its NUL characters dropped; Malformed (invalid_field) for one that is there but
    no string (a number, an array, an object): stored empty, the text would be lost without a word."""
    value = fields.get(name)
    clean = {name: value.replace("\x00", "") if isinstance(value, str) else value}
    return text_field(clean, name, required=False, limit=MAX_BODY)


def _result(status: int, payload: dict) -> SendResult:
    """202 {"message_uuid"}: accepted; any other answer (429 and 5xx are retried before this) is an RFC 7807
    problem whose type URL ends in its code (#1150, #unauthorized)."""
    if 200 <= status < 300 and isinstance(payload.get("message_uuid"), str) and payload["message_uuid"]:
        return Accepted(payload["message_uuid"][:64])
    code = error_code({"type": payload.get("type")}) or str(status)
    parts = [str(payload[key]) for key in ("title", "detail") if payload.get(key)]
    message = (": ".join(parts) or f"carrier answered {status}")[:500]
    return Rejected(code, message, ERROR_CODES.get(code, OTHER_FAILURE))


# --- The line-type lookup -----------------------------------------------------------------------------------

# Number Insight's current_carrier.network_type -> ours. "virtual" is a virtual (VoIP) number.
LINE_TYPES = {"mobile": "mobile", "landline": "landline", "landline_premium": "premium",
              "landline_tollfree": "toll_free", "virtual": "voip", "pager": "pager", "unknown": "unknown"}
INSIGHT_OK = "0"
INSIGHT_INVALID = "3"  # invalid request: the number is not one


class VonageLookup:
    """GET {api_base}/ni/standard/json?number=<digits> (Number Insight Standard) with Basic authentication, which the
    docs allow: the key and secret stay out of the URL (and out of any proxy's log)."""

    name = "vonage"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = f"{settings.api_base.rstrip('/')}/ni/standard/json"
        self.headers = {**basic_auth(settings.api_key, settings.api_secret), "Accept": "application/json"}

    async def lookup(self, e164: str) -> LineAnswer:
        payload = await lookup_json(self.session, self.url, e164, params={"number": e164.lstrip("+")},
                                    headers=self.headers)
        status = payload.get("status")
        status = str(status) if isinstance(status, (int, str)) and not isinstance(status, bool) else None
        if status == INSIGHT_INVALID:
            raise NotANumber(e164)
        if status != INSIGHT_OK:
            raise LookupFailed(f"number insight status {str(status)[:16]}")
        carrier = payload.get("current_carrier") if isinstance(payload.get("current_carrier"), dict) else {}
        name = carrier.get("name")
        return LineAnswer(LINE_TYPES.get(str(carrier.get("network_type")), "unknown"),
                          name[:200] if isinstance(name, str) and name else None)


def create(settings: Settings, config: Config) -> VonageCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return VonageCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> VonageLookup:
    """LINE_TYPE_LOOKUP=vonage: needs the vonage API key and secret, not the vonage carrier."""
    return VonageLookup(settings, session)
