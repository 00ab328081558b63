"""Adapters that hand the functions of modules still taking a Context (compliance, verification) to the
messaging side, whose functions take what they use. Built by app.py only; each goes when the module it adapts
takes what it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.carriers import InboundSms
from gateway.compliance import limits
from gateway.compliance import preferences as compliance
from gateway.context import Context
from gateway.messaging.inbound import KeywordHandler
from gateway.messaging.statuses import CarrierErrors
from gateway.storage.messages import SendingMessage
from gateway.verification import codes as verification


@dataclass(frozen=True)
class ContextGates:
    """sending.Gates over compliance.limits and verification.codes as they are today."""

    ctx: Context

    async def reserve(self, message: SendingMessage) -> str | None:
        return await limits.reserve(self.ctx, message.limits_row())

    async def refund(self, message: SendingMessage) -> None:
        await limits.refund(self.ctx, message.limits_row())

    async def fill_code(self, message_id: int, body: str) -> str | None:
        return await verification.fill_code(self.ctx, message_id, body)

    async def forget_code(self, message_id: int) -> None:
        await verification.forget_code(self.ctx, message_id)


def carrier_errors(ctx: Context) -> CarrierErrors:
    """statuses.CarrierErrors over compliance.record_carrier_error (do-not-disturb after carrier errors)."""
    async def record(message_id: int, error_code: str | None) -> None:
        await compliance.record_carrier_error(ctx, message_id, error_code)

    return record


def keyword_handler(ctx: Context) -> KeywordHandler:
    """inbound.KeywordHandler over compliance.handle_keyword."""
    async def handle(sms: InboundSms, sender: str, proxy: str, kind: str, word: str) -> str:
        return await compliance.handle_keyword(ctx, sms, sender, proxy, kind, word)

    return handle
