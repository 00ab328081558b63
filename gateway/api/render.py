"""How the API shows things: rows to the answer types of gateway/api/types.py (encoded by msgspec)."""

from __future__ import annotations

from gateway.api import list_types, types, usage_types
from gateway.platform.communities import Overview
from gateway.storage.communities import Community
from gateway.storage.conversations import Conversation
from gateway.storage.messages import Message, MessageEvent, StoredOutbound
from gateway.storage.verifications import Verification
from gateway.vocabulary import UsageUnit, VerificationStatus

MESSAGE_FIELDS = ("id", "conversation_id", "community_id", "direction", "kind", "status", "status_reason",
                  "carrier_sid", "error_code", "error_message", "attempts", "body", "segments", "usage_unit")
# A community in a list: these as stored, then carriers and compliance.
SUMMARY_FIELDS = ("id", "name", "mode", "inactivity_days", "countries", "default_region", "require_verification",
                  "unknown_line_type", "sender_name", "sender_id_template", "help_text", "opt_out_webhook_url",
                  "alert_webhook_url", "intercept_url", "intercept_policy", "out_of_session_url", "event_url",
                  "event_types", "timezone", "created_at", "updated_at", "numbers", "open_conversations",
                  "dedicated_numbers_shared")


def community(view: Overview, default_carrier: str) -> types.Community:
    """A community; carriers: each of its numbers -> the carrier its texts go through."""
    c = view.community
    return types.Community(
        id=c.id, name=c.name, mode=c.mode, inactivity_days=c.inactivity_days, countries=c.countries,
        default_region=c.default_region, require_verification=c.require_verification,
        unknown_line_type=c.unknown_line_type, sender_name=c.sender_name,
        sender_id_template=c.sender_id_template, help_text=c.help_text,
        opt_out_webhook_url=c.opt_out_webhook_url, alert_webhook_url=c.alert_webhook_url,
        intercept_url=c.intercept_url, intercept_policy=c.intercept_policy, out_of_session_url=c.out_of_session_url,
        event_url=c.event_url, event_types=c.event_types, timezone=c.timezone, created_at=c.created_at, updated_at=c.updated_at,
        numbers=c.numbers, open_conversations=c.open_conversations, dedicated_numbers_shared=c.dedicated_numbers_shared,
        carriers={phone: carrier or default_carrier for phone, carrier in zip(c.numbers, c.number_carriers)},
        **quiet_hours(c),
        daily=types.Daily(level=c.daily_level, limit=view.daily_limit, used=view.used_today,
                          resets_at=view.resets_at, levels=view.daily_levels, ceiling=view.daily_ceiling),
        monthly=types.Monthly(limit=c.monthly_limit, used=view.used_month),
        units=units(view),
        compliance=types.Compliance(state=c.compliance_state, changed_at=c.compliance_changed_at,
                                    error_rate=c.error_rate, opt_out_rate=c.opt_out_rate,
                                    checked_at=c.rates_checked_at),
    )


def quiet_hours(c: Community) -> dict[str, bool | str]:
    """The quiet-hours settings as the API takes them (local times as HH:MM)."""
    return {"quiet_hours": c.quiet_hours, "quiet_hours_start": c.quiet_hours_start.strftime("%H:%M"),
            "quiet_hours_end": c.quiet_hours_end.strftime("%H:%M")}


def units(view: Overview) -> usage_types.Units:
    """MMS and WhatsApp messages: the limits that apply and what was used."""
    def unit(kind: UsageUnit) -> usage_types.UnitUsage:
        (daily, monthly), used = view.unit_limits[kind], view.unit_used[kind]
        return usage_types.UnitUsage(daily_limit=daily, monthly_limit=monthly, used_today=used.day,
                                     used_month=used.month)
    return usage_types.Units(mms=unit(UsageUnit.MMS), whatsapp=unit(UsageUnit.WHATSAPP))


def community_summary(c: Community, default_carrier: str) -> list_types.CommunitySummary:
    """A community in a list: its settings, numbers and state, without the usage counters (GET one for those)."""
    return list_types.CommunitySummary(
        **{name: getattr(c, name) for name in SUMMARY_FIELDS},
        carriers={phone: carrier or default_carrier for phone, carrier in zip(c.numbers, c.number_carriers)},
        **quiet_hours(c),
        compliance=list_types.ComplianceSummary(state=c.compliance_state, changed_at=c.compliance_changed_at))


def verification(row: Verification, kind: type[types.Verification] = types.Verification,
                 **extra) -> types.Verification:
    """A verification: a pending one past its expiry shows as expired."""
    status = VerificationStatus.EXPIRED if row.status == VerificationStatus.PENDING and row.is_expired else row.status
    return kind(id=row.id, community_id=row.community_id, phone=row.phone, status=status,
                expires_at=row.expires_at, created_at=row.created_at,
                message=types.CodeMessage(id=row.message_id, status=row.message_status,
                                          status_reason=row.message_reason), **extra)


def conversation(found: Conversation, kind: type[types.Conversation] = types.Conversation,
                 **extra) -> types.Conversation:
    return kind(
        id=found.id, community_id=found.community_id, proxy_number=found.proxy_number,
        code=found.code, status=found.status,
        prospect=types.Party(phone=found.prospect_phone, name=found.prospect_name,
                             preference=found.prospect_preference),
        advocate=types.Party(phone=found.advocate_phone, name=found.advocate_name,
                             preference=found.advocate_preference),
        created_at=found.created_at, last_activity_at=found.last_activity_at,
        closed_at=found.closed_at, closed_reason=found.closed_reason, shape=found.shape,
        participants=[types.Participant(phone=p.phone, name=p.name, role=p.role, active=p.active)
                      for p in found.participants], team_style=found.team_style, claimed_by=found.claimed_by,
                      team_id=found.team_id, **extra)


def message(found: Message, kind: type[types.Message] = types.Message, **extra) -> types.Message:
    return kind(**{name: getattr(found, name) for name in MESSAGE_FIELDS}, from_=found.from_number,
                to=found.to_number, media_urls=list(found.media_urls), created_at=found.created_at,
                updated_at=found.updated_at, held_until=found.held_until, **extra)


def history(events: list[MessageEvent]) -> list[types.StatusChange]:
    return [types.StatusChange(status=event.status, error_code=event.error_code, at=event.created_at)
            for event in events]


def delivery(stored: StoredOutbound) -> types.Delivery:
    """The short form of a message an API call created: did it go to the queue, or was it blocked?"""
    return types.Delivery(id=stored.id, status=stored.status, status_reason=stored.status_reason,
                          segments=stored.segments)
