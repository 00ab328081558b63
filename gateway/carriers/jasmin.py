"""Jasmin (an SMPP gateway): its settings ([jasmin] / JASMIN_*), its HTTP API for sending (/send), and the HTTP
calls it makes to us: SMS-MO from an HTTP connector, and delivery receipts (DLRs) at the dlr-url of each send.

Built from Jasmin's documentation:
  https://docs.jasminsms.com/en/latest/apis/ja-http/index.html (sending SMS-MT, receiving SMS-MO and DLR)
  https://docs.jasminsms.com/en/latest/apis/ja-http/sending-mt.html
  https://docs.jasminsms.com/en/latest/apis/ja-http/receiving-mo.html
  https://docs.jasminsms.com/en/latest/apis/ja-http/receiving-dlr.html

Jasmin signs nothing: every webhook URL carries our shared secret (?secret=, see _smpp); the MO connector's URL
is set by the operator, the dlr-url by us on each send. Both are answered "ACK/Jasmin" (anything else and Jasmin
posts again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.carriers import _http, _smpp
from gateway.carriers.base import (Accepted, InboundMessage, OutboundSms, RawRequest, SendResult,
                                   StatusUpdate, WebhookReply)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed
from gateway.relay.segments import GSM_BASIC
from gateway.vocabulary import MessageStatus


@dataclass(frozen=True)
class Settings:
    """[jasmin] in the config file; JASMIN_<SETTING> in the environment."""

    send_url: str = "http://127.0.0.1:1401/send"  # Jasmin's HTTP API
    username: str = ""
    password: str = ""
    webhook_secret: str = ""  # in the MO connector's URL as ?secret=; added to every dlr-url by us
    dlr_level: int = 3  # 1: SMSC accepted it, 2: the handset's receipt, 3: both
    default_region: str = ""  # e.g. "GB": national numbers (leading 0) from the link are read in it


def check(settings: Settings, config: Config) -> None:
    for setting in ("username", "password"):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('jasmin', setting)}: required when jasmin is a carrier")
    _smpp.check_secret("jasmin", settings.webhook_secret)
    _smpp.check_region("jasmin", settings.default_region)
    check_url(carrier_setting("jasmin", "send_url"), settings.send_url, ("http", "https"))
    if settings.dlr_level not in (1, 2, 3):
        raise ConfigError(f"{carrier_setting('jasmin', 'dlr_level')}: 1, 2 or 3")


# Receipt states (level 2) and the submit's own answer (level 1, ESME_*) -> ours. UNKNOWN says nothing.
STATUSES = {
    "ESME_ROK": MessageStatus.SENT,
    "ENROUTE": MessageStatus.SENT,
    "ACCEPTD": MessageStatus.SENT,
    "DELIVRD": MessageStatus.DELIVERED,
    "EXPIRED": MessageStatus.UNDELIVERED,
    "DELETED": MessageStatus.UNDELIVERED,
    "UNDELIV": MessageStatus.UNDELIVERED,
    "REJECTD": MessageStatus.FAILED,
}
ACK = WebhookReply(200, "text/plain", b"ACK/Jasmin")
SUCCESS = re.compile(r'^Success "([^"]{1,64})"')
UCS2, LATIN1 = "8", "3"  # SMPP data_coding values Jasmin passes on


class JasminCarrier(_smpp.Link):
    """Sends through Jasmin's /send; Jasmin calls /webhooks/jasmin/mo (its HTTP connector, set by the operator)
    and /webhooks/jasmin/dlr (the dlr-url of each send)."""

    name = "jasmin"
    inbound_path = "/webhooks/jasmin/mo"
    status_path = "/webhooks/jasmin/dlr"
    webhook_methods = ("POST", "GET")  # an HTTP connector may be set to either
    settings: Settings

    def verify(self, request: RawRequest) -> bool:
        _fields(request)  # 415/400 for a body Jasmin never sends, before the secret is checked
        return super().verify(request)

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        form = _fields(request)
        region = self.settings.default_region
        return [InboundMessage(
            sid=_smpp.field(form, "id"),
            from_number=_smpp.e164(_smpp.field(form, "from"), region),
            to_number=_smpp.e164(_smpp.field(form, "to"), region),
            body=_content(form),
        )]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        form = _fields(request)
        state = _smpp.field(form, "message_status")
        status = STATUSES.get(state)
        if status is None and state.startswith("ESME_"):
            status = MessageStatus.FAILED  # the SMSC refused the submit
        if status is None:
            return []  # UNKNOWN, or a state nobody documented: nothing to apply
        failed = status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED)
        return [StatusUpdate(_smpp.field(form, "id"), status, state if failed else None)]

    def inbound_reply(self) -> WebhookReply:
        return ACK

    def status_reply(self) -> WebhookReply:
        return ACK

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        form = {"username": self.settings.username, "password": self.settings.password,
                "to": message.to_number.lstrip("+"), "from": message.from_number.lstrip("+"),
                "dlr": "yes", "dlr-url": status_callback, "dlr-level": str(self.settings.dlr_level),
                "dlr-method": "POST", **_coded(message.body)}
        try:
            async with self.resources.session.post(self.settings.send_url, data=_http.form_body(form),
                                                   headers=_http.FORM_HEADERS, timeout=self.timeout,
                                                   allow_redirects=False) as response:
                body = await _smpp.answer(response)
                return _result(response.status, body, response.headers)
        except _http.NETWORK_ERRORS as exc:
            return _http.unreachable(exc)


def _result(status: int, body: str, headers) -> SendResult:
    failure = _smpp.http_result(status, body, headers)
    if failure is not None:
        return failure
    found = SUCCESS.match(body.strip())
    if found is None:
        return _smpp.rejected(str(status), f"unexpected answer: {body.strip()[:200]}")
    return Accepted(found.group(1))


def _coded(body: str) -> dict[str, str]:
    """Plain text in the SMSC's default alphabet when every character is GSM and ASCII (the same in either);
    anything else as UCS-2 (coding 8), sent as hex so no charset stands in the way."""
    if body.isascii() and all(c in GSM_BASIC for c in body):
        return {"content": body, "coding": "0"}
    return {"hex-content": body.encode("utf-16-be", "surrogatepass").hex(), "coding": UCS2}


def _fields(request: RawRequest) -> _smpp.RawForm:
    """The fields of a call: the POSTed form, or the query of a GET (with our secret among them)."""
    return _smpp.body_form(request) if request.method == "POST" else _smpp.query(request)


def _content(form: _smpp.RawForm) -> str:
    """The body: from `binary` (hex of the bytes, in newer Jasmin) or else `content` (the bytes themselves),
    decoded by the coding: 8 UCS-2, 3 Latin-1, others UTF-8 (Latin-1 when not valid UTF-8)."""
    coding = _smpp.field(form, "coding", required=False) or "0"
    hexed = _smpp.raw_field(form, "binary", required=False)
    if hexed:
        try:
            data = bytes.fromhex(hexed.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise Malformed("invalid_field", "binary: expected hex") from None
    else:
        data = _smpp.raw_field(form, "content", required=False) or b""
    if coding == UCS2:
        return _smpp.text(data, "utf-16-be", "content")
    if coding == LATIN1:
        return _smpp.text(data, "latin-1", "content")
    return _smpp.utf8_or_latin1(data, "content")


def create(settings: Settings, config: Config) -> JasminCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return JasminCarrier(settings, config)
