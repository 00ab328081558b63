"""Plivo: its settings ([plivo] / PLIVO_*), its webhooks (form or JSON, signed with the V3 signature), its
Message API, its SMS error codes and its Lookup API.

Built from Plivo's public documentation:
  https://www.plivo.com/docs/messaging/api/message/send-a-message (sending; 202 with message_uuid)
  https://www.plivo.com/docs/messaging/api/message/handling-incoming (the inbound message webhook)
  https://www.plivo.com/docs/messaging/api/message/message-status-callbacks (the status callback)
  https://www.plivo.com/docs/voice/concepts/signature-validation (X-Plivo-Signature-V3: how the string is built)
  https://www.plivo.com/docs/messaging/troubleshooting/error-codes (the SMS error codes)
  https://www.plivo.com/docs/lookup/api/lookup-phone-number (the Lookup API: carrier.type; 404 for no number)
  https://www.plivo.com/docs/voice/api/response (HTTP answers: 400, 401, 404, 429, 5xx)
  https://plivo.com/docs/messaging/api/message/send-a-message and .../handling-incoming ("SMS/MMS/WhatsApp": the
      same Message API and webhook, Type whatsapp, src the number of the WhatsApp Business Account, Body its text)

The V3 signature has no timestamp, so a replayed webhook cannot be told from a late retry by its age: a replayed
inbound is stored once (its MessageUUID is the sid) and a replayed status changes nothing (forward only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qs, quote, urlparse, urlunparse

import aiohttp

from gateway.carriers._http import basic_auth, json_value, lookup_json, read_form, send_request, with_plus
from gateway.carriers.base import (Accepted, Carrier, Failure, InboundMessage, LineAnswer, LookupFailed,
                                   OTHER_FAILURE, OutboundSms, RawRequest, Rejected, SendResult, StatusUpdate,
                                   whatsapp_template_name_problem)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed, UnsupportedMedia
from gateway.vocabulary import Channel, FailureClass, MessageStatus



@dataclass(frozen=True)
class Settings:
    """[plivo] in the config file; PLIVO_<SETTING> in the environment."""

    auth_id: str = ""
    auth_token: str = ""  # also checks X-Plivo-Signature-V3 (and -Ma-V3)
    api_base: str = "https://api.plivo.com"
    lookup_base: str = "https://lookup.plivo.com"  # the Lookup API (LINE_TYPE_LOOKUP=plivo)
    whatsapp_locale: str = "en_US"  # the language WhatsApp templates are sent in (the approved template's)


def check(settings: Settings, config: Config) -> None:
    """With plivo as a carrier: the credentials are required, the API base must be a URL."""
    for setting in ("auth_id", "auth_token"):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('plivo', setting)}: required when plivo is a carrier")
    check_url(carrier_setting("plivo", "api_base"), settings.api_base, ("http", "https"))


def check_lookup(settings: Settings, config: Config) -> None:
    """With LINE_TYPE_LOOKUP=plivo (plivo need not be a carrier): the credentials and the lookup base."""
    if not (settings.auth_id and settings.auth_token):
        raise ConfigError("lookup.name (LINE_TYPE_LOOKUP): plivo needs PLIVO_AUTH_ID and PLIVO_AUTH_TOKEN")
    check_url(carrier_setting("plivo", "lookup_base"), settings.lookup_base, ("http", "https"))


# Plivo's Status -> ours. "received" is an inbound message's own: not ours to apply. "rejected" (older docs) is
# refused by Plivo before any carrier saw it.
STATUSES = {
    "queued": MessageStatus.ACCEPTED,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "rejected": MessageStatus.FAILED,
}
MAX_BODY = 1600  # Plivo's limit on a text (it concatenates a long inbound before posting it)
MAX_MEDIA = 10
SIGNATURE_HEADERS = ("X-Plivo-Signature-V3", "X-Plivo-Signature-Ma-V3")  # the account's token; the main account's
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"

# Plivo's SMS error codes (in status callbacks) -> what they mean; only those whose meaning is sure. HTTP errors of
# the send API carry no code: they are stored as "http_<status>" (OTHER_FAILURE), so they never collide with these.
ERROR_CODES: Mapping[str, Failure] = {
    "200": Failure(FailureClass.OPTED_OUT, True),  # the destination blocked the source number with STOP
    "30": Failure(FailureClass.FILTERED, False),  # spam detected: a carrier's filter blocked it
    "50": Failure(FailureClass.INVALID_NUMBER, False),  # invalid destination: wrong, not SMS-enabled or a landline
    "70": Failure(FailureClass.UNREACHABLE, False),  # destination permanently unavailable (not active)
    "80": Failure(FailureClass.UNREACHABLE, False),  # destination temporarily unavailable (handset off, no coverage)
}


# --- The V3 signature ---------------------------------------------------------------------------------------

Params = Mapping[str, Any]  # a form's fields (name -> [values]) or a JSON body's object


class Unsignable(Exception):
    """Params no signature can be built over (a JSON list mixing kinds that do not sort)."""


def signed_string(url: str, params: Params) -> str:
    """What Plivo signs for a POST (before "." + nonce): the URL without its query, then "?" and the query's
    fields sorted by name then value as name=value joined by "&" (percent-decoded), then, when there are POST
    params, "." (only after a query) and every param as name + value, sorted by name (a list: one pair per value,
    sorted; an object: name + its own params). As Plivo's Python SDK builds it (validate_v3_signature)."""
    parts = urlparse(url)
    base = urlunparse((parts.scheme, parts.netloc, parts.path, "", "", ""))
    query = parse_qs(parts.query, keep_blank_values=True)
    query_string = "&".join(f"{name}={value}" for name in sorted(query) for value in sorted(query[name]))
    if query_string or params:
        base += "?" + query_string
    if query_string and params:
        base += "."
    return base + _params_string(params)


def _params_string(params: Params) -> str:
    out = []
    for name in sorted(params):
        value = params[name]
        if isinstance(value, list):
            try:
                values = sorted(_text(item) for item in value)
            except TypeError:
                raise Unsignable(name) from None
            out.extend(f"{name}{item}" for item in values)
        elif isinstance(value, dict):
            out.append(f"{name}{_params_string(value)}")
        else:
            out.append(f"{name}{_text(value)}")
    return "".join(out)


def _text(value: Any) -> Any:
    """A JSON scalar as the SDK writes it (str() of a number or bool: "True", "1.5"); lists and objects as they are."""
    return str(value) if isinstance(value, (bool, int, float)) else value


def signature(auth_token: str, url: str, params: Params, nonce: str) -> str:
    """X-Plivo-Signature-V3: base64 HMAC-SHA256, keyed with the auth token, over signed_string + "." + nonce."""
    payload = f"{signed_string(url, params)}.{nonce}".encode("utf-8", "surrogatepass")
    return base64.b64encode(hmac.new(auth_token.encode(), payload, hashlib.sha256).digest()).decode()


def verify_params(auth_token: str, url: str, params: Params, headers: Mapping[str, str]) -> bool:
    """Whether one of the signatures in X-Plivo-Signature-V3 or -Ma-V3 (each comma-separated) is ours."""
    nonce = headers.get(NONCE_HEADER, "")
    given = [part.strip() for header in SIGNATURE_HEADERS for part in headers.get(header, "").split(",")]
    given = [part for part in given if part and part.isascii()]  # base64: other bytes are simply wrong
    if not nonce or not given:
        return False
    try:
        expected = signature(auth_token, url, params, nonce).encode()
    except (Unsignable, RecursionError):  # RecursionError: JSON objects nested deeper than the stack
        return False
    return any([hmac.compare_digest(part.encode(), expected) for part in given])


# --- Reading a webhook --------------------------------------------------------------------------------------

def read_params(request: RawRequest) -> dict[str, Any]:
    """The POSTed params, decoded once per request: a JSON object for application/json, else the form's fields
    (name -> [values], as _http.read_form reads a form: 415 for multipart or another charset, 413 for too many);
    415 for another content type.
    Malformed("invalid_body") for JSON that does not parse or is not an object."""
    if "params" not in request.decoded:
        if request.content_type not in ("", "application/json", "application/x-www-form-urlencoded",
                                        "multipart/form-data"):  # multipart: 415 from read_form
            # Any other body would read as no params: a signature over the URL alone, which Plivo never makes.
            raise UnsupportedMedia("unsupported_media_type", "send a form or a JSON object")
        request.decoded["params"] = _json_params(request) if request.content_type == "application/json" \
            else _form_params(request)
    return request.decoded["params"]


def _json_params(request: RawRequest) -> dict[str, Any]:
    params = json_value(request.body) if request.body.strip() else {}
    if not isinstance(params, dict):
        raise Malformed("invalid_body", "the body must be a JSON object")
    return params


def _form_params(request: RawRequest) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in read_form(request):
        fields.setdefault(name, []).append(value)
    return fields


def _field(params: Params, name: str, *, required: bool = True, limit: int = 64) -> str:
    """A field's (first) value as text; a required one must be there and not empty. NUL is refused: Postgres
    cannot store it (the text drops it instead: see inbound_from)."""
    value = params.get(name)
    if isinstance(value, list):  # a form's values (text); a JSON list of anything else is refused below
        value = value[0] if value and all(isinstance(item, str) for item in value) else (value or None)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # a JSON body may give a code or a count as a number
    if value is None or value == "":
        if required:
            raise Malformed("missing_field" if value is None else "invalid_field",
                            f"{name}: required" if value is None else f"{name}: must not be empty")
        return ""
    if not isinstance(value, str):
        raise Malformed("invalid_field", f"{name}: expected text")
    if len(value) > limit:
        raise Malformed("invalid_field", f"{name}: longer than {limit} characters")
    if "\x00" in value:
        raise Malformed("invalid_field", f"{name}: contains a NUL character")
    return value


_MEDIA = re.compile(r"Media(\d{1,2})")


def inbound_from(params: Params) -> InboundMessage:
    """An SMS's text is Text; an MMS's is Body, its media Media1..MediaN (MediaCount of them)."""
    count = _field(params, "MediaCount", required=False) or "0"
    if not (count.isascii() and count.isdigit()) or int(count) > MAX_MEDIA:
        raise Malformed("invalid_field", f"MediaCount: expected 0 to {MAX_MEDIA}")
    keys = sorted((int(m.group(1)), key) for key in params if (m := _MEDIA.fullmatch(key)))
    text = {name: str(value).replace("\x00", "") if isinstance(value, str) else value
            for name, value in ((n, _first(params.get(n))) for n in ("Text", "Body")) if value is not None}
    return InboundMessage(
        sid=_field(params, "MessageUUID"),
        from_number=with_plus(_field(params, "From")),
        to_number=with_plus(_field(params, "To")),
        body=_field(text, "Text", required=False, limit=MAX_BODY) or _field(text, "Body", required=False,
                                                                             limit=MAX_BODY),
        media_urls=tuple(_field(params, key, limit=2048) for _, key in keys[:int(count)]),
        channel=Channel.WHATSAPP if _field(params, "Type", required=False) == "whatsapp" else Channel.SMS,
    )


def _first(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def status_from(params: Params) -> StatusUpdate | None:
    """None for a status that is not ours to apply (an inbound's "received", or one Plivo may add)."""
    status = STATUSES.get(_field(params, "Status"))
    if status is None:
        return None
    code = _field(params, "ErrorCode", required=False)
    return StatusUpdate(_field(params, "MessageUUID"), status, code or None)


# --- The carrier ----------------------------------------------------------------------------------------------

class PlivoCarrier(Carrier):
    """Sends through Plivo's Message API; Plivo posts to /webhooks/plivo/sms (the number's application's
    message_url) and /webhooks/plivo/status (the url given with each send)."""

    name = "plivo"
    inbound_path = "/webhooks/plivo/sms"
    status_path = "/webhooks/plivo/status"
    error_codes = ERROR_CODES
    sends_mms = True
    whatsapp = True  # Type whatsapp in the same Message API and webhook, from the number of a WhatsApp Business Account
    sends_whatsapp_media = True  # type whatsapp with media_urls, the text its caption
    template_problem = staticmethod(whatsapp_template_name_problem)  # WhatsApp's template name
    media_hosts = ("plivo.com",)  # api.plivo.com/v1/Account/{auth_id}/Media/... and media.plivo.com

    def __init__(self, settings: Settings, config: Config) -> None:
        self.auth_token = settings.auth_token
        self.media_api = settings.api_base
        self.url = f"{settings.api_base.rstrip('/')}/v1/Account/{quote(settings.auth_id, safe='')}/Message/"
        self.headers = self.media_auth = basic_auth(settings.auth_id, settings.auth_token)  # its media takes them too
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)
        self.locale = settings.whatsapp_locale

    def verify(self, request: RawRequest) -> bool:
        return verify_params(self.auth_token, request.url, read_params(request), request.headers)

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        return [inbound_from(read_params(request))]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        update = status_from(read_params(request))
        return [] if update is None else [update]

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        payload = {"src": message.from_number, "dst": message.to_number, "text": message.body,
                   "url": status_callback, "method": "POST"}
        if message.media_urls:
            payload |= {"type": "mms", "media_urls": list(message.media_urls)}
        if message.channel == Channel.WHATSAPP:
            payload["type"] = "whatsapp"
            if message.template is not None:  # instead of text: the approved template, as WhatsApp's object
                del payload["text"]
                payload["template"] = whatsapp_template(message, self.locale)
        return await send_request(self.resources.session, "POST", self.url, _result, json=payload,
                                  headers=self.headers, timeout=self.timeout)


def whatsapp_template(message: OutboundSms, locale: str) -> dict[str, Any]:
    """The template: its name (the community's template_id), language, and the variables as the body's text
    parameters in the order of their keys ("1", "2"...)."""
    assert message.template is not None
    variables = message.template.variables
    ordered = sorted(variables, key=lambda key: (not key.isdigit(), int(key) if key.isdigit() else 0, key))
    body = [{"type": "body", "parameters": [{"type": "text", "text": variables[key]} for key in ordered]}]
    return {"name": message.template.template_id, "language": locale, "components": body if ordered else []}


def _result(status: int, payload: dict) -> SendResult:
    """202 {message_uuid: [..]} -> Accepted; another answer -> Rejected with "http_<status>" and Plivo's error
    text (its API errors carry no code)."""
    uuids = payload.get("message_uuid")
    if 200 <= status < 300 and isinstance(uuids, list) and uuids and isinstance(uuids[0], str):
        return Accepted(uuids[0])
    error = payload.get("error") or payload.get("message") or f"carrier answered {status}"
    return Rejected(f"http_{status}", str(error)[:500], OTHER_FAILURE)


# --- The line-type lookup -----------------------------------------------------------------------------------

LINE_TYPES = {"mobile": "mobile", "fixed": "landline", "voip": "voip", "toll-free": "toll_free",
              "unknown": "unknown"}


class PlivoLookup:
    """GET {lookup_base}/v1/Number/{E.164}?type=carrier with Basic auth; 404 means no such number."""

    name = "plivo"

    def __init__(self, settings: Settings, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.base = settings.lookup_base.rstrip("/")
        self.headers = basic_auth(settings.auth_id, settings.auth_token)

    async def lookup(self, e164: str) -> LineAnswer:
        payload = await lookup_json(self.session, f"{self.base}/v1/Number/{quote(e164, safe='+')}", e164,
                                    missing_is_no_number=True, params={"type": "carrier"}, headers=self.headers)
        carrier = payload.get("carrier")
        if not isinstance(carrier, dict):
            raise LookupFailed("lookup answered no carrier")
        name = carrier.get("name")
        return LineAnswer(LINE_TYPES.get(str(carrier.get("type")), "unknown"), name if isinstance(name, str) else None)


def create(settings: Settings, config: Config) -> PlivoCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return PlivoCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> PlivoLookup:
    """LINE_TYPE_LOOKUP=plivo: needs the plivo credentials, not the plivo carrier."""
    return PlivoLookup(settings, session)
