"""The carrier interface (verify, parse inbound, parse status, send) and the registry of carriers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

import aiohttp

from gateway.config import Config


@dataclass(frozen=True)
class InboundSms:
    sid: str
    from_number: str
    to_number: str
    body: str
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusUpdate:
    sid: str
    status: str  # one of our outbound statuses (accepted, sending, sent, delivered, read, undelivered, failed)
    error_code: str | None


@dataclass(frozen=True)
class OutboundSms:
    id: int
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True)
class Accepted:
    sid: str


@dataclass(frozen=True)
class RetryLater:
    reason: str
    after: float | None = None  # seconds the carrier asked us to wait (Retry-After), if it said


@dataclass(frozen=True)
class Rejected:
    code: str
    message: str


SendResult = Accepted | RetryLater | Rejected
Form = Sequence[tuple[str, str]]


class Carrier(Protocol):
    wire: str  # the webhook path segment: /webhooks/{wire}/sms and /webhooks/{wire}/status

    def verify(self, url: str, form: Form, headers: Mapping[str, str]) -> bool: ...

    def parse_inbound(self, form: Form) -> InboundSms: ...

    def parse_status(self, form: Form) -> StatusUpdate | None: ...

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult: ...


def create(config: Config, session: aiohttp.ClientSession) -> Carrier:
    # Imported here so each carrier module can import the types above.
    from gateway.carriers import sandbox, twilio

    if config.carrier.name == "twilio":
        return twilio.TwilioCarrier(config, session)
    return sandbox.SandboxCarrier(config, session)
