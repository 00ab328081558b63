"""Twilio: its settings ([twilio] / TWILIO_*), its wire format (signed form webhooks, an empty TwiML reply), its
Messages REST API, its error codes and its Lookup v2 line-type API."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import aiohttp
import structlog

from gateway.carriers._http import (FORM_HEADERS, NETWORK_ERRORS, Form, basic_auth, form_body, lookup_json, read_form,
                                    send_request)
from gateway.carriers.base import (OTHER_FAILURE, Accepted, Carrier, Failure, InboundMessage, LineAnswer, NotANumber,
                                   OutboundSms, RawRequest, Rejected, SendResult, StatusUpdate, WebhookReply)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed
from gateway.vocabulary import Channel, FailureClass, MessageStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settings:
    """[twilio] in the config file; TWILIO_<SETTING> in the environment."""

    account_sid: str = ""
    auth_token: str = ""  # also checks X-Twilio-Signature
    api_base: str = "https://api.twilio.com"
    lookup_base: str = "https://lookups.twilio.com"  # the Lookup API (LINE_TYPE_LOOKUP=twilio)


def check(settings: Settings, config: Config) -> None:
    """With twilio as a carrier: the credentials are required, the API base must be a URL."""
    for setting in ("account_sid", "auth_token"):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('twilio', setting)}: required when twilio is a carrier")
    check_url(carrier_setting("twilio", "api_base"), settings.api_base, ("http", "https"))


def check_lookup(settings: Settings, config: Config) -> None:
    """With LINE_TYPE_LOOKUP=twilio (twilio need not be a carrier): the credentials and the lookup base."""
    if not (settings.account_sid and settings.auth_token):
        raise ConfigError("lookup.name (LINE_TYPE_LOOKUP): twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    check_url(carrier_setting("twilio", "lookup_base"), settings.lookup_base, ("http", "https"))

# Twilio's MessageStatus -> ours. The carrier's own "queued"/"accepted" mean it has the message.
STATUSES = {
    "accepted": MessageStatus.ACCEPTED,
    "queued": MessageStatus.ACCEPTED,
    "scheduled": MessageStatus.ACCEPTED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "partially_delivered": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.CANCELED,
}
MAX_BODY = 1600  # Twilio's own limit on a message body
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio's error codes (https://www.twilio.com/docs/api/errors) -> what they mean. Only codes whose meaning is
# sure are listed; any other is OTHER_FAILURE. Do-not-disturb acts on the classes (compliance/preferences.py).
ERROR_CODES: Mapping[str, Failure] = {
    "21610": Failure(FailureClass.OPTED_OUT, True),  # the recipient replied STOP to this sender
    "30003": Failure(FailureClass.UNREACHABLE, False),  # handset off or out of coverage
    "30005": Failure(FailureClass.INVALID_NUMBER, False),  # unknown destination handset
    "30006": Failure(FailureClass.LANDLINE, False),  # landline or unreachable carrier
    "30007": Failure(FailureClass.FILTERED, False),  # the recipient's carrier filtered the message
    "21211": Failure(FailureClass.INVALID_NUMBER, True),  # invalid "To" number
    "21614": Failure(FailureClass.LANDLINE, True),  # "To" is not a mobile number
    "20429": Failure(FailureClass.RATE_LIMITED, False),  # too many requests
    "14107": Failure(FailureClass.RATE_LIMITED, False),  # SMS send rate limit exceeded
    # WhatsApp (Twilio's error docs): free text outside the 24-hour customer-service window, use a template
    "63016": Failure(FailureClass.OUTSIDE_WINDOW, False),
    "63024": Failure(FailureClass.INVALID_NUMBER, False),  # invalid recipient: not (or not yet) a WhatsApp user
    "63018": Failure(FailureClass.RATE_LIMITED, False),  # rate limit exceeded for the channel
}
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")  # a Content Template's SID, what ContentSid takes
WHATSAPP = "whatsapp:"  # Twilio's prefix of a WhatsApp address in From and To: whatsapp:+E164


def address(number: str, channel: Channel) -> str:
    """A number as Twilio's From/To for the channel."""
    return WHATSAPP + number if channel == Channel.WHATSAPP else number


def parse_address(value: str) -> tuple[str, Channel]:
    """Twilio's From/To: (the number, its channel)."""
    if value.startswith(WHATSAPP):
        return value[len(WHATSAPP):], Channel.WHATSAPP
    return value, Channel.SMS


def signature(auth_token: str, url: str, form: Form) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the URL and every field name and value, sorted by name, then
    value; a field repeated with the same value counts once, as in Twilio's own RequestValidator."""
    payload = url + "".join(name + value for name, value in sorted(set(form)))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# The same few webhook URLs come back all day (a status URL differs only by its message id).
@functools.lru_cache(maxsize=1024)
def signed_urls(url: str) -> tuple[str, str]:
    """The URL as Twilio may have signed it: as it came (as urlsplit rebuilds it) first, then with its port
    removed or the default port added (443 for https, else 80). Twilio signs either form (its RequestValidator accepts both)."""
    parts = urlsplit(url)
    if parts.port:
        without = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
        return parts.geturl(), without.geturl()
    default = 443 if parts.scheme == "https" else 80
    return parts.geturl(), parts._replace(netloc=f"{parts.netloc}:{default}").geturl()


def _field(form: Form, name: str, *, required: bool = True, limit: int = 64) -> str:
    """The field's value; a required field must be present and not empty (no carrier sends an empty sid or
    sender). NUL is refused: Postgres cannot store it (the Body drops it instead: see parse_inbound)."""
    for key, value in form:
        if key == name:
            if len(value) > limit:
                raise Malformed("invalid_field", f"{name}: longer than {limit} characters")
            if "\x00" in value:
                raise Malformed("invalid_field", f"{name}: contains a NUL character")
            if required and not value:
                raise Malformed("invalid_field", f"{name}: must not be empty")
            return value
    if required:
        raise Malformed("missing_field", f"{name}: required")
    return ""


class TwilioWire(Carrier):
    """Verifying and parsing Twilio-format webhooks, shared by the real carrier and the sandbox."""

    error_codes = ERROR_CODES

    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token

    def sign(self, url: str, form: Form) -> str:
        return signature(self.auth_token, url, form)

    def verify(self, request: RawRequest) -> bool:
        return self.verify_form(request.url, read_form(request), request.headers)

    def verify_form(self, url: str, form: Form, headers: Mapping[str, str]) -> bool:
        """Whether X-Twilio-Signature is the signature of the form over the URL with or without its port."""
        given = headers.get("X-Twilio-Signature", "")
        # A signature is base64: a header with other bytes (aiohttp keeps them as surrogate escapes) is wrong.
        if not given or not given.isascii():
            return False
        given_bytes = given.encode()
        # Which of the two forms matched is no secret, so the second is signed only when the first fails.
        return any(hmac.compare_digest(given_bytes, self.sign(form_url, form).encode())
                   for form_url in signed_urls(url))

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        return [self.inbound_from_form(read_form(request))]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        update = self.status_from_form(read_form(request))
        return [] if update is None else [update]

    def inbound_reply(self) -> WebhookReply:
        return WebhookReply(200, "text/xml", EMPTY_TWIML)

    def inbound_from_form(self, form: Form) -> InboundMessage:
        count = _field(form, "NumMedia", required=False) or "0"
        if not (count.isascii() and count.isdigit()) or int(count) > 10:
            raise Malformed("invalid_field", "NumMedia: expected 0 to 10")
        # Carriers deliver U+0000 in bodies (seen in place of "@"); Postgres cannot store it, and refusing
        # the message would lose it (a 4xx is never retried), so it is dropped here, after the signature check.
        body = [(key, value.replace("\x00", "")) for key, value in form if key == "Body"]
        sender, channel = parse_address(_field(form, "From"))
        return InboundMessage(
            sid=_field(form, "MessageSid"),
            from_number=sender,
            to_number=parse_address(_field(form, "To"))[0],
            body=_field(body, "Body", required=False, limit=MAX_BODY),
            media_urls=tuple(_field(form, f"MediaUrl{i}", limit=2048) for i in range(int(count))),
            channel=channel,
        )

    def status_from_form(self, form: Form) -> StatusUpdate | None:
        """None for a status that is not ours to apply (an inbound message's "received")."""
        status = STATUSES.get(_field(form, "MessageStatus"))
        if status is None:
            return None
        return StatusUpdate(_field(form, "MessageSid"), status, _field(form, "ErrorCode", required=False) or None)


class TwilioCarrier(TwilioWire):
    """Sends through Twilio's Messages API; Twilio posts to /webhooks/twilio/sms and /webhooks/twilio/status."""

    name = "twilio"
    inbound_path = "/webhooks/twilio/sms"
    status_path = "/webhooks/twilio/status"
    whatsapp = True  # the same Messages API with whatsapp: addresses (the number enabled for WhatsApp at Twilio)
    sends_whatsapp_media = True  # MediaUrl on a whatsapp: To (one per WhatsApp message)

    sends_mms = True
    media_hosts = ("twilio.com",)  # MediaUrlN: api.twilio.com, redirecting to its file store

    def __init__(self, settings: Settings, config: Config) -> None:
        super().__init__(settings.auth_token)
        self.url = f"{settings.api_base.rstrip('/')}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        # MediaUrlN is on its API (redirecting to the file): Basic auth there, where the account requires it.
        self.auth = self.media_auth = basic_auth(settings.account_sid, settings.auth_token)
        self.headers = self.auth | FORM_HEADERS
        self.media_api = settings.api_base
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        channel = message.channel
        form = [("From", address(message.from_number, channel)), ("To", address(message.to_number, channel)),
                *content(message).items(), ("StatusCallback", status_callback),
                *(("MediaUrl", url) for url in message.media_urls)]
        return await send_request(self.resources.session, "POST", self.url, _result, data=form_body(form),
                                  headers=self.headers,
                                  timeout=self.timeout)


    def template_problem(self, template_id: str) -> str | None:
        """Twilio's templates are Content SIDs: HX and 32 hexadecimal digits."""
        return None if CONTENT_SID.fullmatch(template_id) else "expected a Content SID (HX and 32 hex digits)"

    async def delete_media(self, url: str) -> bool:
        """DELETE on the Media resource (MediaUrlN is .../Messages/{MM}/Media/{ME}): 204 when gone."""
        if not self.media_headers(url):  # not on its API
            return False
        try:
            async with self.resources.session.delete(url if url.endswith(".json") else url + ".json",
                                                     headers=self.auth, allow_redirects=False,
                                                     timeout=self.timeout) as response:
                return response.status in (204, 404)
        except NETWORK_ERRORS:
            return False


def content(message: OutboundSms) -> dict[str, str]:
    """Body, or for a WhatsApp template its ContentSid and ContentVariables (a JSON object), without Body."""
    if message.template is None:
        return {"Body": message.body}
    return {"ContentSid": message.template.template_id,
            "ContentVariables": json.dumps(dict(message.template.variables), separators=(",", ":"))}


def _result(status: int, payload: dict) -> SendResult:
    if status in (200, 201) and isinstance(payload.get("sid"), str):
        return Accepted(payload["sid"])
    code = str(payload.get("code") or status)
    message = str(payload.get("message") or f"carrier answered {status}")[:500]
    return Rejected(code, message, ERROR_CODES.get(code, OTHER_FAILURE))


# Twilio's line_type_intelligence.type -> ours.
LINE_TYPES = {
    "mobile": "mobile", "fixedVoip": "voip", "nonFixedVoip": "voip", "personal": "personal",
    "landline": "landline", "tollFree": "toll_free", "premium": "premium", "sharedCost": "shared_cost",
    "uan": "uan", "voicemail": "voicemail", "pager": "pager", "unknown": "unknown",
}


class TwilioLookup:
    """GET {lookup_base}/v2/PhoneNumbers/{E.164}?Fields=line_type_intelligence with Basic auth."""

    name = "twilio"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.base = settings.lookup_base.rstrip("/")
        self.headers = basic_auth(settings.account_sid, settings.auth_token)

    async def lookup(self, e164: str) -> LineAnswer:
        payload = await lookup_json(self.session, f"{self.base}/v2/PhoneNumbers/{e164}", e164,
                                    params={"Fields": "line_type_intelligence"}, headers=self.headers)
        if payload.get("valid") is False:
            raise NotANumber(e164)
        intelligence = payload.get("line_type_intelligence") or {}
        line_type = LINE_TYPES.get(str(intelligence.get("type")), "unknown")
        return LineAnswer(line_type, intelligence.get("carrier_name"))


def create(settings: Settings, config: Config) -> TwilioCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return TwilioCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> TwilioLookup:
    """LINE_TYPE_LOOKUP=twilio: needs the twilio credentials, not the twilio carrier."""
    return TwilioLookup(settings, session)
