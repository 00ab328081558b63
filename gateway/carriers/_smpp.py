"""What the SMPP-link carriers (jasmin, kannel) share: their webhooks carry a shared secret in the URL (neither
signs its requests), numbers without "+", bodies as raw bytes in an SMPP coding, and SMPP error names.

Not a carrier (its name starts with _): the registry skips it.
"""

from __future__ import annotations

import hmac
import re
import string
from typing import Mapping, Sequence
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import phonenumbers

from gateway.carriers._http import retry_after
from gateway.carriers.base import OTHER_FAILURE, Carrier, Failure, RawRequest, Rejected, RetryLater, SendResult
from gateway.config import Config, ConfigError, carrier_setting
from gateway.errors import InvalidInput, Malformed, TooLarge, UnsupportedMedia
from gateway.relay.phones import to_e164
from gateway.vocabulary import FailureClass

# Fields as raw bytes: an SMPP link forwards a body in the coding it arrived in (UCS-2 as UTF-16BE bytes).
RawForm = Sequence[tuple[str, bytes]]

SECRET = "secret"  # the query parameter of the shared secret in every webhook URL
MIN_SECRET = 16
URL_SAFE = frozenset(string.ascii_letters + string.digits + "-_.~")
MAX_FIELDS = 1000
MAX_BODY = 1600  # characters of a text, as every carrier here
MIN_INTERNATIONAL = 8  # digits: fewer is a short code (kept as it came), not an international number

# SMPP command_status names (SMPP v3.4, section 5.1.3) by value, for links that report the number (Kannel's
# "NACK/0x0000000b/..."). Only the ones a submit can meet.
COMMAND_STATUS = {
    0x01: "ESME_RINVMSGLEN", 0x02: "ESME_RINVCMDLEN", 0x03: "ESME_RINVCMDID", 0x04: "ESME_RINVBNDSTS",
    0x05: "ESME_RALYBND", 0x08: "ESME_RSYSERR", 0x0A: "ESME_RINVSRCADR", 0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID", 0x0D: "ESME_RBINDFAIL", 0x0E: "ESME_RINVPASWD", 0x14: "ESME_RMSGQFUL",
    0x45: "ESME_RSUBMITFAIL", 0x48: "ESME_RINVSRCTON", 0x49: "ESME_RINVSRCNPI", 0x50: "ESME_RINVDSTTON",
    0x51: "ESME_RINVDSTNPI", 0x58: "ESME_RTHROTTLED", 0x61: "ESME_RINVSCHED", 0x62: "ESME_RINVEXPIRY",
    0xFF: "ESME_RUNKNOWNERR",
}

# Error codes (SMPP command_status names and delivery-receipt states) -> what they mean, only where sure; any
# other is OTHER_FAILURE (permanent), e.g. ESME_RINVSRCADR (our sender, not the recipient).
ERROR_CODES: Mapping[str, Failure] = {
    "ESME_RINVDSTADR": Failure(FailureClass.INVALID_NUMBER, True),  # the SMSC refused the destination address
    "ESME_RTHROTTLED": Failure(FailureClass.RATE_LIMITED, False),  # we exceeded the SMSC's rate
    "EXPIRED": Failure(FailureClass.UNREACHABLE, False),  # validity ran out: the handset never took it
}


def check_secret(carrier: str, secret: str) -> None:
    """The webhook secret is required, at least 16 characters, and URL-safe (it goes into URLs unescaped: Kannel
    reads % in a dlr-url as its own escapes)."""
    name = carrier_setting(carrier, "webhook_secret")
    if len(secret) < MIN_SECRET:
        raise ConfigError(f"{name}: required when {carrier} is a carrier, at least {MIN_SECRET} characters")
    if not set(secret) <= URL_SAFE:
        raise ConfigError(f"{name}: only letters, digits and - _ . ~ (it goes into URLs as it is)")


def check_region(carrier: str, region: str) -> None:
    """The default region, when set, is a region code of the numbering plan (GB, not UK or gb): another reads no
    national number, silently."""
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"{carrier_setting(carrier, 'default_region')}: expected a region code in upper case, "
                          f"as GB or DE (ISO 3166-1 alpha-2), got {region[:8]!r}")


def with_secret(url: str, secret: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{SECRET}={secret}"


def query(request: RawRequest) -> RawForm:
    """The URL's query fields, as bytes (decoded once per request)."""
    if "query" not in request.decoded:
        request.decoded["query"] = parse_raw(urlsplit(request.url).query)
    return request.decoded["query"]


def has_secret(request: RawRequest, secret: str) -> bool:
    """Whether the URL's query holds the secret (once), compared in constant time."""
    given = [value for name, value in query(request) if name == SECRET]
    return len(given) == 1 and hmac.compare_digest(given[0], secret.encode())


def body_form(request: RawRequest) -> RawForm:
    """A POSTed urlencoded form as bytes (decoded once per request). 415 for multipart or another media type;
    413 for more than MAX_FIELDS fields."""
    if "form" not in request.decoded:
        if request.content_type not in ("", "application/x-www-form-urlencoded"):
            raise UnsupportedMedia("unsupported_media_type", "send the form as application/x-www-form-urlencoded")
        try:
            text = request.body.rstrip().decode("ascii")
        except UnicodeDecodeError:  # a urlencoded form is ASCII: anything else is escaped
            raise Malformed("invalid_body", "the body is not a urlencoded form") from None
        request.decoded["form"] = parse_raw(text)
    return request.decoded["form"]


def parse_raw(text: str) -> RawForm:
    if text.count("&") >= MAX_FIELDS:
        raise TooLarge("body_too_large", f"at most {MAX_FIELDS} fields")
    # latin-1 maps each escaped byte onto one character, so the bytes come back exactly.
    return [(name, value.encode("latin-1"))
            for name, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1")]


def raw_field(form: RawForm, name: str, *, required: bool = True) -> bytes | None:
    for key, value in form:
        if key == name:
            if required and not value:
                raise Malformed("invalid_field", f"{name}: must not be empty")
            return value
    if required:
        raise Malformed("missing_field", f"{name}: required")
    return None


def field(form: RawForm, name: str, *, required: bool = True, limit: int = 64) -> str:
    """A short text field (an id, a number, a status), in UTF-8, without NUL; "" when absent and optional."""
    value = raw_field(form, name, required=required)
    if value is None:
        return ""
    if len(value) > limit:
        raise Malformed("invalid_field", f"{name}: longer than {limit} characters")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("invalid_field", f"{name}: not UTF-8") from None
    if "\x00" in text:
        raise Malformed("invalid_field", f"{name}: contains a NUL character")
    return text


def text(data: bytes, codec: str, name: str) -> str:
    """A message body from its bytes in codec, without NUL characters (Postgres cannot store them)."""
    try:
        body = data.decode(codec).replace("\x00", "")
    except (UnicodeDecodeError, LookupError):
        raise Malformed("invalid_field", f"{name}: not readable as {codec}") from None
    if len(body) > MAX_BODY:
        raise Malformed("invalid_field", f"{name}: longer than {MAX_BODY} characters")
    return body


def utf8_or_latin1(data: bytes, name: str) -> str:
    """A body in an 8-bit coding the link did not name: UTF-8 when it is valid UTF-8, else Latin-1 (which reads
    any bytes; SMPP links pass the SMSC's default alphabet on as Latin-1)."""
    try:
        return text(data, "utf-8", name)
    except Malformed:
        return text(data, "latin-1", name)


def e164(number: str, region: str) -> str:
    """An SMPP address as E.164 where it is a phone number: "+" kept, "00" made "+", digits of international
    length given a "+"; a national number (one leading 0) parsed in the default region, if one is set. Anything else (a
    short code, an alphanumeric sender) is kept as it came."""
    if number.startswith("+") or not number.isdigit():
        return number
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0"):  # national (no country code starts with 0): readable only in a region
        try:
            return to_e164(number, field="number", region=region) if region else number
        except InvalidInput:
            return number
    return "+" + number if len(number) >= MIN_INTERNATIONAL else number


def command_status(value: str) -> str | None:
    """An SMPP command_status given as a number (hex with 0x, or decimal) -> its name (or the number in hex)."""
    try:
        number = int(value, 16) if value.lower().startswith("0x") else int(value)
    except ValueError:
        return None
    return COMMAND_STATUS.get(number, f"0x{number:08X}")


def rejected(code: str, message: str) -> Rejected:
    return Rejected(code, message[:500], ERROR_CODES.get(code, OTHER_FAILURE))


def http_result(status: int, body: str, headers: Mapping[str, str]) -> SendResult | None:
    """RetryLater for a 429 or 5xx (with Retry-After, if given), Rejected for another 4xx (or a 3xx: redirects are
    not followed); None for a 2xx."""
    if status == 429 or status >= 500:
        return RetryLater(f"carrier answered {status}", retry_after(headers))
    if status >= 300:
        return rejected(str(status), body.strip() or f"carrier answered {status}")
    return None


ANSWER_LIMIT = 4096  # bytes of a send's answer read


async def answer(response: aiohttp.ClientResponse) -> str:
    data = await response.content.read(ANSWER_LIMIT)
    return data.decode("utf-8", "replace")


STAT = re.compile(r"\bstat:([A-Z_]+)")
NACK = re.compile(r"NACK/(0x[0-9A-Fa-f]+|\d+)")


class Link(Carrier):
    """What Jasmin's and Kannel's edges share: a shared secret in the URLs they call (?secret=), added to each
    send's delivery-report URL and checked on every webhook; their settings have webhook_secret."""

    error_codes = ERROR_CODES

    def __init__(self, settings, config: Config) -> None:
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)

    def callback_url(self, public_url: str, message_id: int) -> str:
        return with_secret(super().callback_url(public_url, message_id), self.settings.webhook_secret)

    def verify(self, request: RawRequest) -> bool:
        return has_secret(request, self.settings.webhook_secret)
