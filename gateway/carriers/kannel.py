"""Kannel (an SMS gateway over SMPP and other SMSC links): its settings ([kannel] / KANNEL_*), its smsbox
sendsms interface for sending, and the HTTP calls it makes to us: the get-url of an sms-service for texts
(SMS-MO), and the dlr-url of each send for delivery reports.

Built from the Kannel User's Guide, https://www.kannel.org/download/kannel-userguide-snapshot/userguide.html:
"Sending SMS messages" (sendsms: its parameters and answers, dlr-mask, dlr-url), "SMS service configuration"
(get-url and its escapes: %p, %P, %b, %c, %C, %I) and "Delivery Reports" (%d, %A).

Kannel signs nothing and calls with GET: the get-url (set by the operator) and every dlr-url (set by us) carry
our shared secret (?secret=, see _smpp). The sendsms answer names no message id, so each send gets one of ours,
carried back in its dlr-url.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from gateway.carriers import _http, _smpp
from gateway.carriers.base import (Accepted, InboundMessage, OutboundSms, RawRequest, SendResult,
                                   StatusUpdate, WebhookReply)
from gateway.config import Config, ConfigError, carrier_setting, check_url
from gateway.errors import Malformed
from gateway.relay.segments import is_gsm7
from gateway.vocabulary import MessageStatus


@dataclass(frozen=True)
class Settings:
    """[kannel] in the config file; KANNEL_<SETTING> in the environment."""

    send_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"  # smsbox's sendsms interface
    username: str = ""  # a sendsms-user of the smsbox
    password: str = ""
    webhook_secret: str = ""  # in the sms-service's get-url as ?secret=; added to every dlr-url by us
    dlr_mask: int = 31  # the reports asked for: 1 delivered, 2 failed, 4 buffered, 8 smsc submit, 16 smsc reject
    default_region: str = ""  # e.g. "GB": national numbers (leading 0) from the link are read in it


def check(settings: Settings, config: Config) -> None:
    for setting in ("username", "password"):
        if not getattr(settings, setting):
            raise ConfigError(f"{carrier_setting('kannel', setting)}: required when kannel is a carrier")
    _smpp.check_secret("kannel", settings.webhook_secret)
    _smpp.check_region("kannel", settings.default_region)
    check_url(carrier_setting("kannel", "send_url"), settings.send_url, ("http", "https"))
    if not 1 <= settings.dlr_mask <= 31:
        raise ConfigError(f"{carrier_setting('kannel', 'dlr_mask')}: a sum of 1, 2, 4, 8 and 16")


# The report type (%d) -> ours.
STATUSES = {
    1: MessageStatus.DELIVERED,  # delivered to the phone
    2: MessageStatus.UNDELIVERED,  # the phone never got it
    4: MessageStatus.SENT,  # buffered at the SMSC
    8: MessageStatus.SENT,  # the SMSC took the submit
    16: MessageStatus.FAILED,  # the SMSC refused the submit
}
# Error codes when the SMSC's reply (%A) names none (any other code comes from it: a receipt's stat, a NACK's
# SMPP command_status name).
DELIVERY_FAILED, SMSC_REJECT = "dlr_failed", "smsc_reject"
# sendsms's answers when it took the message: "0: Accepted for delivery", "3: Queued for later delivery".
ACCEPTED = re.compile(r"^[03]: ")
UCS2 = "2"  # sendsms coding: 0 7-bit, 1 8-bit, 2 UCS-2
# %C charsets -> Python codecs ("UTF16-BE" as older guides spell it). None or another: by the coding (%c), 2
# UCS-2, else UTF-8 or else Latin-1.
CODECS = {"utf-16be": "utf-16-be", "utf16-be": "utf-16-be", "ucs-2": "utf-16-be", "utf-8": "utf-8",
          "iso-8859-1": "latin-1", "windows-1252": "cp1252"}


class KannelCarrier(_smpp.Link):
    """Sends through smsbox's sendsms; Kannel calls /webhooks/kannel/mo (the sms-service's get-url, set by the
    operator) and /webhooks/kannel/dlr (the dlr-url of each send), both with GET."""

    name = "kannel"
    inbound_path = "/webhooks/kannel/mo"
    status_path = "/webhooks/kannel/dlr"
    webhook_methods = ("GET",)  # Kannel calls its get-url and dlr-url with GET
    settings: Settings

    def parse_inbound(self, request: RawRequest) -> list[InboundMessage]:
        form = _smpp.query(request)
        region = self.settings.default_region
        return [InboundMessage(
            sid=_smpp.field(form, "id"),
            from_number=_smpp.e164(_smpp.field(form, "from"), region),
            to_number=_smpp.e164(_smpp.field(form, "to"), region),
            body=_text(form),
        )]

    def parse_status(self, request: RawRequest) -> list[StatusUpdate]:
        form = _smpp.query(request)
        kind = _smpp.field(form, "type")
        if not (kind.isascii() and kind.isdigit()):
            raise Malformed("invalid_field", "type: expected Kannel's report type (%d), a number")
        status = STATUSES.get(int(kind))
        if status is None:
            return []
        code = None
        if status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
            code = _error_code(_smpp.field(form, "answer", required=False, limit=1024), int(kind))
        return [StatusUpdate(_smpp.field(form, "sid"), status, code)]

    def inbound_reply(self) -> WebhookReply:
        # An sms-service sends its get-url's answer to the phone: empty (with max-messages = 0 nothing is sent).
        return WebhookReply(200, "text/plain", b"")

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        sid = uuid.uuid4().hex
        coding = "0" if is_gsm7(message.body) else UCS2
        params = {"username": self.settings.username, "password": self.settings.password,
                  "from": message.from_number, "to": message.to_number, "text": message.body,
                  "charset": "UTF-8", "coding": coding, "dlr-mask": str(self.settings.dlr_mask),
                  # Kannel fills in %d (the report type) and %A (the SMSC's reply) when it calls.
                  "dlr-url": f"{status_callback}&sid={sid}&type=%d&answer=%A"}
        try:
            async with self.resources.session.get(self.settings.send_url, params=params, timeout=self.timeout,
                                                  allow_redirects=False) as response:
                body = await _smpp.answer(response)
                failure = _smpp.http_result(response.status, body, response.headers)
        except _http.NETWORK_ERRORS as exc:
            return _http.unreachable(exc)
        if failure is not None:
            return failure
        if ACCEPTED.match(body.strip()) is None:
            # A 2xx that is no smsbox's (a proxy's page): taken as sent, the message would wait for ever.
            return _smpp.rejected(str(response.status), f"unexpected answer: {body.strip()[:200]}")
        return Accepted(sid)


def _text(form: _smpp.RawForm) -> str:
    """The body from %b (the message's bytes), decoded by %C (its charset) or else by %c (its coding)."""
    data = _smpp.raw_field(form, "text", required=False) or b""
    charset = _smpp.field(form, "charset", required=False).lower()
    coding = _smpp.field(form, "coding", required=False)
    codec = CODECS.get(charset) or ("utf-16-be" if coding == UCS2 else None)
    return _smpp.utf8_or_latin1(data, "text") if codec is None else _smpp.text(data, codec, "text")


def _error_code(answer: str, kind: int) -> str:
    """The error in the SMSC's reply: a receipt's "stat:UNDELIV", a refusal's "NACK/0x0000000b/...", else ours."""
    if (stat := _smpp.STAT.search(answer)) is not None:
        return stat.group(1)
    if (nack := _smpp.NACK.search(answer)) is not None:
        return _smpp.command_status(nack.group(1)) or SMSC_REJECT
    return SMSC_REJECT if kind == 16 else DELIVERY_FAILED


def create(settings: Settings, config: Config) -> KannelCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return KannelCarrier(settings, config)
