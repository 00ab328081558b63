"""Twilio's wire format (signed form webhooks) and its Messages REST API."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Mapping
from urllib.parse import urlsplit

import aiohttp
import structlog

from gateway.carriers import Accepted, Form, InboundSms, OutboundSms, Rejected, RetryLater, SendResult, StatusUpdate
from gateway.config import Config
from gateway.errors import Malformed

log = structlog.get_logger(__name__)

# Twilio's MessageStatus -> ours. The carrier's own "queued"/"accepted" mean it has the message.
STATUSES = {
    "accepted": "accepted",
    "queued": "accepted",
    "scheduled": "accepted",
    "sending": "sending",
    "sent": "sent",
    "partially_delivered": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "canceled",
}
MAX_BODY = 1600  # Twilio's own limit on a message body


def signature(auth_token: str, url: str, form: Form) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the URL and every field name and value, sorted by name, then
    value; a field repeated with the same value counts once, as in Twilio's own RequestValidator."""
    payload = url + "".join(name + value for name, value in sorted(set(form)))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_urls(url: str) -> tuple[str, str]:
    """The URL as Twilio may have signed it: with the port and without it. Twilio signs either form (its
    RequestValidator accepts both): a default port is added (443 for https, else 80) or a given port removed."""
    parts = urlsplit(url)
    if parts.port:
        without = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
        return parts.geturl(), without.geturl()
    default = 443 if parts.scheme == "https" else 80
    return parts._replace(netloc=f"{parts.netloc}:{default}").geturl(), parts.geturl()


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


class TwilioWire:
    """Verifying and parsing Twilio-format webhooks, shared by the real and the sandbox carrier."""

    wire = "twilio"

    def __init__(self, auth_token: str) -> None:
        self.auth_token = auth_token

    def sign(self, url: str, form: Form) -> str:
        return signature(self.auth_token, url, form)

    def verify(self, url: str, form: Form, headers: Mapping[str, str]) -> bool:
        """Whether X-Twilio-Signature is the signature of the form over the URL with or without its port."""
        given = headers.get("X-Twilio-Signature", "")
        # A signature is base64: a header with other bytes (aiohttp keeps them as surrogate escapes) is wrong.
        if not given or not given.isascii():
            return False
        matches = [hmac.compare_digest(given.encode(), self.sign(form_url, form).encode())
                   for form_url in signed_urls(url)]
        return any(matches)

    def parse_inbound(self, form: Form) -> InboundSms:
        count = _field(form, "NumMedia", required=False) or "0"
        if not (count.isascii() and count.isdigit()) or int(count) > 10:
            raise Malformed("invalid_field", "NumMedia: expected 0 to 10")
        # Carriers deliver U+0000 in bodies (seen in place of "@"); Postgres cannot store it, and refusing
        # the message would lose it (a 4xx is never retried), so it is dropped here, after the signature check.
        body = [(key, value.replace("\x00", "")) for key, value in form if key == "Body"]
        return InboundSms(
            sid=_field(form, "MessageSid"),
            from_number=_field(form, "From"),
            to_number=_field(form, "To"),
            body=_field(body, "Body", required=False, limit=MAX_BODY),
            media_urls=tuple(_field(form, f"MediaUrl{i}", limit=2048) for i in range(int(count))),
        )

    def parse_status(self, form: Form) -> StatusUpdate | None:
        status = STATUSES.get(_field(form, "MessageStatus"))
        if status is None:
            return None
        return StatusUpdate(_field(form, "MessageSid"), status, _field(form, "ErrorCode", required=False) or None)


class TwilioCarrier(TwilioWire):
    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        super().__init__(config.twilio.auth_token)
        self.session = session
        self.url = f"{config.twilio.api_base.rstrip('/')}/2010-04-01/Accounts/{config.twilio.account_sid}/Messages.json"
        credentials = f"{config.twilio.account_sid}:{config.twilio.auth_token}".encode()
        self.headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        form = {"From": message.from_number, "To": message.to_number, "Body": message.body,
                "StatusCallback": status_callback}
        try:
            async with self.session.post(self.url, data=form, headers=self.headers, timeout=self.timeout) as response:
                payload = await _json(response)
                return _result(response, payload)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return RetryLater(f"carrier unreachable: {type(exc).__name__}")


async def _json(response: aiohttp.ClientResponse) -> dict:
    try:
        payload = await response.json(content_type=None)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser's stack
        return {}
    return payload if isinstance(payload, dict) else {}


def _result(response: aiohttp.ClientResponse, payload: dict) -> SendResult:
    if response.status in (200, 201) and isinstance(payload.get("sid"), str):
        return Accepted(payload["sid"])
    if response.status == 429 or response.status >= 500:
        return RetryLater(f"carrier answered {response.status}", _retry_after(response))
    code = str(payload.get("code") or response.status)
    return Rejected(code, str(payload.get("message") or f"carrier answered {response.status}")[:500])


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
