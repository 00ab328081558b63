"""The API's types for usage per unit (issue 14): MMS and WhatsApp messages are priced apart from SMS segments, so
they are counted apart, under limits of their own (README "Daily limits and ramp-up"). A community's daily and
monthly (types.Daily, types.Monthly) are its SMS segments; its units, the others."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct, UnsetType

# A community's own limit of MMS or WhatsApp messages, in its settings; null: the gateway's (limits.* in config).
UnitLimit = Annotated[int, Meta(ge=0, le=10 ** 9)] | None | UnsetType


class UnitUsage(Struct):
    """Messages of one unit: the limits that apply (the community's own, or the gateway's) and what was used on
    the community's day (the same day as daily.used: it starts at daily.resets_at) and in its month."""

    daily_limit: int
    monthly_limit: int
    used_today: int
    used_month: int


class Units(Struct):
    """Usage apart from SMS segments: one per MMS (whatever its text's length; a picture sent as a link in an SMS
    counts as SMS segments), one per WhatsApp message (texts and templates)."""

    mms: UnitUsage
    whatsapp: UnitUsage

