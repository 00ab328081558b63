"""Bandwidth (Messaging API v2): its settings ([bandwidth] / BANDWIDTH_*), its callbacks (JSON arrays of events,
inbound messages and statuses alike, posted to the application's callback URL with HTTP Basic credentials), its
create-message API, its error codes and its synchronous Phone Number Lookup (v2).

Built from Bandwidth's public documentation:
  https://dev.bandwidth.com/docs/messaging/createMessage/      sending (POST .../users/{accountId}/messages, 202)
  https://dev.bandwidth.com/docs/messaging/webhooks            the callback events and their fields
  https://dev.bandwidth.com/docs/messaging/errors              HTTP errors and the errorCode table
  https://dev.bandwidth.com/docs/messaging/rateLimits          429 when the account's queue is full
  https://dev.bandwidth.com/docs/account/applications          callback URLs and their Basic credentials
  https://dev.bandwidth.com/docs/account/credentials/management  OAuth2 API Credentials (API users end 2 Dec 2026)
  https://dev.bandwidth.com/docs/numbers/guides/lookupNumbers  Number Lookup v2: the synchronous "fast" lookup,
      POST https://api.bandwidth.com/v2/accounts/{accountId}/phoneNumberLookup {"phoneNumbers": [...]}, answered
      200 with data.results[].lineType (MOBILE, FIXED, VOIP, VOIP-FIXED) and errors[] (NO-MATCH for numbers not in
      the industry data); its API reference (createSyncLookup) takes Basic or OAuth2, as the Messaging API does

One path takes every event (kind "both"): an application with one callback URL posts inbound messages and
statuses there, and one array may hold both. The message id is the sid of every event, so Bandwidth's retries
(for up to 24 hours) store an inbound message once and repeat a status harmlessly (statuses are forward only).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import time
from dataclasses import dataclass
from typing import Any, Mapping

import aiohttp
import structlog

from gateway.carriers._http import (NETWORK_ERRORS, basic_auth, json_object, lookup_json, read_json, retry_after,
                                    send_request, text_field)
from gateway.carriers.base import (OTHER_FAILURE, Accepted, Carrier, Failure, InboundMessage, LineAnswer,
                                   LookupFailed, NotANumber, OutboundSms, RawRequest, Rejected, RetryLater, SendResult,
                                   StatusUpdate)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed, TooLarge
from gateway.vocabulary import FailureClass, MessageStatus

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Settings:
    """[bandwidth] in the config file; BANDWIDTH_<SETTING> in the environment."""

    account_id: str = ""
    application_id: str = ""  # the messaging application of our numbers: where Bandwidth posts their callbacks
    client_id: str = ""  # API Credentials (OAuth2 client credentials): a Bearer token on the Messaging API
    client_secret: str = ""
    username: str = ""  # or a legacy API user (HTTP Basic), which Bandwidth decommissions on 2 December 2026
    password: str = ""
    callback_username: str = ""  # the Basic credentials set on the application's callbacks
    callback_password: str = ""
    api_base: str = "https://messaging.bandwidth.com"
    token_url: str = "https://api.bandwidth.com/api/v1/oauth2/token"
    lookup_base: str = "https://api.bandwidth.com"  # the Phone Number Lookup v2 (LINE_TYPE_LOOKUP=bandwidth)


REQUIRED = ("account_id", "application_id", "callback_username", "callback_password")


def _credentials(settings: Settings) -> tuple[str, str]:
    """The API credentials in use: client_id and client_secret (OAuth2), else a legacy user's username and
    password."""
    return ("client_id", "client_secret") if settings.client_id or not settings.username else ("username", "password")


def check(settings: Settings, config: Config) -> None:
    """With bandwidth as a carrier: the account, the application and the callback credentials are required (an
    unauthenticated callback URL would take texts from anyone), and API credentials: client_id and
    client_secret, or else username and password; the URLs must be URLs."""
    for setting in REQUIRED:
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('bandwidth', setting)}: required when bandwidth is a carrier")
    for setting in _credentials(settings):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('bandwidth', setting)}: required when bandwidth is a carrier "
                              f"(API Credentials: client_id and client_secret; or an API user: username and password)")
    for setting in ("api_base", "token_url"):
        check_url(carrier_setting("bandwidth", setting), getattr(settings, setting), ("http", "https"))


def check_lookup(settings: Settings, config: Config) -> None:
    """With LINE_TYPE_LOOKUP=bandwidth (bandwidth need not be a carrier): the account and API credentials, and the
    lookup's and token's URLs."""
    for setting in ("account_id", *_credentials(settings)):
        if not getattr(settings, setting):
            name = carrier_setting("bandwidth", setting)
            raise ConfigError(f"lookup.name (LINE_TYPE_LOOKUP): bandwidth needs {name}")
    for setting in ("lookup_base", "token_url"):
        check_url(carrier_setting("bandwidth", setting), getattr(settings, setting), ("http", "https"))


PATH = "/webhooks/bandwidth/messages"

INBOUND_TYPES = frozenset({"message-received"})
# Bandwidth's status events -> ours. message-sending: handed to the downstream carrier, delivery receipt
# awaited (MMS and group messages). message-read: read receipts of its multichannel messages.
STATUSES = {
    "message-sending": MessageStatus.SENDING,
    "message-delivered": MessageStatus.DELIVERED,
    "message-failed": MessageStatus.FAILED,
    "message-read": MessageStatus.READ,
}
MAX_TEXT = 2048  # Bandwidth's own limit on a message's text
MAX_MEDIA = 10  # InboundMessage keeps at most 10 media URLs
MAX_EVENTS = 1000  # events in one callback; more is refused with 413
MAX_FIELD = 128

# Bandwidth's errorCode values (https://dev.bandwidth.com/docs/messaging/errors) -> what they mean. Only codes
# whose meaning is sure are listed; any other (the 5xxx service failures, 9902 receipt timed out...) is
# OTHER_FAILURE. These come in message-failed events, after Bandwidth took the message: a temporary failure of
# the phone counts toward a temporary DND (compliance/preferences.py).
ERROR_CODES: Mapping[str, Failure] = {
    "4775": Failure(FailureClass.OPTED_OUT, True),  # the recipient opted out of this sender at the carrier
    "4482": Failure(FailureClass.OPTED_OUT, True),  # the recipient is on Bandwidth's block list
    "4303": Failure(FailureClass.INVALID_NUMBER, True),  # malformed To: not routable, not a number
    "4406": Failure(FailureClass.INVALID_NUMBER, True),  # unallocated To: assigned to no carrier
    "4720": Failure(FailureClass.INVALID_NUMBER, False),  # not in the numbering plan, or cannot take texts
    "4700": Failure(FailureClass.LANDLINE, False),  # the carrier or handset does not support messaging
    "4721": Failure(FailureClass.UNREACHABLE, False),  # the number is on the deactivation list
    "4701": Failure(FailureClass.UNREACHABLE, False),  # the destination is not reachable
    "4702": Failure(FailureClass.UNREACHABLE, False),  # subscriber unavailable: handset off, barred, full
    "4470": Failure(FailureClass.FILTERED, False),  # Bandwidth's spam filter blocked it
    "4770": Failure(FailureClass.FILTERED, False),  # the carrier blocked it as spam
    "4771": Failure(FailureClass.FILTERED, False),  # refused for a shortened URL
    "4481": Failure(FailureClass.FILTERED, False),  # our From number is on Bandwidth's block list
    "4780": Failure(FailureClass.RATE_LIMITED, False),  # T-Mobile: over the brand's daily volume
    "4781": Failure(FailureClass.RATE_LIMITED, False),  # AT&T: over the campaign's rate
    "4785": Failure(FailureClass.RATE_LIMITED, False),  # the carrier: volumetric violation, back off
}


class BandwidthCarrier(Carrier):
    """Sends through the Messaging API v2; Bandwidth posts every callback to /webhooks/bandwidth/messages."""

    name = "bandwidth"
    inbound_path = PATH
    status_path = PATH
    error_codes = ERROR_CODES
    sends_mms, media_hosts = True, ("bandwidth.com",)  # media: messaging.bandwidth.com/api/v2/users/{account}/media

    def __init__(self, settings: Settings, config: Config) -> None:
        base = settings.api_base.rstrip("/")
        self.media_api = base
        self.url = f"{base}/api/v2/users/{settings.account_id}/messages"
        self.application_id = settings.application_id
        self.callback_credentials = (settings.callback_username.encode(), settings.callback_password.encode())
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)
        self.token = Token(settings, self.timeout) if settings.client_id else None
        self.basic = self.media_auth = basic_auth(settings.username, settings.password)  # its media takes them too

    def webhook_paths(self) -> list[tuple[str, str]]:
        return [(PATH, "both")]

    def verify(self, request: RawRequest) -> bool:
        """Whether the request carries the callback credentials set on the application (constant time)."""
        given = credentials(request.headers.get("Authorization", ""))
        if given is None or not all(self.callback_credentials):
            return False
        user_ok = hmac.compare_digest(given[0], self.callback_credentials[0])
        password_ok = hmac.compare_digest(given[1], self.callback_credentials[1])
        return user_ok and password_ok

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        return [inbound_from_event(event) for event in read_events(request) if event["type"] in INBOUND_TYPES]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        updates = (status_from_event(event) for event in read_events(request) if event["type"] in STATUSES)
        return [update for update in updates if update is not None]

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        # Bandwidth takes no callback URL per message (it posts to the application's); the tag names our message
        # in its callbacks and its logs.
        payload = {"applicationId": self.application_id, "to": [message.to_number], "from": message.from_number,
                   "text": message.body, "tag": f"message_id={message.id}"}
        payload |= {"media": list(message.media_urls)} if message.media_urls else {}  # an MMS: it fetches each
        try:
            authorization = self.basic if self.token is None else await self.token.header(self.resources.session)
        except TokenRefused as refused:
            return refused.result
        return await send_request(self.resources.session, "POST", self.url, self._answered, json=payload,
                                  headers=authorization, timeout=self.timeout)

    def _answered(self, status: int, payload: dict) -> SendResult:
        if self.token is not None and status == 401:
            # A token Bandwidth no longer takes (revoked, or expired early): fetch another and try again.
            self.token.forget()
            return RetryLater("carrier refused the token")
        return _result(status, payload)


class TokenRefused(Exception):
    """No OAuth2 token: the send's result says why (Rejected for refused credentials, else RetryLater)."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result)
        self.result = result


class Token:
    """Bandwidth's OAuth2 client-credentials token (its API Credentials): fetched when first needed, kept until a
    minute before it expires, fetched again after Bandwidth refuses it. One fetch at a time."""

    def __init__(self, settings: Settings, timeout: aiohttp.ClientTimeout) -> None:
        self.url = settings.token_url
        self.headers = basic_auth(settings.client_id, settings.client_secret)
        self.timeout = timeout
        self.value: str | None = None
        self.expires = 0.0
        self.lock = asyncio.Lock()

    async def header(self, session: aiohttp.ClientSession) -> dict[str, str]:
        """Authorization: Bearer <token>. Raises TokenRefused."""
        async with self.lock:
            if self.value is None or time.monotonic() >= self.expires:
                self.value, self.expires = await self._fetch(session)
            return {"Authorization": "Bearer " + self.value}

    def forget(self) -> None:
        self.value = None

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        try:
            async with session.post(self.url, data={"grant_type": "client_credentials"}, headers=self.headers,
                                    timeout=self.timeout, allow_redirects=False) as response:
                payload = await json_object(response)
        except NETWORK_ERRORS as exc:
            raise TokenRefused(RetryLater(f"token endpoint unreachable: {type(exc).__name__}")) from None
        token, lifetime = payload.get("access_token"), payload.get("expires_in")
        if response.status == 200 and isinstance(token, str) and token and isinstance(lifetime, (int, float)):
            return token, time.monotonic() + max(0.0, float(lifetime) - 60)
        if response.status in (400, 401, 403):
            raise TokenRefused(Rejected("unauthorized", f"the token endpoint refused the API credentials "
                                                        f"({response.status})"))
        raise TokenRefused(RetryLater(f"token endpoint answered {response.status}", retry_after(response.headers)))


def credentials(header: str) -> tuple[bytes, bytes] | None:
    """(user, password) of a Basic Authorization header; None when absent or not Basic."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip().isascii():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    return (user, password) if colon else None


# --- Callbacks ----------------------------------------------------------------------------------------------------

def read_events(request: RawRequest) -> list[dict[str, Any]]:
    """The events of a callback, decoded once per request (parse_inbound and parse_status share them). Each is
    an object with a "type" string and a "message" object. 415 for a body that is not JSON, 400 invalid_body
    for one that is not a readable array of events, 413 beyond MAX_EVENTS."""
    if "events" not in request.decoded:
        request.decoded["events"] = _decode_events(request)
    return request.decoded["events"]


def _decode_events(request: RawRequest) -> list[dict[str, Any]]:
    events = read_json(request)
    if isinstance(events, dict):
        events = [events]  # Bandwidth always posts an array; one event alone is read as an array of one
    if not isinstance(events, list):
        raise Malformed("invalid_body", "expected an array of events")
    if len(events) > MAX_EVENTS:
        raise TooLarge("body_too_large", f"at most {MAX_EVENTS} events")
    for event in events:
        if not (isinstance(event, dict) and isinstance(event.get("type"), str)
                and isinstance(event.get("message"), dict)):
            raise Malformed("invalid_body", "each event is an object with a type and a message")
    return events


def inbound_from_event(event: Mapping[str, Any]) -> InboundMessage:
    """A message-received event. Numbers as Bandwidth writes them (E.164 with "+"). Our number is message.owner
    (else the event's "to"): a group message lists every recipient in message.to, and one to several of our
    numbers comes as one event per number, each with its own message id."""
    message = event["message"]
    to = text_field(message, "owner", required=False) or text_field(event, "to")
    text = message.get("text")
    if isinstance(text, str):
        # Carriers deliver U+0000 in texts; Postgres cannot store it and refusing the message would lose it.
        message = {**message, "text": text.replace("\x00", "")}
    media = message.get("media") or []
    if not isinstance(media, list):
        raise Malformed("invalid_field", "media: expected an array of URLs")
    return InboundMessage(
        sid=text_field(message, "id"),
        from_number=text_field(message, "from"),
        to_number=to,
        body=text_field(message, "text", required=False, limit=MAX_TEXT),
        media_urls=tuple(text_field({"media": url}, "media", limit=2048) for url in media[:MAX_MEDIA]),
    )


def status_from_event(event: Mapping[str, Any]) -> StatusUpdate | None:
    """A status event of a message we sent; None for one about an inbound message (not ours to apply)."""
    message = event["message"]
    if message.get("direction") == "in":
        return None
    return StatusUpdate(text_field(message, "id"), STATUSES[event["type"]], _error_code(event.get("errorCode")))


def _error_code(code: Any) -> str | None:
    """errorCode: a number (Bandwidth's four digits); absent or null without an error."""
    if code is None or code == "":
        return None
    if isinstance(code, bool) or not isinstance(code, (int, str)) or not str(code).isascii() \
            or not str(code).isdigit() or len(str(code)) > 16:
        raise Malformed("invalid_field", "errorCode: expected a number")
    return str(code)


# --- Sending ------------------------------------------------------------------------------------------------------

def _result(status: int, payload: dict) -> SendResult:
    """202 with the message id: taken. Any other answer (429 and 5xx are retried before this): refused, with
    Bandwidth's error type as the code (400 request-validation, 401 unauthorized, 403 forbidden...)."""
    if 200 <= status < 300 and isinstance(payload.get("id"), str) and payload["id"]:
        return Accepted(payload["id"])
    kind = payload.get("type")
    code = kind[:64] if isinstance(kind, str) and kind else str(status)
    description = payload.get("description")
    message = (description if isinstance(description, str) and description else f"carrier answered {status}")[:500]
    return Rejected(code, message, ERROR_CODES.get(code, OTHER_FAILURE))


# --- The line-type lookup -----------------------------------------------------------------------------------------

# lineType -> ours. VOIP-FIXED is a VoIP number tied to an address (as Twilio's fixedVoip): a VoIP number still.
LINE_TYPES = {"MOBILE": "mobile", "FIXED": "landline", "VOIP": "voip", "VOIP-FIXED": "voip"}
NO_MATCH = "NO-MATCH"  # the error code of numbers not found in the number industry data


class BandwidthLookup:
    """POST {lookup_base}/v2/accounts/{account_id}/phoneNumberLookup with our number: the synchronous lookup,
    answered in the same request (no polling), with the API credentials the carrier sends with (an OAuth2 token,
    else Basic). The caller bounds it with the lookup's timeout."""

    name = "bandwidth"

    def __init__(self, settings: Settings, config: Config, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.url = f"{settings.lookup_base.rstrip('/')}/v2/accounts/{settings.account_id}/phoneNumberLookup"
        self.token = Token(settings, aiohttp.ClientTimeout(total=config.lookup.timeout)) if settings.client_id else None
        self.basic = basic_auth(settings.username, settings.password)

    async def lookup(self, e164: str) -> LineAnswer:
        try:
            authorization = self.basic if self.token is None else await self.token.header(self.session)
        except TokenRefused as refused:
            raise LookupFailed(f"no token: {refused.result}") from None
        try:
            payload = await lookup_json(self.session, self.url, e164, method="POST", json={"phoneNumbers": [e164]},
                                        headers={**authorization, "Accept": "application/json"})
        except LookupFailed as failed:
            if self.token is not None and failed.args == ("lookup answered 401",):
                self.token.forget()  # revoked or expired early: the next lookup fetches another
            raise
        return line_answer(payload, e164)


def line_answer(payload: dict, e164: str) -> LineAnswer:
    """Our number's result (lineType, and its messaging provider, else its voice provider); NotANumber when the
    answer's errors say Bandwidth found no such number (NO-MATCH, naming it or no number); LookupFailed for an
    answer with neither."""
    data = payload.get("data")
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise LookupFailed("lookup answered no results")
    for result in results:
        if isinstance(result, dict) and result.get("phoneNumber") == e164:
            provider = result.get("messagingProvider") or result.get("voiceProvider")
            return LineAnswer(LINE_TYPES.get(str(result.get("lineType")).upper(), "unknown"),
                              provider[:200] if isinstance(provider, str) else None)
    errors = payload.get("errors") if isinstance(payload.get("errors"), list) else []
    metas = [error.get("meta") if isinstance(error.get("meta"), dict) else {} for error in errors
             if isinstance(error, dict) and error.get("code") == NO_MATCH]
    if any(e164 in (meta.get("phoneNumbers") or [e164]) for meta in metas):
        raise NotANumber(e164)
    raise LookupFailed(f"lookup answered no result for the number ({str(data.get('status'))[:32]})")


def create(settings: Settings, config: Config) -> BandwidthCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return BandwidthCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> BandwidthLookup:
    """LINE_TYPE_LOOKUP=bandwidth: needs the bandwidth account and API credentials, not the bandwidth carrier."""
    return BandwidthLookup(settings, config, session)
